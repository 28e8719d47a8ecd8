"""``ops.getitem``'s ``key``: Python's indexing syntax, parsed as data and never evaluated.

``key: "[:, :, :4]"`` is ``x[:, :, :4]``. Between the brackets, separated by commas: a slice
``start:stop:step`` of integer literals (each part optional, negative numbers allowed), an
integer index (drops its axis), ``None`` (a new axis of size 1) and ``...`` (as many
whole axes as the others leave, at most once). The text is parsed with
``ast.parse(mode="eval")`` and its tree walked with a whitelist of these forms; anything
else (names, calls, arithmetic, strings, booleans, nested subscripts) is refused.

The parsed key is a tuple of entries, one per axis of the result or of the input:
``("slice", start, stop, step)`` (None for an omitted part), ``("index", i)`` and
``("new",)``; ``expand`` replaces ``...`` by whole slices for an input of a given rank.
"""

from __future__ import annotations

import ast
from typing import Any

from ..errors import TdcError
from ..ir.graph import Dim, Shape, shape_str

#: The longest key accepted.
MAX_KEY = 1000
ACCEPTED = (
    'Python indexing in brackets, e.g. "[:, :, :4]", "[..., 1:-1:2]", "[:, None, 0]": '
    "integer slices start:stop:step, integer indices, None and ... (once)"
)
Entry = tuple[Any, ...]
ALL: Entry = ("slice", None, None, None)
ELLIPSIS: Entry = ("...",)


def parse_key(text: Any) -> tuple[Entry, ...]:
    """The entries of ``text`` (``...`` kept as ``ELLIPSIS``); ValueError if not accepted."""
    if not isinstance(text, str) or len(text) > MAX_KEY:
        raise ValueError(ACCEPTED)
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")) or "\n" in body:
        raise ValueError(ACCEPTED)
    try:
        tree = ast.parse("x" + body, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValueError(ACCEPTED) from None
    sub = tree.body
    if not isinstance(sub, ast.Subscript) or not _is_x(sub.value):
        raise ValueError(ACCEPTED)
    parts = sub.slice.elts if isinstance(sub.slice, ast.Tuple) else [sub.slice]
    entries = tuple(_entry(p) for p in parts)
    if entries.count(ELLIPSIS) > 1:
        raise ValueError(ACCEPTED + ": '...' given twice")
    return entries


def _is_x(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "x"


def _entry(node: ast.AST) -> Entry:
    if isinstance(node, ast.Slice):
        return ("slice", _int(node.lower), _int(node.upper), _int(node.step))
    if isinstance(node, ast.Constant) and node.value is None:
        return ("new",)
    if isinstance(node, ast.Constant) and node.value is Ellipsis:
        return ELLIPSIS
    value = _int(node)
    if value is None:
        raise ValueError(ACCEPTED)
    return ("index", value)


def _int(node: ast.AST | None) -> int | None:
    """An integer literal, possibly negative; None for an omitted slice part."""
    if node is None:
        return None
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) < 2**62:
        return sign * node.value
    raise ValueError(ACCEPTED)


def expand(entries: tuple[Entry, ...], rank: int) -> tuple[Entry, ...]:
    """``entries`` for an input of ``rank`` axes, ``...`` and the trailing axes spelled out
    as whole slices; a TdcError when they name more axes than there are."""
    used = sum(1 for e in entries if e[0] in ("slice", "index"))
    if used > rank:
        raise TdcError(
            f"ops.getitem: the key indexes {used} axes, the input has {rank} "
            "(the batch axis included)"
        )
    fill = (ALL,) * (rank - used)
    if ELLIPSIS in entries:
        k = entries.index(ELLIPSIS)
        return entries[:k] + fill + entries[k + 1 :]
    return entries + fill


def key_text(entries: tuple[Entry, ...]) -> str:
    """The key as Python text, from its entries (integers and None only)."""
    parts = []
    for e in entries:
        if e[0] == "slice":
            start, stop, step = ("" if v is None else str(v) for v in e[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif e[0] == "index":
            parts.append(str(e[1]))
        else:
            parts.append("None")
    return "[" + ", ".join(parts) + "]"


def is_whole(e: Entry) -> bool:
    """A slice that keeps its axis as it is."""
    return e[0] == "slice" and e[1] in (None, 0) and e[2] is None and e[3] in (None, 1)


def out_shape(entries: tuple[Entry, ...], shape: Shape) -> Shape:
    """The shape of ``x[key]`` for ``x`` of ``shape`` (``entries`` expanded)."""
    out: list[Dim] = []
    axis = 0
    for e in entries:
        if e[0] == "new":
            out.append(1)
            continue
        d = shape[axis]
        if e[0] == "slice":
            out.append(_sliced(e, d, axis))
        elif isinstance(d, int) and not -d <= e[1] < d:
            raise TdcError(
                f"ops.getitem: index {e[1]} is out of range for axis {axis} of size {d} "
                f"(input {shape_str(shape)})"
            )
        axis += 1
    return tuple(out)


def _sliced(e: Entry, d: Dim, axis: int) -> Dim:
    if e[3] == 0:
        raise TdcError(f"ops.getitem: slice step 0 on axis {axis}", accepted="a non-zero step")
    if is_whole(e):
        return d
    if isinstance(d, int):
        return len(range(*slice(*e[1:]).indices(d)))
    start, stop, step = ("" if v is None else str(v) for v in e[1:])
    return f"{d}[{start}:{stop}" + (f":{step}]" if step else "]")
