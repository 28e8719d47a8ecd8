"""The typed graph: values with shapes, nodes that produce them, a graph that owns both.

Shapes are tuples of dims; a dim is an ``int`` or a symbolic ``str`` ("N" for the batch,
"T" for a null time axis, "N*T" once batch and time are merged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TdcError

Dim = int | str
Shape = tuple[Dim, ...]


def dim_mul(a: Dim, b: Dim) -> Dim:
    """Product of two dims, kept symbolic when either is."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1:
        return b
    if b == 1:
        return a
    return f"{a}*{b}"


def shape_str(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def static_size(shape: Shape) -> int | None:
    """Number of elements, or None if a dim is symbolic."""
    n = 1
    for d in shape:
        if not isinstance(d, int):
            return None
        n *= d
    return n


@dataclass(eq=False)
class Value:
    """A tensor flowing between nodes."""

    name: str
    shape: Shape
    dtype: str = "float32"
    producer: Node | None = None

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"%{self.name}{shape_str(self.shape)}"


@dataclass(eq=False)
class Node:
    """One operation; ``layer`` names the YAML layer it came from, ``label`` its Keras form."""

    op: str
    inputs: list[Value]
    outputs: list[Value]
    attrs: dict[str, Any] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    layer: str = ""
    label: str = ""

    @property
    def output(self) -> Value:
        return self.outputs[0]

    def __repr__(self) -> str:
        ins = ", ".join(repr(v) for v in self.inputs)
        outs = ", ".join(repr(v) for v in self.outputs)
        shown = {k: v for k, v in sorted(self.attrs.items()) if v is not None}
        attrs = " ".join(f"{k}={v}" for k, v in shown.items())
        return f"{outs} = {self.op}({ins}) {attrs}  # {self.layer}".rstrip()


class Graph:
    """Nodes in topological order, graph inputs and named graph outputs.

    The graph owns the edges between nodes: each node output's ``producer`` and each
    value's *use list* (the ``(node, k)`` pairs whose input ``k`` reads it) change only
    through the edit methods ``add_node``, ``insert_before`` / ``insert_after``,
    ``remove``, ``replace_uses`` and ``set_input``. ``nodes`` is a read-only tuple, and
    ``ir.verify`` checks that the use lists match the nodes' inputs, so assigning to a
    node's ``inputs`` or ``outputs`` once it is in the graph is a bug that verify reports.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        self.output_names: list[str] = []
        self._nodes: list[Node] = []
        self._view: tuple[Node, ...] | None = ()
        self._members: set[Node] = set()
        self._uses: dict[Value, list[tuple[Node, int]]] = {}
        self._names: set[str] = set()

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The nodes in order (a snapshot: edit the graph through its methods)."""
        if self._view is None:
            self._view = tuple(self._nodes)
        return self._view

    def __contains__(self, node: object) -> bool:
        return node in self._members

    # -- construction -------------------------------------------------------------
    def fresh(self, hint: str) -> str:
        base = hint or "v"
        name, k = base, 1
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def add_input(self, name: str, shape: Shape, dtype: str = "float32") -> Value:
        v = Value(self.fresh(name), tuple(shape), dtype)
        self.inputs.append(v)
        return v

    def add_node(self, node: Node) -> Node:
        """Append ``node``: it produces its outputs and uses its inputs."""
        return self._place(len(self._nodes), node)

    def insert_before(self, anchor: Node, node: Node) -> Node:
        return self._place(self._position(anchor), node)

    def insert_after(self, anchor: Node, node: Node) -> Node:
        return self._place(self._position(anchor) + 1, node)

    def _require(self, node: Node) -> None:
        if node not in self._members:
            raise AssertionError(f"{node!r} is not in graph {self.name}")

    def _position(self, node: Node) -> int:
        self._require(node)
        return next(i for i, n in enumerate(self._nodes) if n is node)

    def _place(self, index: int, node: Node) -> Node:
        if node in self._members:
            raise AssertionError(f"{node!r} is already in graph {self.name}")
        for v in node.outputs:
            if v.producer is not None and v.producer in self._members:
                raise AssertionError(f"{v!r} already has a producer: {v.producer!r}")
            v.producer = node
        for k, v in enumerate(node.inputs):
            self._uses.setdefault(v, []).append((node, k))
        self._nodes.insert(index, node)
        self._members.add(node)
        self._view = None
        return node

    # -- queries ------------------------------------------------------------------
    def uses(self, value: Value) -> tuple[tuple[Node, int], ...]:
        """The ``(node, k)`` pairs whose input ``k`` is ``value``, oldest first."""
        return tuple(self._uses.get(value, ()))

    def consumers(self, value: Value) -> list[Node]:
        """The nodes that read ``value``, each once, in O(uses)."""
        return list(dict.fromkeys(n for n, _ in self._uses.get(value, ())))

    def use_lists(self) -> dict[Value, tuple[tuple[Node, int], ...]]:
        """Every value read by some node, with its uses (what ``verify`` checks)."""
        return {v: tuple(u) for v, u in self._uses.items()}

    def is_output(self, value: Value) -> bool:
        return any(o is value for o in self.outputs)

    def ops(self) -> list[str]:
        return [n.op for n in self._nodes]

    def count(self, op: str) -> int:
        return sum(1 for n in self._nodes if n.op == op)

    # -- rewriting ----------------------------------------------------------------
    def replace_uses(self, old: Value, new: Value) -> None:
        """Point every consumer (and graph output) of ``old`` at ``new``."""
        if old is new:
            return
        moved = self._uses.pop(old, [])
        for node, k in moved:
            node.inputs[k] = new
        if moved:
            self._uses.setdefault(new, []).extend(moved)
        self.outputs = [new if o is old else o for o in self.outputs]

    def set_input(self, node: Node, k: int, value: Value) -> None:
        """Make input ``k`` of ``node`` (a node of this graph) read ``value``."""
        self._require(node)
        self._drop_use(node.inputs[k], node, k)
        node.inputs[k] = value
        self._uses.setdefault(value, []).append((node, k))

    def remove(self, node: Node) -> None:
        """Take ``node`` out: its uses go, and its outputs lose their producer, so a value
        still read elsewhere must be given a new one (a node added with it as output)."""
        del self._nodes[self._position(node)]
        self._members.discard(node)
        self._view = None
        for k, v in enumerate(node.inputs):
            self._drop_use(v, node, k)
        for v in node.outputs:
            if v.producer is node:
                v.producer = None

    def _drop_use(self, value: Value, node: Node, k: int) -> None:
        uses = self._uses[value]
        uses.remove((node, k))
        if not uses:
            del self._uses[value]

    def dump(self) -> str:
        lines = [f"graph {self.name}(" + ", ".join(repr(v) for v in self.inputs) + ")"]
        lines += [f"  {n!r}" for n in self.nodes]
        outs = ", ".join(f"{k}={v!r}" for k, v in zip(self.output_names, self.outputs, strict=True))
        lines.append(f"  return {outs}")
        return "\n".join(lines)


def check_rank(value: Value, ranks: tuple[int, ...], what: str) -> None:
    """Raise a TdcError if ``value`` does not have one of ``ranks``."""
    if value.rank not in ranks:
        want = " or ".join(str(r) for r in ranks)
        raise TdcError(
            f"{what} expects an input of rank {want} (batch included), got {shape_str(value.shape)}"
        )
