"""Cancel back-to-back reshapes between TimeDistributed layers.

``fold`` merges batch and time, ``unfold`` splits them again. Two patterns are identities:

Before::  %u = unfold(%y, %ref); %f = fold(%u)         After:: uses of %f read %y
Before::  %f = fold(%x); %u = unfold(%f, %ref)         After:: uses of %u read %x
          (only when %x and %ref share their batch and time dims)

An unfold only reads the batch and time dims of its reference, so a reference that is
itself an unfold's output is replaced by that unfold's reference (this frees dead unfolds):

Before::  %u1 = unfold(%y1, %x); %u2 = unfold(%y2, %u1)   After:: %u2 = unfold(%y2, %x)

A chain of k TimeDistributed layers therefore keeps one fold and one unfold.
"""

from __future__ import annotations

from ..ir.graph import Graph


def cancel_fold(graph: Graph) -> bool:
    changed = False
    for node in list(graph.nodes):
        ref = node.inputs[1].producer if node.op == "unfold" else None
        if ref is not None and ref.op == "unfold":
            graph.set_input(node, 1, ref.inputs[1])
            changed = True
        src = node.inputs[0].producer if node.inputs else None
        if src is None:
            continue
        if node.op == "fold" and src.op == "unfold":
            graph.replace_uses(node.output, src.inputs[0])
            graph.remove(node)
            changed = True
        elif node.op == "unfold" and src.op == "fold":
            x, ref = src.inputs[0], node.inputs[1]
            if x.shape[:2] == ref.shape[:2] and x.shape[2:] == node.output.shape[2:]:
                graph.replace_uses(node.output, x)
                graph.remove(node)
                changed = True
    return changed
