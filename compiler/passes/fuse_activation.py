"""Fuse an activation into the op that produces its input.

Before::  %c = Conv2D(%x); %r = act(%c) kind=relu
After::   %r = Conv2D(%x) activation=relu

The fused op applies the activation itself (ONNX: right after its nodes, where
onnxruntime fuses them; NumPy: in the op's function, on its own buffer).
"""

from __future__ import annotations

from ..ir.graph import Graph
from ..ops import get_op


def fuse_activation(graph: Graph) -> bool:
    changed = False
    for act in [n for n in graph.nodes if n.op == "act"]:
        src = act.inputs[0].producer
        if src is None or not get_op(src.op).fuses_activation:
            continue
        if src.attrs.get("activation", "linear") != "linear":
            continue
        if graph.is_output(src.output) or len(graph.consumers(src.output)) != 1:
            continue
        if act.output.shape != src.output.shape:  # glu halves an axis
            continue
        params = {k: v for k, v in act.attrs.items() if k != "kind"}
        # a fresh dict: another graph built from this one may share the old one
        src.attrs = {**src.attrs, "activation": act.attrs["kind"], "act_params": params}
        src.attrs = {**src.attrs, "absorbs": [*src.attrs.get("absorbs", ()), (act.layer, "fused")]}
        graph.replace_uses(act.output, src.output)
        graph.remove(act)
        changed = True
    return changed
