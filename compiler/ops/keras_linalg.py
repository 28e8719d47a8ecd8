"""Keras's ``matmul`` and ``einsum``, and their IR ops of the same names.

``ops.matmul`` is NumPy's matmul (batch axes broadcast, a 1-D operand a vector) of two
tensors, or of a tensor and a constant (the weight ``c<k>``, k its position). A tensor's
batch axis must stay a batch axis: a tensor second operand has rank >= 3, and a rank-2
tensor (batch, features) as the first operand takes a constant matrix.

``ops.einsum`` takes the tensors as ``inputs:`` and ``subscripts`` as a keyword argument
(Keras's first positional argument: the oracle calls ``keras.ops.einsum(subscripts,
*operands)``); letters, ``,``, ``->`` and ``...`` as NumPy reads them (no ``->``: the
letters seen once, in alphabetical order). Every tensor's axis 0 (its first letter, or the
start of a leading ``...``) must be the output's axis 0, the batch axis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..frontend.params import Param
from ..ir.graph import Node, Shape, static_size
from ..ir.registry import OpDef, StepRefused, register
from .core import ones
from .keras_base import KerasOp, Operands, broadcast, need_number, operand_shapes, slots
from .keras_einsum import Equation, parse_subscripts
from .merge import unify

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


@register("ops.matmul")
class Matmul(KerasOp):
    """``matmul(x1, x2)``."""

    operands = ("x1", "x2")

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        dtype = Operands.dtype(spec, inputs)
        need_number(self.name, dtype)
        ops = Operands(b, spec, inputs, dtype)
        tensor = [isinstance(o, str) for o in spec.operands]
        ranks = [len(s) for s in operand_shapes(2, ops.tensors, ops.weights)]
        if min(ranks) == 0:
            raise TdcError(
                "ops.matmul of a scalar", accepted="operands of rank >= 1 (ops.multiply scales)"
            )
        if tensor[1] and ranks[1] < 3:
            raise TdcError(
                f"ops.matmul with a rank-{ranks[1]} tensor as x2 contracts its batch axis",
                accepted="x2 a tensor of rank >= 3 (batch, ..., k, m) or a constant",
            )
        if tensor[0] and ranks[0] < 2 or tensor[0] and ranks[0] == 2 and tensor[1]:
            raise TdcError(
                f"ops.matmul of a rank-{ranks[0]} tensor x1 with a tensor x2 mixes their "
                "batch axes",
                accepted="x1 of rank >= 3 with a tensor x2, or a rank-2 x1 with a constant",
            )
        return b.emit("matmul", ops.tensors, {}, ops.weights)


@register("matmul")
class MatmulOp(OpDef):
    """NumPy's matmul of two operands (tensors, constant weights ``c0`` / ``c1``)."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        ranks, w = [v.rank for v in node.inputs], node.weights
        if "c1" in w and w["c1"].ndim <= 2 and ranks[0] >= 3:  # (N, T, ..., k) @ (k, m)
            return {}
        if "c0" in w and w["c0"].ndim <= 2 and ranks[0] >= 4:  # (n, k) @ (N, T, ..., k, m)
            return {}
        if not w and min(ranks) >= 4:  # (N, T) broadcast over
            return {}
        raise StepRefused("multiplies across the time axis")

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        a, b = operand_shapes(2, node.inputs, node.weights)
        a2 = (1, *a) if len(a) == 1 else a
        b2 = (*b, 1) if len(b) == 1 else b
        unify(a2[-1], b2[-2], node.inputs, False)
        lead = broadcast(node.inputs, [a2[:-2], b2[:-2]])
        rows = () if len(a) == 1 else (a2[-2],)
        cols = () if len(b) == 1 else (b2[-1],)
        return [((*lead, *rows, *cols), node.inputs[0].dtype)]

    def names(self, names: list[str], node: Node) -> list[str]:
        return slots(2, node.weights, names)

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        consts = {k: g.const(c, k, c.dtype) for k, c in node.weights.items()}
        a, b = (consts.get(n, n) for n in self.names([g[v] for v in node.inputs], node))
        g.set(node, g.op("MatMul", [a, b]))

    def numpy(self, node: Node) -> dict[str, Any]:
        n = len(node.inputs)
        a, b = self.names(["x"] if n == 1 else ["x0", "x1"], node)
        return {"what": "matmul", "expr": f"np.matmul({a}, {b})"}

    def flops(self, node: Node) -> int:
        a = operand_shapes(2, node.inputs, node.weights)[0]
        k = a[-1] if isinstance(a[-1], int) else 1
        return 2 * k * (static_size(ones(node.output.shape)) or 1)


def _subscripts(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError("an einsum equation such as 'btf,bsf->bts'")
    parse_subscripts(v)
    return v


@register("ops.einsum")
class Einsum(KerasOp):
    """``einsum(subscripts, *operands)``: ``inputs:`` the operands, ``subscripts:`` the
    equation."""

    operands = ("*operands",)
    params = {"subscripts": Param(None, _subscripts)}
    #: the subscripts may also come first in ``inputs:`` (``wiring.text_operand``)
    text_operand = "subscripts"

    def call_keras(self, ops: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return ops.einsum(kwargs.pop("subscripts"), *args, **kwargs)

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        if spec.attrs["subscripts"] is None:
            raise TdcError(
                "ops.einsum needs its subscripts",
                accepted="subscripts: 'btf,bsf->bts', or the subscripts first in inputs:",
            )
        dtype = Operands.dtype(spec, inputs)
        need_number(self.name, dtype)
        ops = Operands(b, spec, inputs, dtype)
        n = len(spec.operands)
        shapes = operand_shapes(n, ops.tensors, ops.weights)
        tensors = [isinstance(o, str) for o in spec.operands]
        eq = parse_subscripts(spec.attrs["subscripts"]).bind(shapes, tensors)
        return b.emit("einsum", ops.tensors, {"equation": eq.text()}, ops.weights)


@register("einsum")
class EinsumOp(OpDef):
    """NumPy's einsum of its operands (tensors, constant weights ``c<k>``) by ``equation``
    (explicit: ``...->...``)."""

    stream = "custom"

    def equation(self, node: Node) -> Equation:
        shapes = operand_shapes(self.n(node), node.inputs, node.weights)
        tensors = [f"c{k}" not in node.weights for k in range(self.n(node))]
        return parse_subscripts(node.attrs["equation"]).bind(shapes, tensors)

    def n(self, node: Node) -> int:
        return len(node.inputs) + len(node.weights)

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        eq = self.equation(node)
        return {"equation": eq.without_time().text()}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(self.equation(node).out_shape(node.inputs), node.inputs[0].dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        consts = {k: g.const(c, k, c.dtype) for k, c in node.weights.items()}
        names = slots(self.n(node), node.weights, [g[v] for v in node.inputs])
        ins = [consts.get(n, n) for n in names]
        g.set(node, g.op("Einsum", ins, equation=node.attrs["equation"]))

    def numpy(self, node: Node) -> dict[str, Any]:
        n = len(node.inputs)
        names = ["x"] if n == 1 else [f"x{i}" for i in range(n)]
        names = slots(self.n(node), node.weights, names)
        return {"equation": node.attrs["equation"], "names": names}

    def flops(self, node: Node) -> int:
        return 2 * self.equation(node).size()
