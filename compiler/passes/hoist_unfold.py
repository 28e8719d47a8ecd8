"""Move ``unfold`` below a merge whose inputs are all unfolded against the same reference.

A merge of TimeDistributed branches whose folds cannot sink away (Conv1D, ...) gives the
same result on (N*T, *S) as on (N, T, *S) when every input carries the same batch and
time, so it can run folded; the ``fold`` of a following TimeDistributed layer then meets
the ``unfold`` and ``cancel_fold`` removes both. Branches that sink_fold can still clear
(TimeDistributed(Dense)) are left to it.

Before::  %u1 = unfold(%y1, %x); %u2 = unfold(%y2, %x); %c = concat(%u1, %u2) axis=3
After::   %c' = concat(%y1, %y2) axis=2; %c = unfold(%c', %x)
"""

from __future__ import annotations

from ..ir.graph import Graph, Node, Value
from ..ops import get_op
from .sink_fold import _movable

HOISTABLE = {"merge", "concat"}


def _hoistable(node: Node) -> list[Node] | None:
    if node.op not in HOISTABLE or (node.op == "concat" and node.attrs["axis"] < 2):
        return None
    srcs = [v.producer for v in node.inputs]
    if any(s is None or s.op != "unfold" for s in srcs):
        return None
    ref = srcs[0].inputs[1]  # type: ignore[union-attr]
    if any(s.inputs[1] is not ref or s.output.rank != node.output.rank for s in srcs):  # type: ignore[union-attr]
        return None
    if any(_pending_fold(s.inputs[0]) for s in srcs):  # type: ignore[union-attr]
        return None  # sink_fold and cancel_fold will remove that unfold instead
    return srcs  # type: ignore[return-value]


def _pending_fold(v: Value) -> bool:
    """``v`` comes from a fold through ops that sink_fold can still move the fold past."""
    p = v.producer
    while p is not None and p.op != "fold" and _movable(p):
        p = p.inputs[0].producer
    return p is not None and p.op == "fold"


def hoist_unfold(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        srcs = _hoistable(node)
        if srcs is None:
            continue
        attrs = dict(node.attrs)
        if node.op == "concat":
            attrs["axis"] -= 1
        inner = Node(node.op, [s.inputs[0] for s in srcs], [], attrs, layer=node.layer)
        inner.label = node.label
        ((shape, dtype),) = get_op(node.op).infer(inner)
        inner.outputs.append(Value(graph.fresh(node.output.name), tuple(shape), dtype))
        graph.insert_before(node, inner)
        ref = srcs[0].inputs[1]
        unfold = Node("unfold", [inner.output, ref], [node.output], layer=node.layer)
        unfold.label = node.label
        graph.remove(node)  # node.output loses its producer; the unfold takes it over
        graph.insert_after(inner, unfold)
        changed = True
    return changed
