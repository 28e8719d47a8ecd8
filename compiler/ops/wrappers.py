"""TimeDistributed: ``fold`` (N, T, *S) -> (N*T, *S), the wrapped layer, ``unfold`` back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..ir import Node, Shape, dim_mul, shape_str
from ..registry import OpDef, register

if TYPE_CHECKING:
    from ..backends.onnx import OnnxBuilder
    from ..ir import Value
    from ..lowering import Builder, LayerSpec


@register("TimeDistributed")
class TimeDistributed(OpDef):
    """Applies the wrapped layer to every step of axis 1 (nesting folds again)."""

    params: dict = {}
    wrapper = True

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = inputs[0]
        if x.rank < 3:
            raise TdcError(
                f"TimeDistributed needs an input of rank >= 3 (batch, time, ...), "
                f"got {shape_str(x.shape)}",
                accepted="an input with a time axis and at least one feature axis, e.g. "
                "shape: [null, 16] in the model file",
            )
        assert spec.inner is not None
        (folded,) = b.emit("fold", [x])
        outs = b.lower(spec.inner, [folded])
        return [b.emit("unfold", [o, x])[0] for o in outs]


@register("fold")
class Fold(OpDef):
    """Merge batch and time: (N, T, *S) -> (N*T, *S)."""

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        if x.rank < 3:
            raise TdcError(f"fold needs rank >= 3, got {shape_str(x.shape)}")
        return [((dim_mul(x.shape[0], x.shape[1]), *x.shape[2:]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x = node.inputs[0]
        rest = x.shape[2:]
        if all(isinstance(d, int) for d in rest):
            shape = g.ints([-1, *rest])
        else:
            tail = g.op("Slice", [g.op("Shape", [g[x]]), g.ints([2]), g.ints([x.rank])])
            shape = g.op("Concat", [g.ints([-1]), tail], axis=0)
        g.set(node, g.op("Reshape", [g[x], shape]))


@register("unfold")
class Unfold(OpDef):
    """Split batch and time back: inputs (N*T, *S'), ref (N, T, ...) -> (N, T, *S')."""

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        y, ref = node.inputs
        return [((ref.shape[0], ref.shape[1], *y.shape[1:]), y.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        y, ref = node.inputs
        lead = g.op("Slice", [g.op("Shape", [g[ref]]), g.ints([0]), g.ints([2])])
        rest = y.shape[1:]
        if all(isinstance(d, int) for d in rest):
            tail = g.ints(list(rest))
        else:
            tail = g.op("Slice", [g.op("Shape", [g[y]]), g.ints([1]), g.ints([y.rank])])
        shape = g.op("Concat", [lead, tail], axis=0)
        g.set(node, g.op("Reshape", [g[y], shape]))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {}
