"""Checking a graph: topological order, one producer per value, shapes that re-infer the same.

Run after lowering and after every pass (``passes.run_pipeline``); a failure is a bug in
tdc, never bad input, so it raises ``AssertionError``.
"""

from __future__ import annotations

from ..ops import get_op
from .graph import Graph, shape_str


def verify(graph: Graph) -> None:
    """Topological order, single producers, and shapes that re-infer the same."""
    known = {id(v) for v in graph.inputs}
    for n in graph.nodes:
        for v in n.inputs:
            if id(v) not in known:
                raise AssertionError(f"{n!r}: input {v!r} used before it is produced")
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
