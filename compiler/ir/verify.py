"""Checking a graph: topological order, one producer per value, shapes that re-infer the same,
and use lists that match the nodes' inputs (every use listed, nothing stale).

Run after lowering and after every pass (``passes.run_pipeline``); a failure is a bug in
tdc, never bad input, so it raises ``AssertionError``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..ops import get_op
from .graph import Graph, Node, shape_str


def verify(graph: Graph) -> None:
    """Topological order, single producers, shapes that re-infer the same, use lists."""
    known = {id(v) for v in graph.inputs}
    for v in graph.inputs:
        if v.producer is not None:
            raise AssertionError(f"graph input {v!r} records producer {v.producer!r}")
    for n in graph.nodes:
        for v in n.inputs:
            if id(v) not in known:
                raise AssertionError(f"{n!r}: input {v!r} used before it is produced")
        for v in n.outputs:
            if v.producer is not n:
                raise AssertionError(f"{n!r}: output {v!r} records producer {v.producer!r}")
        inferred = get_op(n.op).infer(n)
        for v, (shape, dtype) in zip(n.outputs, inferred, strict=True):
            if tuple(v.shape) != tuple(shape) or v.dtype != dtype:
                raise AssertionError(f"{n!r}: stored {v!r} but infers {shape_str(shape)}")
            if id(v) in known:
                raise AssertionError(f"{v!r} produced twice")
            known.add(id(v))
    for o in graph.outputs:
        if id(o) not in known:
            raise AssertionError(f"graph output {o!r} is not produced")
    _check_uses(graph)


def _check_uses(graph: Graph) -> None:
    """The graph's use lists hold exactly the nodes' ``(node, k)`` input slots."""
    want: dict[int, list[tuple[Node, int]]] = {}
    for n in graph.nodes:
        for k, v in enumerate(n.inputs):
            want.setdefault(id(v), []).append((n, k))
    listed = graph.use_lists()
    for v in [*listed, *(v for n in graph.nodes for v in n.inputs if v not in listed)]:
        have, reads = listed.get(v, ()), want.get(id(v), [])
        if len(have) != len(reads) or {_slot(u) for u in have} != {_slot(u) for u in reads}:
            raise AssertionError(
                f"use list of {v!r} is stale: lists {_uses_text(have)} "
                f"but the nodes read it at {_uses_text(reads)}"
            )


def _slot(use: tuple[Node, int]) -> tuple[int, int]:
    return id(use[0]), use[1]


def _uses_text(uses: Iterable[tuple[Node, int]]) -> str:
    return ", ".join(f"{n.op}[{k}] ({n.layer})" for n, k in uses) or "nothing"
