"""A layer entry's arguments: each checked by its ``Param``, defaults filled in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import did_you_mean, listing, short
from .inputs import _kl, _line
from .params import BASE_PARAMS, REQUIRED, Param

if TYPE_CHECKING:
    from ..ir.registry import OpDef
    from .wiring import Err


def check_args(err: Err, op: OpDef, args: dict, entry: dict, name: str) -> dict[str, Any]:
    """A layer's arguments checked against its op's ``params`` (each a ``Param``), Keras's
    defaults filled in, then checked against each other (``op.check_attrs``)."""
    line = _line(entry)
    base = BASE_PARAMS if op.operands is None else {}  # a function: no layer arguments
    params: dict[str, Param] = {**base, **(op.params or {})}
    names = ["name", *params] + (["inputs"] if not op.wrapper else [])
    attrs: dict[str, Any] = {}
    for key, value in args.items():
        if op.wrapper and key == "layer":
            continue
        if key not in params:
            err(
                f"{op.name}: unknown argument {short(key)}" + did_you_mean(key, names, close=True),
                _kl(entry, key),
                name,
                accepted=listing(names),
            )
        try:
            attrs[key] = params[key].check(value)
        except ValueError as e:
            err(
                f"{op.name}: bad value {short(value)} for '{key}'",
                _kl(entry, key),
                name,
                accepted=str(e),
            )
    for key, p in params.items():
        if key not in attrs:
            if p.default is REQUIRED:
                err(f"{op.name}: missing required argument '{key}'", line, name)
            attrs[key] = p.default
    try:
        op.check_attrs(attrs)
    except ValueError as e:
        err(f"{op.name}: {e}", line, name)
    return attrs
