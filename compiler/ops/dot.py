"""The Dot merge layer (Keras's ``batch_dot`` of two inputs, optionally L2-normalised).

IR op here: ``dot`` (attrs ``axes``: the contracted axis of each input, batch axis 0
excluded; ``normalize``). The result keeps x's other axes then y's (batch once); two
rank-2 inputs give (N, 1). Both backends contract with an einsum equation built from
``axes``; shapes of the contracted and batch axes must agree as for the other merges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..frontend.params import REQUIRED, Param, boolean
from ..ir.graph import Node, Shape, static_size
from ..ir.registry import OpDef, register
from .core import ones
from .merge import shapes_str, unify

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

#: Keras's backend.epsilon(): Dot(normalize=True) caps 1/||x|| at 1/EPSILON.
EPSILON = 1e-7


@register("Dot")
class Dot(OpDef):
    params = {"axes": Param(REQUIRED, lambda v: _axes(v)), "normalize": Param(False, boolean)}
    multi_input = True
    mask_flow = "drop"  # Keras's Dot.compute_mask returns None

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        if len(inputs) != 2:
            raise TdcError(f"Dot takes exactly 2 inputs, got {len(inputs)}")
        x, y = inputs
        if x.rank < 2 or y.rank < 2:
            raise TdcError(f"Dot needs inputs of rank >= 2, got {shapes_str(inputs)}")
        raw = spec.attrs["axes"]
        pair = (raw, raw) if isinstance(raw, int) else raw
        axes = tuple(a % v.rank if a < 0 else a for a, v in zip(pair, inputs, strict=True))
        if 0 in axes or axes[0] >= x.rank or axes[1] >= y.rank:
            raise TdcError(
                f"Dot axes {raw} do not fit inputs {shapes_str(inputs)} (batch axis 0 excluded)"
            )
        return b.emit("dot", inputs, {"axes": axes, "normalize": spec.attrs["normalize"]})


def _axes(v: Any) -> int | tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    ok = isinstance(v, list | tuple) and len(v) == 2
    if ok and all(isinstance(a, int) and not isinstance(a, bool) for a in v):
        return (v[0], v[1])
    raise ValueError("an integer axis or a list of two integer axes")


@register("dot")
class DotOp(OpDef):
    """Keras batch_dot: contract x's axes[0] with y's axes[1] per sample; the result keeps
    x's other axes then y's (batch once); two rank-2 inputs give (N, 1)."""

    stream = "time"
    stream_why = "multiplies across time steps"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        (x, y), (a0, a1) = node.inputs, node.attrs["axes"]
        unify(x.shape[a0], y.shape[a1], node.inputs, False)
        unify(x.shape[0], y.shape[0], node.inputs, False)
        xs = [d for k, d in enumerate(x.shape) if k != a0]
        ys = [d for k, d in enumerate(y.shape) if k not in (0, a1)]
        out = xs + ys
        return [((*out, 1) if len(out) == 1 else tuple(out), x.dtype)]

    def equation(self, node: Node) -> str:
        (x, y), (a0, a1) = node.inputs, node.attrs["axes"]
        xl = "a" + "bcdefgh"[: x.rank - 1]
        yl = "a" + "ijklmno"[: y.rank - 1]
        yl = yl[:a1] + xl[a0] + yl[a1 + 1 :]
        out = xl.replace(xl[a0], "") + yl[1:].replace(xl[a0], "")
        return f"{xl},{yl}->{out}"

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        names = [g[v] for v in node.inputs]
        if node.attrs["normalize"]:
            names = [_l2_onnx(g, n, a) for n, a in zip(names, node.attrs["axes"], strict=True)]
        y = g.op("Einsum", names, equation=self.equation(node))
        if node.output.rank != len(self.equation(node).split("->")[1]):
            y = g.op("Unsqueeze", [y, g.ints([1], "axes")])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        eq = self.equation(node)
        return {
            "equation": eq,
            "axes": node.attrs["axes"],
            "normalize": node.attrs["normalize"],
            "inv_eps": 1.0 / EPSILON,
            "expand": node.output.rank != len(eq.split("->")[1]),
        }

    def flops(self, node: Node) -> int:
        (x, _), (a0, _) = node.inputs, node.attrs["axes"]
        k = x.shape[a0] if isinstance(x.shape[a0], int) else 1
        return 2 * k * (static_size(ones(node.output.shape)) or 1)


def _l2_onnx(g: OnnxBuilder, x: str, axis: int) -> str:
    """Keras ops.normalize(order=2): x * min(rsqrt(sum(x^2)), 1/epsilon)."""
    sq = g.op("ReduceSum", [g.op("Mul", [x, x]), g.ints([axis], "axes")], keepdims=1)
    inv = g.op("Reciprocal", [g.op("Sqrt", [sq])])
    return g.op("Mul", [x, g.op("Min", [inv, g.const(1.0 / EPSILON, "inv_eps")])])
