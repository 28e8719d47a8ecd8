"""The IR ops of Keras's arithmetic operations (``keras_ops.py``).

``binary`` (``kind`` in add/subtract/multiply/divide/maximum/minimum/power, of two values
or of one value and a constant weight ``c``, ``const_first`` when the constant is the first
operand), ``unary`` (negative/square/sqrt/abs/exp/log; clip with ``lo``, ``hi``) and
``reduce`` (mean/sum/max/min over ``axes``). Their operands share one dtype (the layers
cast them first) and their results keep it. Shapes follow NumPy broadcasting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ir.graph import Node, Shape, static_size
from ..ir.registry import OpDef, StepRefused, register, step_axis
from .core import ones
from .keras_base import broadcast

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder

_BINARY_ONNX = {
    "add": "Add",
    "subtract": "Sub",
    "multiply": "Mul",
    "divide": "Div",
    "maximum": "Max",
    "minimum": "Min",
    "power": "Pow",
}
_BINARY_NUMPY = {
    "add": "np.add",
    "subtract": "np.subtract",
    "multiply": "np.multiply",
    "divide": "np.divide",
    "maximum": "np.maximum",
    "minimum": "np.minimum",
    "power": "np.power",
}
_UNARY_ONNX = {"negative": "Neg", "sqrt": "Sqrt", "abs": "Abs", "exp": "Exp", "log": "Log"}
_REDUCE_ONNX = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin"}


def elementwise_flops(node: Node) -> int:
    return static_size(ones(node.output.shape)) or 0


@register("binary")
class BinaryOp(OpDef):
    """``kind`` of two values, or of one value and the constant weight ``c``
    (``const_first``: the constant is the first operand), NumPy-broadcast."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if len({v.rank for v in node.inputs}) > 1:
            raise StepRefused("broadcasts over the time axis")
        if "c" in node.weights and node.weights["c"].ndim >= rank - 1:  # reaches axis 1
            raise StepRefused("has a constant operand spanning the time axis")
        return dict(node.attrs)

    def sinks_fold(self, node: Node) -> bool:
        return len(node.inputs) == 1 and node.weights["c"].ndim <= 1

    def _shapes(self, node: Node) -> list[Shape]:
        shapes = [v.shape for v in node.inputs]
        if "c" in node.weights:
            c = tuple(node.weights["c"].shape)
            shapes = [c, *shapes] if node.attrs.get("const_first") else [*shapes, c]
        return shapes

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(broadcast(node.inputs, self._shapes(node)), node.inputs[0].dtype)]

    def _names(self, node: Node, names: list[str], c: str) -> list[str]:
        if "c" not in node.weights:
            return names
        return [c, *names] if node.attrs.get("const_first") else [*names, c]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        c = ""
        if "c" in node.weights:
            c = g.const(node.weights["c"], "c", node.weights["c"].dtype)
        a, b = self._names(node, [g[v] for v in node.inputs], c)
        g.set(node, g.op(_BINARY_ONNX[node.attrs["kind"]], [a, b]))

    def numpy(self, node: Node) -> dict[str, Any]:
        names = ["x"] if len(node.inputs) == 1 else ["x0", "x1"]
        a, b = self._names(node, names, "c")
        kind = node.attrs["kind"]
        return {"what": kind, "expr": f"{_BINARY_NUMPY[kind]}({a}, {b})"}

    def flops(self, node: Node) -> int:
        return elementwise_flops(node)


@register("unary")
class UnaryOp(OpDef):
    """Elementwise ``kind`` (negative, square, sqrt, abs, exp, log; clip with lo, hi)."""

    stream = "elementwise"
    last_axis_only = True

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(node.inputs[0].shape, node.inputs[0].dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x, kind = g[node.inputs[0]], node.attrs["kind"]
        if kind == "square":
            y = g.op("Mul", [x, x])
        elif kind == "clip":
            lo, hi = node.attrs["lo"], node.attrs["hi"]
            y = x
            if lo is not None:
                y = g.op("Max", [y, g.const(lo, "lo")])
            if hi is not None:
                y = g.op("Min", [y, g.const(hi, "hi")])
        else:
            y = g.op(_UNARY_ONNX[kind], [x])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        kind = node.attrs["kind"]
        if kind != "clip":
            return {"what": kind, "expr": f"np.{kind}(x)"}
        expr = "x"
        if node.attrs["lo"] is not None:
            expr = f"np.maximum({expr}, np.float32({node.attrs['lo']!r}))"
        if node.attrs["hi"] is not None:
            expr = f"np.minimum({expr}, np.float32({node.attrs['hi']!r}))"
        return {"what": kind, "expr": expr}

    def flops(self, node: Node) -> int:
        return elementwise_flops(node)


@register("reduce")
class ReduceOp(OpDef):
    """``kind`` over ``axes`` (positive, sorted), ``keepdims`` as Keras; max and min
    with an ``initial`` value take the extremum with it as well."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if 0 in node.attrs["axes"]:
            raise StepRefused("reduces over the batch axis")
        axes = tuple(step_axis(a, rank) for a in node.attrs["axes"])
        return {**node.attrs, "axes": axes}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, axes = node.inputs[0], node.attrs["axes"]
        if node.attrs["keepdims"]:
            shape = tuple(1 if k in axes else d for k, d in enumerate(x.shape))
        else:
            shape = tuple(d for k, d in enumerate(x.shape) if k not in axes)
        return [(shape, x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        kind, axes = node.attrs["kind"], list(node.attrs["axes"])
        keep = int(node.attrs["keepdims"])
        x = g[node.inputs[0]]
        if kind == "sum":  # opset 17: axes an input of ReduceSum, an attribute of the rest
            y = g.op("ReduceSum", [x, g.ints(axes, "axes")], keepdims=keep)
        else:
            y = g.op(_REDUCE_ONNX[kind], [x], axes=axes, keepdims=keep)
        if node.attrs.get("initial") is not None:
            y = g.op("Max" if kind == "max" else "Min", [y, g.const(node.attrs["initial"])])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        a = node.attrs
        how = f"axis={tuple(a['axes'])!r}, keepdims={a['keepdims']!r}"
        if a["kind"] == "sum":  # NumPy sums int32 as int64
            how += ", dtype=x.dtype"
        expr = f"np.{a['kind']}(x, {how})"
        if a.get("initial") is not None:
            fn = "np.maximum" if a["kind"] == "max" else "np.minimum"
            expr = f"{fn}({expr}, np.float32({a['initial']!r}))"
        return {"what": f"{a['kind']} over axes {tuple(a['axes'])}", "expr": expr}

    def flops(self, node: Node) -> int:
        return static_size(ones(node.inputs[0].shape)) or 0
