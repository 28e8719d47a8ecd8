"""Keras operations in a graph (``type: ops.<name>``, the function ``keras.ops.<name>``):
arithmetic, activations and reductions.

An entry's positional operands are its ``inputs:`` (layer names, or numbers and lists of
numbers for constant operands), its keyword arguments the other keys. Binary operations
take two tensors or a tensor and a constant, NumPy-broadcast, and lower to ``binary``
(the constant is its weight ``c``); ``negative`` ... ``log`` and ``clip`` lower to
``unary``, activations to ``act``, ``mean``/``sum``/``max``/``min`` to ``reduce`` (IR ops in
``keras_ir.py``). Operands are promoted as Keras does (``keras_base.py``).

The other operations live in ``keras_build_ops.py`` (comparisons, ``where``, ``cast``,
``*_like``, ``cumsum``, ``arange``), ``keras_shape_ops.py`` (reshaping, joining, splitting,
indexing) and ``keras_linalg.py`` (``matmul``, ``einsum``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..frontend.params import Param, boolean, integer, number, optional
from ..ir.registry import register
from .keras_base import KerasOp, Operands, axes_list, cast, check_axis, need_float, need_number

if TYPE_CHECKING:
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

_BINARY = {
    "add": "add",
    "subtract": "subtract",
    "multiply": "multiply",
    "divide": "divide",
    "true_divide": "divide",
    "maximum": "maximum",
    "minimum": "minimum",
    "power": "power",
}
#: unary kind -> what it does to an integer / bool operand ("keep", "float", "int32", None:
#: refused)
_UNARY = {
    "negative": ("keep", None),
    "square": ("keep", "int32"),
    "abs": ("keep", None),
    "sqrt": ("float", "float"),
    "exp": ("float", "float"),
    "log": ("float", "float"),
}
#: keras.ops activation -> (``act`` kind, its parameters as Keras's keyword arguments).
_ACTS: dict[str, tuple[str, dict[str, Param]]] = {
    "relu": ("relu", {}),
    "relu6": ("relu6", {}),
    "sigmoid": ("sigmoid", {}),
    "hard_sigmoid": ("hard_sigmoid", {}),
    "hard_silu": ("hard_silu", {}),
    "hard_swish": ("hard_silu", {}),
    "silu": ("silu", {}),
    "gelu": ("gelu", {"approximate": Param(True, boolean)}),
    "tanh": ("tanh", {}),
    "softmax": ("softmax", {"axis": Param(-1, integer())}),
    "log_softmax": ("log_softmax", {"axis": Param(-1, integer())}),
}
_REDUCE = ("mean", "sum", "max", "min")


class _Binary(KerasOp):
    operands = ("x1", "x2")
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        dtype = Operands.dtype(spec, inputs)
        if self.kind == "divide":  # true division: float32 whatever the operands
            dtype = "float32"
        need_number(self.name, dtype)
        ops = Operands(b, spec, inputs, dtype)
        attrs: dict[str, Any] = {"kind": self.kind}
        if len(ops.tensors) == 2:
            return b.emit("binary", ops.tensors, attrs)
        first = "c0" in ops.weights
        c = ops.weights["c0" if first else "c1"]
        return b.emit("binary", ops.tensors, {**attrs, "const_first": first}, {"c": c})


class _Unary(KerasOp):
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = self.tensor(b, spec, inputs)
        on_int, on_bool = _UNARY[self.kind]
        how = on_bool if x.dtype == "bool" else on_int if x.dtype != "float32" else "keep"
        if how is None:
            need_number(self.name, x.dtype)
        if how == "float":
            x = cast(b, x, "float32")
        elif how == "int32":
            x = cast(b, x, "int32")
        return b.emit("unary", [x], {"kind": self.kind})


class _Activation(KerasOp):
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = self.tensor(b, spec, inputs)
        need_float(self.name, x)
        if "axis" in spec.attrs:
            check_axis(self.name, spec.attrs["axis"], x.rank)
        return [b.act(x, self.kind, **spec.attrs)]


class _Reduce(KerasOp):
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = self.tensor(b, spec, inputs)
        axes = reduce_axes(self.name, spec.attrs["axis"], x.rank)
        if 0 in axes and not spec.attrs["keepdims"]:
            raise TdcError(
                f"{self.name} over the batch axis (axis {spec.attrs['axis']}) without keepdims "
                "leaves no batch axis, which a compiled model needs",
                accepted="axes >= 1, or keepdims: true",
            )
        x = self.operand(b, x, spec.attrs.get("initial"))
        attrs = {"kind": self.kind, "axes": axes, "keepdims": spec.attrs["keepdims"]}
        attrs["initial"] = spec.attrs.get("initial")
        return b.emit("reduce", [x], attrs)

    def operand(self, b: Builder, x: Value, initial: float | None) -> Value:
        """``x`` in the dtype Keras reduces it in: mean in float32, sum of bools in int32."""
        if self.kind == "mean" or (initial is not None and x.dtype != "float32"):
            return cast(b, x, "float32")
        if self.kind == "sum" and x.dtype == "bool":
            return cast(b, x, "int32")
        need_number(self.name, x.dtype)
        return x


def reduce_axes(what: str, axis: Any, rank: int) -> tuple[int, ...]:
    """Keras's ``axis`` (null: every axis; an axis; a list) as sorted positive axes."""
    if axis is None:
        return tuple(range(rank))
    listed = axis if isinstance(axis, list | tuple) else (axis,)
    for a in listed:
        if not -rank <= a < rank:
            raise TdcError(f"{what}: axis {a} is out of range for rank {rank}")
    axes = tuple(sorted({a % rank for a in listed}))
    if len(axes) != len(listed):
        raise TdcError(f"{what}: axis {axis} names an axis twice")
    return axes


for _name, _kind in _BINARY.items():
    register(f"ops.{_name}")(type(f"Op_{_name}", (_Binary,), {"kind": _kind}))
for _name in _UNARY:
    register(f"ops.{_name}")(type(f"Op_{_name}", (_Unary,), {"kind": _name}))
for _name, (_kind, _params) in _ACTS.items():
    _attrs = {"kind": _kind, "params": _params}
    register(f"ops.{_name}")(type(f"Op_{_name}", (_Activation,), _attrs))
for _name in _REDUCE:
    _params = {"axis": Param(None, axes_list), "keepdims": Param(False, boolean)}
    if _name in ("max", "min"):
        _params["initial"] = Param(None, optional(number()))
    register(f"ops.{_name}")(type(f"Op_{_name}", (_Reduce,), {"kind": _name, "params": _params}))


@register("ops.clip")
class Clip(KerasOp):
    """``clip(x, x_min, x_max)``; the bounds as constant operands or keyword arguments."""

    operands = ("x", "x_min", "x_max")
    params = {"x_min": Param(None, optional(number())), "x_max": Param(None, optional(number()))}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        need_float(self.name, inputs[0])
        a = spec.attrs
        attrs = {"kind": "clip", "lo": a["x_min"], "hi": a["x_max"]}
        return b.emit("unary", [inputs[0]], attrs)
