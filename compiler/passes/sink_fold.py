"""Move ``fold`` below ops that act on the last axis only, so Dense runs on any rank.

Dense, elementwise activations, PReLU and identity give the same result on (N, T, *S)
as on (N*T, *S). Sinking the fold past them lets ``cancel_fold`` remove it.

Before::  %f = fold(%x); %d = Dense(%f); %u = unfold(%d, %x)
After::   %d' = Dense(%x); %f = fold(%d'); %u = unfold(%f, %x)   (then cancel_fold: %d')
"""

from __future__ import annotations

from dataclasses import replace

from ..ir.graph import Graph, Node, Value
from ..ops import get_op


def _movable(node: Node) -> bool:
    """The op says so (``OpDef.sinks_fold``: ``last_axis_only``, or an activation)."""
    return get_op(node.op).sinks_fold(node)


def sink_fold(graph: Graph) -> bool:
    changed = False
    for fold in [n for n in graph.nodes if n.op == "fold"]:
        users = graph.consumers(fold.output)
        if len(users) != 1 or graph.is_output(fold.output) or not _movable(users[0]):
            continue
        op = users[0]
        old_out = op.output
        moved = replace(op, inputs=[fold.inputs[0]], outputs=[])  # one input (sinks_fold)
        (shape, dtype), *_ = get_op(op.op).infer(moved)
        moved.outputs.append(Value(graph.fresh(old_out.name), tuple(shape), dtype))
        graph.insert_before(op, moved)
        graph.remove(op)  # old_out loses its producer; the new fold takes it over
        graph.remove(fold)
        new_fold = Node("fold", [moved.output], [old_out], layer=fold.layer, label=fold.label)
        graph.insert_after(moved, new_fold)
        changed = True
    return changed
