"""Dead-code elimination: drop nodes none of whose outputs is used or returned.

Before::  %a = Dense(%x); %b = Dense(%x); return %b
After::   %b = Dense(%x); return %b
"""

from __future__ import annotations

from ..ir.graph import Graph


def dce(graph: Graph) -> bool:
    live = {id(v) for v in graph.outputs}
    keep = []
    for node in reversed(graph.nodes):
        if any(id(v) in live for v in node.outputs):
            keep.append(node)
            live.update(id(v) for v in node.inputs)
    changed = len(keep) != len(graph.nodes)
    graph.nodes = list(reversed(keep))
    return changed
