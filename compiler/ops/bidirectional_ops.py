"""IR ops of Bidirectional: ``reverse_time`` (flip axis 1) and ``bidi_merge`` (attr ``mode``).

``bidi_merge`` combines the forward and backward outputs as Keras's ``merge_mode`` does:
``concat`` on the last axis, ``sum``, ``mul`` or ``ave``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..ir.graph import Node, Shape, shape_str, static_size
from ..ir.registry import OpDef, register
from .activations import apply_fused

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder

MERGE_MODES = ("concat", "sum", "mul", "ave")
INT64_MIN = -(2**63)


@register("reverse_time")
class ReverseTime(OpDef):
    """Flip axis 1 (time): (N, T, ...) -> (N, T, ...) with step T-1 first."""

    stream = "time"
    stream_why = "reads the sequence backwards (Bidirectional or go_backwards)"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        if x.rank < 2:
            raise TdcError(f"reverse_time needs rank >= 2, got {shape_str(x.shape)}")
        return [(x.shape, x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        starts, ends = g.ints([-1], "starts"), g.ints([INT64_MIN], "ends")
        args = [g[node.inputs[0]], starts, ends, g.ints([1], "axes"), g.ints([-1], "steps")]
        g.set(node, apply_fused(g, node, g.op("Slice", args)))


@register("bidi_merge")
class BidiMerge(OpDef):
    """Merge the forward and backward outputs: ``mode`` concat (last axis), sum, mul, ave."""

    stream = "time"
    stream_why = "reads the sequence backwards (Bidirectional)"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        a, b = node.inputs
        mode = node.attrs["mode"]
        if mode not in MERGE_MODES:
            raise TdcError(f"bidi_merge: unknown mode {mode!r}")
        if a.rank != b.rank or a.shape[:-1] != b.shape[:-1]:
            raise TdcError(f"bidi_merge: shapes {shape_str(a.shape)} and {shape_str(b.shape)}")
        if mode == "concat":
            last = a.shape[-1], b.shape[-1]
            if not all(isinstance(d, int) for d in last):
                raise TdcError(f"bidi_merge concat needs a static last axis, got {last}")
            return [((*a.shape[:-1], int(last[0]) + int(last[1])), a.dtype)]
        if a.shape != b.shape:
            raise TdcError(f"bidi_merge: shapes {shape_str(a.shape)} and {shape_str(b.shape)}")
        return [(a.shape, a.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        a, b = (g[v] for v in node.inputs)
        mode = node.attrs["mode"]
        if mode == "concat":
            y = g.op("Concat", [a, b], axis=-1)
        elif mode == "sum":
            y = g.op("Add", [a, b])
        elif mode == "mul":
            y = g.op("Mul", [a, b])
        else:
            y = g.op("Div", [g.op("Add", [a, b]), g.const(2.0, "two")])
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"mode": node.attrs["mode"]}

    def flops(self, node: Node) -> int:
        if node.attrs["mode"] == "concat":
            return 0
        dims = [d if isinstance(d, int) else 1 for d in node.output.shape]
        per = 2 if node.attrs["mode"] == "ave" else 1
        return per * (static_size(tuple(dims)) or 0)
