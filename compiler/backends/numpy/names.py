"""Identifiers in a generated module: one rule for the values of ``predict`` and ``step``.

A value is named after the layer that produces it (its YAML name made an identifier):

- the layer's result, its last value, takes the plain name (``conv1``); the last mask it
  makes takes ``<layer>_mask``;
- a recurrent layer's states follow its output: ``<layer>_h``, ``<layer>_c``;
- TimeDistributed's merged batch and time: ``<input>_folded`` where the fold begins,
  ``<layer>_folded`` for a layer's result before it is split back into ``<layer>``;
- any other value of the layer says what it is: ``<layer>_reversed``, ``<layer>_backward``,
  ``<layer>_linear`` (before the layer's activation), ...

A name never shadows a function or global of the module, a builtin, or a local of
``predict`` / ``step``; a clash, or a second value with the same name, gets ``_1``, ``_2``.
"""

from __future__ import annotations

import builtins
import keyword
import re
from functools import cache
from pathlib import Path

from ...ir.graph import Graph, Node, Value
from ...ops import get_op

#: Characters of a model's name kept in an identifier (suffixes come on top).
MAX_NAME = 32
#: Locals of ``predict`` and ``step``; ``l``, ``O``, ``I`` read like digits (E741).
LOCALS = frozenset({"feed", "y", "w", "state", "names", "args", "kwargs", "self", "batch", "key"})
AMBIGUOUS = frozenset({"l", "O", "I"})
#: What a layer's value that is not its result is, by the op that makes it.
ROLES = {
    "reverse_time": "reversed",
    "mask_apply": "masked",
    "mask_where": "where",
    "mask_ones": "ones",
    "reshape": "reshaped",
    "transpose": "transposed",
    "concat": "joined",
    "merge": "merged",
    "bidi_merge": "merged",
}
STATE_SUFFIXES = ("h", "c")


class Names:
    """Turns arbitrary strings into unique, safe Python identifiers."""

    def __init__(self, reserved: set[str] | frozenset[str] | None = None) -> None:
        self.used = set(reserved or ()) | set(keyword.kwlist) | {"np", "self"}

    def __call__(self, raw: str, suffix: str = "", prefix: str = "", cap: bool = True) -> str:
        """``prefix`` + ``raw`` (with ``cap``, at most ``MAX_NAME`` characters of it) +
        ``suffix``."""
        base = re.sub(r"\W", "_", raw, flags=re.ASCII)
        base = prefix + (base[:MAX_NAME] if cap else base) + suffix
        if not base or base[0].isdigit():
            base = "_" + base
        if base.startswith("__"):  # a class body would mangle it (``__x`` -> ``_Model__x``)
            base = "n" + base
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


@cache
def module_globals(root: Path) -> frozenset[str]:
    """Names the module templates define at the top level, with NumPy's and ``sys``."""
    found = {"np", "sys"}
    for name in ("module.py.j2", "script.py.j2", "activations.py.j2"):
        text = (root / name).read_text(encoding="utf-8")
        for m in re.finditer(r"^(?:def|class) (\w+)|^(\w+) =", text, re.M):
            found.add(m.group(1) or m.group(2))
    return frozenset(found)


def reserved(root: Path) -> frozenset[str]:
    """What no function or value of a module may be called."""
    return module_globals(root) | frozenset(dir(builtins)) | LOCALS | AMBIGUOUS


def _recurrent(node: Node) -> bool:
    return getattr(get_op(node.op), "n_states", 0) > 0


def value_names(graph: Graph, names: Names, given: dict[int, tuple[str, str]]) -> dict[int, str]:
    """Names of ``graph``'s values by ``id``; ``given``: (name, suffix) of inputs not named
    after themselves (the step form's states)."""
    out = {id(v): names(*given.get(id(v), (v.name, ""))) for v in graph.inputs}
    last: dict[tuple[str, bool], Value] = {}
    for node in graph.nodes:
        last[(node.layer, node.outputs[0].dtype == "bool")] = node.outputs[0]
    users: dict[int, list[Node]] = {}
    for node in graph.nodes:
        for v in node.inputs:
            users.setdefault(id(v), []).append(node)
    for node in graph.nodes:
        raw, suffix = _raw(node, out, last, users.get(id(node.outputs[0]), []))
        out[id(node.outputs[0])] = names(raw, suffix)
        for k, v in enumerate(node.outputs[1:]):
            what = STATE_SUFFIXES[k] if _recurrent(node) and k < 2 else str(k + 1)
            out[id(v)] = names(raw, f"{suffix}_{what}")
    return out


def _raw(
    node: Node, out: dict[int, str], last: dict[tuple[str, bool], Value], users: list[Node]
) -> tuple[str, str]:
    """The layer (or input) a node's first output is named after, and the suffix."""
    v = node.outputs[0]
    mask = v.dtype == "bool"
    if node.op == "fold":
        return out[id(node.inputs[0])], "_folded"
    if last[(node.layer, mask)] is v:
        return node.layer, "_mask" if mask else ""
    ops = {u.op for u in users if u.layer == node.layer}
    if "unfold" in ops:
        return node.layer, "_folded"
    if "act" in ops:
        return node.layer, "_linear"
    if _recurrent(node):
        return node.layer, "_backward" if node.attrs.get("go_backwards") else "_forward"
    return node.layer, "_" + ROLES.get(node.op, node.op.lower())
