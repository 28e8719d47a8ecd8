"""Drop inference no-ops: ``identity`` nodes (Dropout, GaussianNoise, ...) vanish.

Before::  %a = Dense(%x); %b = identity(%a); %c = act(%b)
After::   %a = Dense(%x); %c = act(%a)
"""

from __future__ import annotations

from ..ir.graph import Graph


def drop_noops(graph: Graph) -> bool:
    changed = False
    for node in [n for n in graph.nodes if n.op == "identity"]:
        graph.replace_uses(node.output, node.inputs[0])
        graph.remove(node)
        changed = True
    return changed
