"""Checkers for Keras constructor arguments.

Each checker takes the raw YAML value and returns it normalised (tuples for sizes, tdc's
own name for a Keras name) or raises ``ValueError`` whose text says what is accepted.

Strings are spelled as Keras spells them: Keras looks activation, initializer,
regularizer and constraint names up case-sensitively, so they are checked exactly (a
Keras class name or alias such as ``GlorotUniform`` or ``uniform`` maps to tdc's name);
only the options Keras lower-cases itself (``padding``, ``data_format``, UpSampling2D's
``interpolation``) are accepted in any case (``choice(..., any_case=True)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import TdcError, did_you_mean, listing

Checker = Callable[[Any], Any]

#: Largest magnitude of any integer argument (it must fit an int32).
MAX_INT = 2**31 - 1
#: Largest size, stride, dilation, padding or shape entry (so that no product of a few of
#: them overflows, and an absurd size is refused before anything is allocated).
MAX_SIZE = 2**24
#: Most axes of a model input (batch excluded).
MAX_RANK = 8
#: Most elements per batch item of any value (static dims; null axes count as 1).
MAX_ELEMENTS = 2**28


def check_size(shape: tuple) -> None:
    """Refuse a value with more than ``MAX_ELEMENTS`` per batch item (symbolic dims as 1)."""
    n = 1
    for d in shape[1:]:
        n *= d if isinstance(d, int) else 1
    if n > MAX_ELEMENTS:
        raise TdcError(
            f"the output would have shape {tuple(shape)}: {n} elements per batch item",
            accepted=f"at most {MAX_ELEMENTS} elements per batch item",
        )


#: Default of an argument Keras requires (Dense's ``units``).
REQUIRED = object()

#: ``keras.activations``' names that keep the shape of their input.
ACTIVATIONS = (
    "linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax", "softplus",
    "softsign", "elu", "selu", "gelu", "silu", "swish", "exponential", "leaky_relu", "mish",
    "log_softmax", "hard_silu", "hard_swish", "celu", "hard_shrink", "hard_tanh",
    "log_sigmoid", "soft_shrink", "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus",
    "tanh_shrink",
)  # fmt: skip
#: Activations that change the shape: glu halves the last axis (it needs an even size).
SHAPE_ACTIVATIONS = ("glu",)
#: ``keras.activations.threshold`` needs its ``threshold`` and ``default_value``, which an
#: activation name cannot pass: Keras fails when it calls it.
UNCALLABLE_ACTIVATIONS = ("threshold",)

INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "zeros", "ones", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "identity",
)  # fmt: skip

REGULARIZERS = ("l1", "l2", "l1l2", "orthogonal_regularizer")
CONSTRAINTS = ("max_norm", "min_max_norm", "non_neg", "unit_norm")

#: A fixed vocabulary (tdc's own names, never the input's) is printed whole up to this size.
VOCABULARY = 40


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


#: Every spelling ``keras.initializers.get`` takes for an initialiser tdc draws -> tdc's name:
#: the snake-case name, the class name, and Keras's aliases. ``variance_scaling`` with its
#: defaults (scale 1, fan_in, truncated normal) is ``lecun_normal``. Left out: ``constant``
#: (Keras cannot build it from a name), ``stft`` and the abstract ``Initializer``.
INITIALIZER_NAMES: dict[str, str] = {
    **{n: n for n in INITIALIZERS},
    **{_camel(n): n for n in INITIALIZERS},
    "variance_scaling": "lecun_normal",
    "VarianceScaling": "lecun_normal",
    "uniform": "random_uniform",
    "normal": "random_normal",
    "zero": "zeros",
    "one": "ones",
    "IdentityInitializer": "identity",
    "OrthogonalInitializer": "orthogonal",
}
#: ``keras.regularizers.get``'s names (snake-case and class) -> tdc's; inert at inference.
REGULARIZER_NAMES: dict[str, str] = {
    **{n: n for n in (*REGULARIZERS, "regularizer")},
    "L1": "l1", "L2": "l2", "L1L2": "l1l2",
    "OrthogonalRegularizer": "orthogonal_regularizer", "Regularizer": "regularizer",
}  # fmt: skip
#: ``keras.constraints.get``'s names (snake-case and class) -> tdc's; inert at inference.
CONSTRAINT_NAMES: dict[str, str] = {
    **{n: n for n in (*CONSTRAINTS, "constraint")},
    **{_camel(n): n for n in (*CONSTRAINTS, "constraint")},
}


@dataclass(frozen=True)
class Param:
    """One constructor argument: its Keras default and its checker."""

    default: Any
    check: Checker


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def integer(lo: int | None = None, hi: int | None = None) -> Checker:
    """An int (not a bool) in [lo, hi]; never beyond +-``MAX_INT``."""
    top = MAX_INT if hi is None else hi
    bottom = -MAX_INT if lo is None else lo
    cap = "" if hi is not None else f" (at most {MAX_INT})"

    def check(v: Any) -> int:
        if not _is_int(v) or v < bottom or v > top:
            raise ValueError(f"an integer{_range(lo, hi)}{cap}")
        return v

    return check


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" in [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    return f" <= {hi}" if hi is not None else ""


def number(lo: float | None = None, hi: float | None = None) -> Checker:
    """A finite int or float (not a bool, NaN or infinity) in [lo, hi]."""

    def check(v: Any) -> float:
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        if ok:
            try:
                f = float(v)
            except OverflowError:
                ok = False
            else:
                ok = math.isfinite(f) and (lo is None or f >= lo) and (hi is None or f <= hi)
        if not ok:
            raise ValueError(f"a finite number{_range(lo, hi)}")
        return f

    return check


def optional(inner: Checker) -> Checker:
    def check(v: Any) -> Any:
        return None if v is None else inner(v)

    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def choice(*options: str, any_case: bool = False) -> Checker:
    """One of ``options`` as written; ``any_case``: in any case, for the arguments Keras
    lower-cases itself (``padding``: ``standardize_padding``; ``data_format``:
    ``standardize_data_format``; UpSampling2D's ``interpolation``). Returns the option."""

    def check(v: Any) -> str:
        key = v.lower() if any_case and isinstance(v, str) else v
        if not isinstance(key, str) or key not in options:
            case = " (in any case)" if any_case else ""
            raise ValueError(listing(options, VOCABULARY) + case + did_you_mean(v, options))
        return key

    return check


def int_tuple(n: int, lo: int = 1) -> Checker:
    """An int or a list of ``n`` ints (kernel_size, strides, ...), normalised to a tuple."""

    def fits(x: Any) -> bool:
        return _is_int(x) and lo <= x <= MAX_SIZE

    def check(v: Any) -> tuple[int, ...]:
        if fits(v):
            return (v,) * n
        if isinstance(v, list | tuple) and len(v) == n and all(fits(x) for x in v):
            return tuple(v)
        raise ValueError(f"an integer >= {lo} or a list of {n} such integers (at most {MAX_SIZE})")

    return check


def int_list(lo: int | None = None, allow: Iterable[int] = ()) -> Checker:
    allowed = set(allow)

    def check(v: Any) -> tuple[int, ...]:
        ok = isinstance(v, list | tuple) and all(
            _is_int(x) and (x in allowed or lo is None or x >= lo) and abs(x) <= MAX_SIZE for x in v
        )
        if not ok:
            extra = f" (or {sorted(allowed)})" if allowed else ""
            raise ValueError(f"a list of integers{_range(lo, None)}{extra}, at most {MAX_SIZE}")
        return tuple(v)

    return check


def axis_spec(v: Any) -> int | tuple[int, ...]:
    def fits(x: Any) -> bool:
        return _is_int(x) and abs(x) <= MAX_SIZE

    if fits(v):
        return v
    if isinstance(v, list | tuple) and v and all(fits(x) for x in v):
        return tuple(v)
    raise ValueError("an integer axis or a list of integer axes")


def named(names: dict[str, str], null: bool = False) -> Checker:
    """A name as Keras's ``get`` looks it up (case-sensitive) -> tdc's name; or null."""

    def check(v: Any) -> str | None:
        if v is None and null:
            return None
        if not isinstance(v, str) or v not in names:
            tail = " or null" if null else ""
            raise ValueError(f"{listing(names, VOCABULARY)}{tail}{did_you_mean(v, names)}")
        return names[v]

    return check


#: ``keras.activations.get``'s names tdc computes (case-sensitive).
ACTIVATION_NAMES = {n: n for n in (*ACTIVATIONS, *SHAPE_ACTIVATIONS)}
_activation = named(ACTIVATION_NAMES, null=True)


def activation(v: Any) -> str:
    """An activation name as Keras spells it; null is ``linear``."""
    if v in UNCALLABLE_ACTIVATIONS:
        raise ValueError(
            f"{listing(ACTIVATION_NAMES, VOCABULARY)} or null ({v} needs its threshold and "
            "default_value, which Keras cannot pass through an activation name)"
        )
    return _activation(v) or "linear"


def rnn_activation(v: Any) -> str:
    """An activation of a recurrent cell: one that keeps the shape (not glu)."""
    name = activation(v)
    if name in SHAPE_ACTIVATIONS:
        raise ValueError(
            f"{listing(ACTIVATIONS, VOCABULARY)} or null ({name} changes the shape of the "
            "state, which Keras cannot run in a recurrent cell)"
        )
    return name


#: An initialiser as ``keras.initializers.get`` spells it -> tdc's name for it.
initializer = named(INITIALIZER_NAMES)


def dtype_float32(v: Any) -> str:
    if v not in (None, "float32"):
        raise ValueError("float32 or null" + did_you_mean(v, ["float32"]))
    return "float32"


def anything_scalar(v: Any) -> Any:
    if isinstance(v, dict | list):
        raise ValueError("a scalar")
    return v


#: Arguments every Keras layer takes; they do not change inference.
BASE_PARAMS: dict[str, Param] = {
    "trainable": Param(True, boolean),
    "dtype": Param(None, dtype_float32),
}


def training_only(*names: str) -> dict[str, Param]:
    """Regularizers and constraints: accepted, inert at inference."""
    out: dict[str, Param] = {}
    for n in names:
        if n.endswith("regularizer"):
            out[n] = Param(None, named(REGULARIZER_NAMES, null=True))
        elif n.endswith("constraint"):
            out[n] = Param(None, named(CONSTRAINT_NAMES, null=True))
        else:
            raise AssertionError(n)
    return out


def dense_like_training(prefixes: Iterable[str]) -> dict[str, Param]:
    """``<p>_regularizer`` and ``<p>_constraint`` for each prefix, plus activity_regularizer."""
    names = [f"{p}_{k}" for p in prefixes for k in ("regularizer", "constraint")]
    return training_only(*names, "activity_regularizer")
