"""Dead-code elimination: drop nodes none of whose outputs is used or returned.

Before::  %a = Dense(%x); %b = Dense(%x); return %b
After::   %b = Dense(%x); return %b
"""

from __future__ import annotations

from ..ir.graph import Graph


def dce(graph: Graph) -> bool:
    changed = False
    for node in reversed(graph.nodes):  # consumers first: removing one frees its inputs
        if not any(graph.uses(v) or graph.is_output(v) for v in node.outputs):
            graph.remove(node)
            changed = True
    return changed
