"""What the Keras operations (``type: ops.<name>``) share: their base class, constant
operands, NumPy broadcasting, Keras's dtype promotion and axis checks.

An operation's values carry one of four dtypes: float32 (what every layer gives), int32
and int64 (integer inputs, ``ops.cast``, ``cumsum`` of a bool, ``ones_like(dtype=...)``)
and bool (comparisons and logical operations, as Keras). Arithmetic promotes its operands
as Keras does, bool < int32 < int64 < float32, a Python number being *weak* (an integer
keeps an integer tensor's dtype and turns a bool into int32, a float makes float32) and
a list of numbers float32; ``divide``, ``mean``, ``sqrt``, ``exp`` and ``log`` give float32.
Where Keras's own result is no number (arithmetic on two bools, activations on integers
or bools) the operation is refused: cast first.

Axes are Keras's: the batch axis is axis 0 of every tensor (the model file's shapes leave
it out). An operation may not move, index, split or drop the batch axis.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..ir.graph import Shape, shape_str
from ..ir.registry import OpDef, get_op
from .merge import unify

if TYPE_CHECKING:
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

#: The dtypes of values, in Keras's promotion order.
DTYPES = ("bool", "int32", "int64", "float32")
_ORDER = {d: k for k, d in enumerate(DTYPES)}
#: The dtypes ``ops.cast`` and the ``dtype`` arguments accept.
CAST_DTYPES = DTYPES
WEAK_INT, WEAK_FLOAT = "int", "float"


class KerasOp(OpDef):
    """A ``keras.ops`` function: no weights, masked inputs refused (Keras drops the mask)."""

    mask_flow = "unsupported"
    operands: tuple[str, ...] | None = ("x",)
    params: dict = {}

    def tensor(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> Value:
        """The one tensor operand."""
        if len(inputs) != 1 or len(spec.operands) != 1:
            raise TdcError(f"{self.name} takes exactly one operand, a layer or input")
        return inputs[0]

    def call_keras(self, ops: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """The Keras oracle's call (``ops``: the ``keras.ops`` module): ``keras.ops.<name>``
        of the operands in ``inputs:`` order and the keyword arguments as written."""
        return getattr(ops, self.name.removeprefix("ops."))(*args, **kwargs)


def constant(value: Any, dtype: str = "float32") -> np.ndarray:
    """A constant operand (a number or a nested list of numbers) as ``dtype``; as Keras
    takes a list (a float32 array), a list becomes float32 first."""
    arr = np.asarray(value, dtype=np.float32 if isinstance(value, list) else np.float64)
    return arr.astype(dtype)


def broadcast(values: list[Value], shapes: list[Shape]) -> Shape:
    """NumPy broadcasting of ``shapes`` (trailing axes aligned)."""
    rank = max(len(s) for s in shapes)
    out: list[Any] = [1] * rank
    for s in shapes:
        padded = (1,) * (rank - len(s)) + tuple(s)
        out = [unify(a, b, values, True) for a, b in zip(out, padded, strict=True)]
    return tuple(out)


def kind_of(operand: Any, value: Value | None) -> str:
    """An operand's dtype for promotion: a tensor's own, a Python number's weak kind, a
    list of numbers float32 (the Keras oracle passes it as a float32 array)."""
    if value is not None:
        return value.dtype
    if isinstance(operand, int) and not isinstance(operand, bool):
        return WEAK_INT
    if isinstance(operand, float):
        return WEAK_FLOAT
    return "float32"


def result_dtype(kinds: list[str]) -> str:
    """Keras's result dtype of operands of ``kinds`` (see ``kind_of``)."""
    strong = [k for k in kinds if k in _ORDER] or ["bool"]
    top = max(strong, key=_ORDER.__getitem__)
    if WEAK_FLOAT in kinds:
        return "float32"
    if WEAK_INT in kinds and top == "bool":
        return "int32"
    return top


def cast(b: Builder, x: Value, dtype: str) -> Value:
    """``x`` as ``dtype`` (a ``cast`` node where it differs)."""
    return x if x.dtype == dtype else b.emit("cast", [x], {"dtype": dtype})[0]


def need_number(what: str, dtype: str) -> None:
    """Refuse arithmetic whose Keras result would be bool."""
    if dtype == "bool":
        raise TdcError(
            f"{what} on bool values is not supported (Keras gives bool, not a number)",
            accepted="numbers: cast bool values first (ops.cast with dtype float32 or int32), "
            "or use ops.logical_and / ops.logical_or",
        )


def need_float(what: str, x: Value) -> None:
    """Refuse a float-only operation on an integer or bool value."""
    if x.dtype != "float32":
        raise TdcError(
            f"{what} takes float32 values, got {x.dtype}",
            accepted="float32 values: cast first (ops.cast with dtype float32)",
        )


class Operands:
    """A Keras operation's positional operands, promoted to one dtype: the tensors in order
    and each constant as the weight ``c<k>`` (k: its position among the operands)."""

    def __init__(
        self, b: Builder, spec: LayerSpec, inputs: list[Value], dtype: str | list[str]
    ) -> None:
        self.tensors: list[Value] = []
        self.weights: dict[str, np.ndarray] = {}
        it = iter(inputs)
        for k, o in enumerate(spec.operands):
            want = dtype if isinstance(dtype, str) else dtype[k]
            if isinstance(o, str):
                self.tensors.append(cast(b, next(it), want))
            else:
                self.weights[f"c{k}"] = constant(o, want)

    @staticmethod
    def dtype(spec: LayerSpec, inputs: list[Value], skip: int = 0) -> str:
        """The promoted dtype of the operands from position ``skip`` on."""
        it = iter(inputs)
        kinds = []
        for k, o in enumerate(spec.operands):
            v = next(it) if isinstance(o, str) else None
            if k >= skip:
                kinds.append(kind_of(o, v))
        return result_dtype(kinds)


def slots(n: int, weights: dict[str, np.ndarray], names: list[str]) -> list[str]:
    """The ``n`` operands in order: constant k is the weight ``c<k>``, the others take
    ``names`` (the tensors' names) in turn."""
    it = iter(names)
    return [f"c{k}" if f"c{k}" in weights else next(it) for k in range(n)]


def operand_shapes(n: int, inputs: list[Value], weights: dict[str, np.ndarray]) -> list[Shape]:
    """The shapes of the ``n`` operands (tensors and constants) in order."""
    it = iter(inputs)
    return [
        tuple(weights[f"c{k}"].shape) if f"c{k}" in weights else next(it).shape for k in range(n)
    ]


def operand_dtypes(n: int, inputs: list[Value], weights: dict[str, np.ndarray]) -> list[str]:
    """The dtypes of the ``n`` operands (tensors and constants) in order."""
    it = iter(inputs)
    return [str(weights[f"c{k}"].dtype) if f"c{k}" in weights else next(it).dtype for k in range(n)]


def check_axis(what: str, axis: int, rank: int, batch: bool = False) -> int:
    """``axis`` of a rank-``rank`` tensor as a positive axis; axis 0 (the batch axis) is
    refused unless ``batch``."""
    if not -rank <= axis < rank:
        raise TdcError(
            f"{what}: axis {axis} is out of range for rank {rank} (the batch axis included)"
        )
    a = axis % rank
    if a == 0 and not batch:
        raise TdcError(
            f"{what} on the batch axis (axis {axis}) is not supported: a compiled model keeps "
            "the batch axis as it is",
            accepted=f"an axis from 1 to {rank - 1}, or from -1 to {-(rank - 1)}",
        )
    return a


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def integer_axis(v: Any) -> int:
    """A Param checker: one integer axis."""
    if _is_int(v):
        return v
    raise ValueError("an integer axis")


def axes_list(v: Any) -> int | tuple[int, ...] | None:
    """A Param checker: null, an integer axis or a non-empty list of them."""
    if v is None:
        return None
    if _is_int(v):
        return v
    if isinstance(v, list | tuple) and v and all(_is_int(a) for a in v):
        return tuple(v)
    raise ValueError("an integer axis, a non-empty list of them, or null")


def dtype_name(v: Any) -> str | None:
    """A Param checker: a dtype name of ``CAST_DTYPES`` or null."""
    if v is None or v in CAST_DTYPES:
        return v
    raise ValueError("one of " + ", ".join(CAST_DTYPES) + ", or null")


def check_layer_dtypes(spec: LayerSpec, inputs: list[Value]) -> None:
    """A layer takes float32 values, an Embedding (maybe in TimeDistributed) integer ids:
    refuse the bool and integer values of Keras operations anywhere else."""
    inner = spec
    while inner.inner is not None and inner.type == "TimeDistributed":
        inner = inner.inner
    free = get_op(spec.type).dtype_free_inputs(spec.attrs)  # attention_mask: any dtype
    for v in inputs[: len(inputs) - free]:
        ids = inner.type == "Embedding" and v.dtype in ("int32", "int64")
        if v.dtype != "float32" and not ids:
            raise TdcError(
                f"{spec.label} takes float32 values, got {v.dtype} values "
                f"{shape_str(v.shape)} from a Keras operation",
                accepted="float32 values: cast first (ops.cast with dtype float32); integer "
                "ids feed Embedding",
            )
