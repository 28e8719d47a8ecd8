"""Argument checkers (``Param`` checks) of the shape operations in ``keras_shape_ops.py``."""

from __future__ import annotations

from typing import Any


def ints(lo: int, what: str, one: bool = True) -> Any:
    """A Param checker: an integer >= ``lo`` (if ``one``) or a list of them."""

    def ok(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= lo and abs(v) < 2**31

    def check(v: Any) -> Any:
        if one and ok(v):
            return v
        if isinstance(v, list | tuple) and all(ok(x) for x in v) and (v or not one):
            return tuple(v)
        raise ValueError(what)

    return check


def newshape_arg(v: Any) -> tuple[int, ...]:
    """reshape's ``newshape``: integers >= 0 and at most one -1."""
    shape = ints(-1, "a list of integers >= 0 and at most one -1")(v)
    shape = shape if isinstance(shape, tuple) else (shape,)
    if shape.count(-1) > 1:
        raise ValueError("a list of integers >= 0 with at most one -1 (Keras's rule)")
    return shape


def axes_arg(v: Any) -> Any:
    """An integer axis or a list of them."""
    return ints(-(2**31), "an integer axis or a list of them")(v)


def perm_arg(v: Any) -> Any:
    """transpose's ``axes``: a list of integer axes."""
    return ints(-(2**31), "a list of integer axes, or null", one=False)(v)


def sections_arg(v: Any) -> Any:
    """split's ``indices_or_sections``: a number of parts or a list of indices."""
    return ints(1, "a number of equal parts >= 1, or a list of split indices")(v)
