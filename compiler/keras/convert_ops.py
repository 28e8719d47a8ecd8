"""``tdc import`` of a functional model's Keras operations: ``x * 0.5``,
``keras.ops.relu6(x + 3)``, ``keras.ops.concatenate([...])``, ``x[:, :4]``.

In a Keras 3 functional model these are ``keras.src.ops`` ``Operation`` objects, not
layers: the operation's constructor arguments are its ``get_config()`` (``axis``,
``keepdims``, ``newshape``, ``subscripts``...) and its call is its inbound node, whose
arguments hold the tensors and the constants (Python numbers, NumPy arrays). Each becomes
one ``ops.<name>`` entry (the class name in snake case: ``Multiply`` -> ``ops.multiply``,
``GetItem`` -> ``ops.getitem``): the call's arguments in order as ``inputs:`` (a list
argument, concatenate's and stack's, spelled out), constants as numbers and lists of
numbers, the config's arguments that differ from the default as keyword arguments, and
getitem's key as a string in Python's indexing syntax. Anything else is refused by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..frontend.params import Param
from ..frontend.wiring import MAX_CONSTANT, is_constant, snake_case
from ..ops import get_op
from .call import ref
from .config import plain

if TYPE_CHECKING:
    from .convert import Converter

#: Operation classes whose snake-case name is not tdc's (``keras.ops`` spells them so).
ALIASES = {"absolute": "abs", "get_item": "getitem"}


def operation_entry(conv: Converter, graph: Any, op: Any, previous: str | None) -> dict | None:
    """The model-file entry of the Keras operation ``op``, or None (refused)."""
    typ = type(op).__name__
    kind = "ops." + ALIASES.get(snake_case(typ), snake_case(typ))
    if not type(op).__module__.startswith("keras.src.ops.") or kind not in conv.types:
        conv.refuse(op.name, typ, "Keras operation not supported")
        return None
    nodes = [n for i, n in enumerate(op._inbound_nodes) if f"{id(op)}_ib-{i}" in graph._nodes]
    if len(nodes) != 1:
        why = f"used {len(nodes)} times (shared operations are not supported)"
        conv.refuse(op.name, typ, why)
        return None
    node = nodes[0]
    if any(v is not None for v in node.arguments.kwargs.values()):
        conv.refuse(op.name, typ, "called with keyword arguments")
        return None
    args = list(node.arguments.args)
    entry: dict[str, Any] = {"name": op.name, "type": kind}
    key = None
    if kind == "ops.getitem":
        key = _key(args[1]) if len(args) == 2 else None
        if key is None:
            conv.refuse(op.name, typ, "an index that is not made of integers, slices, None, ...")
            return None
        args = args[:1]
    operands = _operands(get_op(kind).operands or (), args)
    inputs = [_operand(a) for a in operands]
    bad = [a for a, o in zip(operands, inputs, strict=True) if o is None]
    if bad:
        conv.refuse(op.name, typ, f"an operand tdc cannot write: {_kind(bad[0])}")
        return None
    entry["inputs"] = inputs
    if key is not None:
        entry["key"] = key
    entry |= _arguments(conv, op, kind)
    return entry


def _operands(names: tuple[str, ...], args: list[Any]) -> list[Any]:
    """The call's arguments in order, a list argument (``*xs``) spelled out."""
    if names and names[-1].startswith("*") and len(names) == 1 and len(args) == 1:
        if isinstance(args[0], list | tuple):
            return list(args[0])
    return args


def _operand(a: Any) -> Any:
    """A tensor's reference, a constant as a number or a (nested) list; None: neither."""
    if hasattr(a, "_keras_history"):
        return ref(a)
    if isinstance(a, np.generic) and not isinstance(a, np.bool_):
        a = a.item()
    elif isinstance(a, np.ndarray) and a.dtype.kind in "iuf" and a.size <= MAX_CONSTANT:
        a = a.tolist()
    return a if is_constant(a) and not isinstance(a, bool) else None


def _kind(a: Any) -> str:
    if isinstance(a, np.ndarray):
        return f"an array of {a.dtype} {a.shape}"
    return type(a).__name__


def _arguments(conv: Converter, op: Any, kind: str) -> dict[str, Any]:
    """The operation's config as keyword arguments: those tdc accepts, not the default."""
    params: dict[str, Param] = get_op(kind).params or {}
    out: dict[str, Any] = {}
    for key, raw in op.get_config().items():
        if key == "name":
            continue
        value = plain(raw)
        if key not in params:
            if value is not None:
                why = f"argument {key}={value!r} is not supported"
                conv.refuse(op.name, type(op).__name__, why)
            continue
        if conv.accepts(op.name, type(op).__name__, key, value, params[key]):
            out[key] = value
    return out


def _key(key: Any) -> str | None:
    """``x[key]``'s key in Python's indexing syntax; None if it holds anything else."""
    entries = list(key) if isinstance(key, list | tuple) else [key]
    parts = []
    for e in entries:
        if e is None:
            parts.append("None")
        elif e is Ellipsis:
            parts.append("...")
        elif isinstance(e, slice):
            bounds = [_index(v) for v in (e.start, e.stop, e.step)]
            if "?" in bounds:
                return None
            parts.append(f"{bounds[0]}:{bounds[1]}" + (f":{bounds[2]}" if bounds[2] else ""))
        else:
            i = _index(e)
            if i in ("", "?"):
                return None
            parts.append(i)
    return "[" + ", ".join(parts) + "]"


def _index(v: Any) -> str:
    """An integer as text, None as "", anything else "?"."""
    if v is None:
        return ""
    if isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_):
        return str(int(v))
    return "?"
