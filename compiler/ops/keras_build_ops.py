"""Keras operations that build masks and positions: comparisons and logical operations,
``where``, ``cast``, ``ones_like`` / ``zeros_like`` / ``full_like``, ``cumsum`` and
``arange`` (IR ops in ``keras_build_ir.py``).

Comparisons and logical operations give bool values (as Keras); ``where`` takes a bool
(or numeric: nonzero holds) condition; ``cast`` converts to float32, int32, int64 or bool.
``cumsum`` of a bool counts in int32, as Keras.

``ops.arange`` takes no tensor: ``{type: ops.arange, start: 0, stop: 8, step: 1}``, its
keyword arguments as Keras's (``start`` alone is the stop). It is a constant without a
batch axis, for operations that broadcast it (``ops.add``, ``ops.less``, ``ops.where``...).
A Keras functional model has no arange over a dynamic length: ``keras.ops.arange`` of a
null axis length fails while the graph is built, and one of constants is a constant array
(a constant operand once saved). Positions along a null axis are built as Keras users
build them: ``ops.cumsum`` of ``ops.ones_like`` (``dtype: int32``) along that axis,
minus one.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TdcError
from ..frontend.params import REQUIRED, Param, number, optional
from ..frontend.wiring import MAX_CONSTANT
from ..ir.registry import register
from .keras_base import (
    KerasOp,
    Operands,
    cast,
    check_axis,
    dtype_name,
    integer_axis,
    need_number,
)
from .keras_build_ir import COMPARE

if TYPE_CHECKING:
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

_LOGICAL = ("logical_and", "logical_or", "logical_xor")
_ORDERED = ("greater", "greater_equal", "less", "less_equal")


class _Compare(KerasOp):
    operands = ("x1", "x2")
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        if self.kind.startswith("logical_"):
            dtype = "bool"
        else:
            dtype = Operands.dtype(spec, inputs)
            if dtype == "bool" and self.kind in _ORDERED:  # no ordered bool comparison in ONNX
                dtype = "int32"
        ops = Operands(b, spec, inputs, dtype)
        return b.emit("compare", ops.tensors, {"kind": self.kind}, ops.weights)


for _kind in COMPARE:
    _ops = ("x",) if _kind == "logical_not" else ("x1", "x2")
    register(f"ops.{_kind}")(type(f"Op_{_kind}", (_Compare,), {"kind": _kind, "operands": _ops}))


@register("ops.where")
class Where(KerasOp):
    """``where(condition, x1, x2)``: ``x1`` where the condition holds, else ``x2``; the
    one-operand form (the indices where it holds) has no fixed shape and is refused."""

    operands = ("condition", "x1", "x2")

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        dtype = Operands.dtype(spec, inputs, skip=1)
        ops = Operands(b, spec, inputs, ["bool", dtype, dtype])
        return b.emit("where", ops.tensors, {}, ops.weights)


@register("ops.cast")
class Cast(KerasOp):
    """``cast(x, dtype)``."""

    params = {"dtype": Param(REQUIRED, dtype_name)}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = self.tensor(b, spec, inputs)
        return [b.emit("cast", [x], {"dtype": spec.attrs["dtype"]})[0]]


class _FillLike(KerasOp):
    value: float | None = None

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = inputs[0]
        value = self.value if self.value is not None else spec.attrs["fill_value"]
        dtype = spec.attrs["dtype"] or x.dtype
        return b.emit("fill_like", [x], {"value": value, "dtype": dtype})


_DTYPE = {"dtype": Param(None, dtype_name)}
register("ops.ones_like")(type("Op_ones_like", (_FillLike,), {"value": 1.0, "params": _DTYPE}))
register("ops.zeros_like")(type("Op_zeros_like", (_FillLike,), {"value": 0.0, "params": _DTYPE}))
_FULL = {"fill_value": Param(None, optional(number())), **_DTYPE}
_attrs = {"operands": ("x", "fill_value"), "params": _FULL}
register("ops.full_like")(type("Op_full_like", (_FillLike,), _attrs))


@register("ops.cumsum")
class Cumsum(KerasOp):
    """``cumsum(x, axis, dtype)`` along one axis other than the batch axis."""

    params = {"axis": Param(None, optional(integer_axis)), **_DTYPE}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = self.tensor(b, spec, inputs)
        if spec.attrs["axis"] is None:
            raise TdcError(
                "ops.cumsum without an axis sums over the flattened tensor, batch axis "
                "included, which a compiled model keeps",
                accepted="axis: an axis other than 0",
            )
        axis = check_axis(self.name, spec.attrs["axis"], x.rank)
        dtype = spec.attrs["dtype"] or ("int32" if x.dtype == "bool" else x.dtype)
        need_number(self.name, dtype)
        return b.emit("cumsum", [cast(b, x, dtype)], {"axis": axis})


@register("ops.arange")
class Arange(KerasOp):
    """``arange(start, stop, step, dtype)`` of numbers given as keyword arguments."""

    mask_flow = "drop"
    operands = ()
    params = {
        "start": Param(REQUIRED, number()),
        "stop": Param(None, optional(number())),
        "step": Param(None, optional(number())),
        **_DTYPE,
    }

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        start, stop = (0.0, a["start"]) if a["stop"] is None else (a["start"], a["stop"])
        step = 1.0 if a["step"] is None else a["step"]
        if step == 0:
            raise TdcError("ops.arange: step 0 gives no values", accepted="a non-zero step")
        n = max(0, math.ceil((stop - start) / step))
        if n > MAX_CONSTANT:
            raise TdcError(
                f"ops.arange makes {n} values, more than a constant may hold",
                accepted=f"at most {MAX_CONSTANT} values",
            )
        floats = any(isinstance(spec.args.get(k), float) for k in ("start", "stop", "step"))
        dtype = a["dtype"] or ("float32" if floats else "int32")
        value = (start + step * np.arange(n, dtype=np.float64)).astype(dtype)
        return b.emit("const", [], {}, {"value": value})
