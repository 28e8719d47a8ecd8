"""MultiHeadAttention's argument checkers (``Param`` checkers, ``frontend/params.py``)."""

from __future__ import annotations

from typing import Any

from ..frontend.params import integer

ATTENTION_AXES = (
    "null, 1, -2, [1] or [-2] (the time axis of (batch, time, features); attention over "
    "more axes, or over inputs of rank above 3, is not supported)"
)


def only_false(what: str) -> Any:
    def check(v: Any) -> bool:
        if v is not False:
            raise ValueError(f"false ({what} is not supported)")
        return False

    return check


def none_only(what: str) -> Any:
    def check(v: Any) -> None:
        if v is not None:
            raise ValueError(f"null ({what} is not supported)")

    return check


def output_shape(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, list | tuple) and len(v) == 1:
        v = v[0]
    return integer(lo=1)(v) if not isinstance(v, list | tuple) else _bad_output_shape()


def _bad_output_shape() -> int:
    raise ValueError("null, a positive integer or a list of one positive integer")


def axes(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, list | tuple) and len(v) == 1:
        v = v[0]
    if v in (1, -2) and not isinstance(v, bool):
        return 1
    raise ValueError(ATTENTION_AXES)
