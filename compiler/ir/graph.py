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
    """Nodes in topological order, graph inputs and named graph outputs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        self.output_names: list[str] = []
        self.nodes: list[Node] = []
        self._names: set[str] = set()

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
        for v in node.outputs:
            v.producer = node
        self.nodes.append(node)
        return node

    # -- queries ------------------------------------------------------------------
    def consumers(self, value: Value) -> list[Node]:
        return [n for n in self.nodes if any(i is value for i in n.inputs)]

    def is_output(self, value: Value) -> bool:
        return any(o is value for o in self.outputs)

    def ops(self) -> list[str]:
        return [n.op for n in self.nodes]

    def count(self, op: str) -> int:
        return sum(1 for n in self.nodes if n.op == op)

    # -- rewriting ----------------------------------------------------------------
    def replace_uses(self, old: Value, new: Value) -> None:
        """Point every consumer (and graph output) of ``old`` at ``new``."""
        for n in self.nodes:
            n.inputs = [new if i is old else i for i in n.inputs]
        self.outputs = [new if o is old else o for o in self.outputs]

    def remove(self, node: Node) -> None:
        self.nodes = [n for n in self.nodes if n is not node]

    def insert_before(self, anchor: Node, node: Node) -> None:
        for v in node.outputs:
            v.producer = node
        idx = next(i for i, n in enumerate(self.nodes) if n is anchor)
        self.nodes.insert(idx, node)

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
