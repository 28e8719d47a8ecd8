"""The IR ops of the operations that build masks and positions (``keras_build_ops.py``).

``where`` (condition, x1, x2) and ``compare`` (``kind``: a comparison or logical operation
of one or two operands, a bool result) take tensors and constant weights ``c<k>`` (k:
the operand's position), NumPy-broadcast; ``cast`` (``dtype``), ``fill_like`` (``value``
in the shape of its input, ``dtype``), ``cumsum`` (``axis``) and ``const`` (a constant
``value`` weight without a batch axis: ``ops.arange``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..ir.graph import Node, Shape
from ..ir.registry import OpDef, StepRefused, register, step_axis
from .keras_base import broadcast, operand_dtypes, operand_shapes, slots
from .keras_ir import elementwise_flops

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder

#: compare kind -> (ONNX op, NumPy function); not_equal is Not(Equal) in ONNX.
COMPARE = {
    "equal": ("Equal", "np.equal"),
    "not_equal": ("Equal", "np.not_equal"),
    "greater": ("Greater", "np.greater"),
    "greater_equal": ("GreaterOrEqual", "np.greater_equal"),
    "less": ("Less", "np.less"),
    "less_equal": ("LessOrEqual", "np.less_equal"),
    "logical_and": ("And", "np.logical_and"),
    "logical_or": ("Or", "np.logical_or"),
    "logical_xor": ("Xor", "np.logical_xor"),
    "logical_not": ("Not", "np.logical_not"),
}


def literal(value: Any, dtype: str) -> str:
    """``value`` as a NumPy scalar literal of ``dtype``."""
    v = np.asarray(value).astype(dtype).item()
    return f"np.{'bool_' if dtype == 'bool' else dtype}({v!r})"


class _Broadcasting(OpDef):
    """Operands in order, tensors and constants ``c<k>``, NumPy-broadcast."""

    stream = "custom"

    def n_operands(self, node: Node) -> int:
        return len(node.inputs) + len(node.weights)

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if len({v.rank for v in node.inputs}) > 1:
            raise StepRefused("broadcasts over the time axis")
        if any(c.ndim >= rank - 1 for c in node.weights.values()):  # reaches axis 1
            raise StepRefused("has a constant operand spanning the time axis")
        return dict(node.attrs)

    def sinks_fold(self, node: Node) -> bool:
        return len(node.inputs) == 1 and all(c.ndim <= 1 for c in node.weights.values())

    def shape(self, node: Node) -> Shape:
        shapes = operand_shapes(self.n_operands(node), node.inputs, node.weights)
        return broadcast(node.inputs, shapes)

    def onnx_names(self, g: OnnxBuilder, node: Node) -> list[str]:
        consts = {k: g.const(c, k, c.dtype) for k, c in node.weights.items()}
        names = slots(self.n_operands(node), node.weights, [g[v] for v in node.inputs])
        return [consts.get(n, n) for n in names]

    def numpy_names(self, node: Node) -> list[str]:
        n = len(node.inputs)
        names = ["x"] if n == 1 else [f"x{i}" for i in range(n)]
        return slots(self.n_operands(node), node.weights, names)

    def flops(self, node: Node) -> int:
        return elementwise_flops(node)


@register("where")
class WhereOp(_Broadcasting):
    """``x1`` where ``condition`` (bool) holds, else ``x2``."""

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        dtypes = operand_dtypes(3, node.inputs, node.weights)
        return [(self.shape(node), dtypes[1])]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        g.set(node, g.op("Where", self.onnx_names(g, node)))

    def numpy(self, node: Node) -> dict[str, Any]:
        c, a, b = self.numpy_names(node)
        return {"what": "where", "expr": f"np.where({c}, {a}, {b})"}


@register("compare")
class CompareOp(_Broadcasting):
    """``kind`` of one (logical_not) or two operands of one dtype; a bool result."""

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(self.shape(node), "bool")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        kind = node.attrs["kind"]
        y = g.op(COMPARE[kind][0], self.onnx_names(g, node))
        g.set(node, g.op("Not", [y]) if kind == "not_equal" else y)

    def numpy(self, node: Node) -> dict[str, Any]:
        kind = node.attrs["kind"]
        args = ", ".join(self.numpy_names(node))
        return {"what": kind, "expr": f"{COMPARE[kind][1]}({args})"}


@register("cast")
class CastOp(OpDef):
    """Elementwise conversion to ``dtype`` (float to integer truncates toward zero)."""

    stream = "elementwise"
    last_axis_only = True

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(node.inputs[0].shape, node.attrs["dtype"])]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        g.set(node, g.op("Cast", [g[node.inputs[0]]], to=g.dtype(node.attrs["dtype"])))

    def numpy(self, node: Node) -> dict[str, Any]:
        dtype = node.attrs["dtype"]
        name = "bool_" if dtype == "bool" else dtype
        return {"what": f"cast to {dtype}", "expr": f"x.astype(np.{name})"}


@register("fill_like")
class FillLikeOp(OpDef):
    """``value`` (as ``dtype``) in the shape of its input."""

    stream = "elementwise"
    last_axis_only = True

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(node.inputs[0].shape, node.attrs["dtype"])]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        dtype = node.attrs["dtype"]
        value = np.asarray(node.attrs["value"]).astype(dtype).item()
        g.set(node, g.filled(g.op("Shape", [g[node.inputs[0]]]), value, dtype, "fill_value"))

    def numpy(self, node: Node) -> dict[str, Any]:
        a = node.attrs
        value = literal(a["value"], a["dtype"])
        return {"what": f"filled with {value}", "expr": f"np.full(x.shape, {value})"}


@register("cumsum")
class CumsumOp(OpDef):
    """Cumulative sum along ``axis`` (positive, never 0), in the input's dtype."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if node.attrs["axis"] == 1:
            raise StepRefused("sums along the time axis")
        return {**node.attrs, "axis": step_axis(node.attrs["axis"], rank)}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(node.inputs[0].shape, node.inputs[0].dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        axis = g.const(np.int64(node.attrs["axis"]), "axis", np.int64)
        g.set(node, g.op("CumSum", [g[node.inputs[0]], axis]))

    def numpy(self, node: Node) -> dict[str, Any]:
        axis = node.attrs["axis"]
        expr = f"np.cumsum(x, axis={axis}, dtype=x.dtype)"  # NumPy sums int32 as int64
        return {"what": f"cumsum along axis {axis}", "expr": expr}

    def flops(self, node: Node) -> int:
        return elementwise_flops(node)


@register("const")
class ConstOp(OpDef):
    """The constant weight ``value``, a value without a batch axis (``ops.arange``)."""

    stream = "elementwise"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        value = node.weights["value"]
        return [(tuple(value.shape), str(value.dtype))]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        value = node.weights["value"]
        g.set(node, g.op("Identity", [g.const(value, "value", value.dtype)]))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"what": "a constant", "expr": "value"}
