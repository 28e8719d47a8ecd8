"""Checkers for Keras constructor arguments.

Each checker takes the raw YAML value and returns it normalised (tuples for
sizes, lowercase strings) or raises ``ValueError`` whose text says what is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Checker = Callable[[Any], Any]

#: Default of an argument Keras requires (Dense's ``units``).
REQUIRED = object()

ACTIVATIONS = (
    "linear", "relu", "relu6", "sigmoid", "hard_sigmoid", "tanh", "softmax", "softplus",
    "softsign", "elu", "selu", "gelu", "silu", "swish", "exponential", "leaky_relu", "mish",
    "log_softmax", "hard_silu", "hard_swish",
)  # fmt: skip

INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "zeros", "ones", "orthogonal", "random_normal", "random_uniform",
    "truncated_normal", "identity",
)  # fmt: skip

REGULARIZERS = ("l1", "l2", "l1l2", "orthogonal_regularizer")
CONSTRAINTS = ("max_norm", "min_max_norm", "non_neg", "unit_norm")


@dataclass(frozen=True)
class Param:
    """One constructor argument: its Keras default and its checker."""

    default: Any
    check: Checker


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def integer(lo: int | None = None, hi: int | None = None) -> Checker:
    def check(v: Any) -> int:
        if not _is_int(v) or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValueError(f"an integer{_range(lo, hi)}")
        return v

    return check


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" in [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    return f" <= {hi}" if hi is not None else ""


def number(lo: float | None = None, hi: float | None = None) -> Checker:
    def check(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"a number{_range(lo, hi)}")
        if (lo is not None and v < lo) or (hi is not None and v > hi) or v != v:
            raise ValueError(f"a number{_range(lo, hi)}")
        return float(v)

    return check


def optional(inner: Checker) -> Checker:
    def check(v: Any) -> Any:
        return None if v is None else inner(v)

    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def choice(*options: str) -> Checker:
    def check(v: Any) -> str:
        if not isinstance(v, str) or v.lower() not in options:
            raise ValueError(", ".join(options))
        return v.lower()

    return check


def int_tuple(n: int, lo: int = 1) -> Checker:
    """An int or a list of ``n`` ints (kernel_size, strides, ...), normalised to a tuple."""

    def check(v: Any) -> tuple[int, ...]:
        if _is_int(v) and v >= lo:
            return (v,) * n
        if isinstance(v, list | tuple) and len(v) == n and all(_is_int(x) and x >= lo for x in v):
            return tuple(v)
        raise ValueError(f"an integer >= {lo} or a list of {n} such integers")

    return check


def int_list(lo: int | None = None, allow: Iterable[int] = ()) -> Checker:
    allowed = set(allow)

    def check(v: Any) -> tuple[int, ...]:
        ok = isinstance(v, list | tuple) and all(
            _is_int(x) and (x in allowed or lo is None or x >= lo) for x in v
        )
        if not ok:
            extra = f" (or {sorted(allowed)})" if allowed else ""
            raise ValueError(f"a list of integers{_range(lo, None)}{extra}")
        return tuple(v)

    return check


def axis_spec(v: Any) -> int | tuple[int, ...]:
    if _is_int(v):
        return v
    if isinstance(v, list | tuple) and v and all(_is_int(x) for x in v):
        return tuple(v)
    raise ValueError("an integer axis or a list of integer axes")


def activation(v: Any) -> str:
    if v is None:
        return "linear"
    if not isinstance(v, str) or v.lower() not in ACTIVATIONS:
        raise ValueError(", ".join(ACTIVATIONS) + " or null")
    return v.lower()


def initializer(v: Any) -> str:
    if not isinstance(v, str) or v.lower() not in INITIALIZERS:
        raise ValueError(", ".join(INITIALIZERS))
    return v.lower()


def _named_or_null(names: tuple[str, ...]) -> Checker:
    def check(v: Any) -> str | None:
        if v is None:
            return None
        if not isinstance(v, str) or v.lower() not in names:
            raise ValueError(", ".join(names) + " or null")
        return v.lower()

    return check


def dtype_float32(v: Any) -> str:
    if v not in (None, "float32"):
        raise ValueError("float32 or null")
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
            out[n] = Param(None, _named_or_null(REGULARIZERS))
        elif n.endswith("constraint"):
            out[n] = Param(None, _named_or_null(CONSTRAINTS))
        else:
            raise AssertionError(n)
    return out


def dense_like_training(prefixes: Iterable[str]) -> dict[str, Param]:
    """``<p>_regularizer`` and ``<p>_constraint`` for each prefix, plus activity_regularizer."""
    names = [f"{p}_{k}" for p in prefixes for k in ("regularizer", "constraint")]
    return training_only(*names, "activity_regularizer")
