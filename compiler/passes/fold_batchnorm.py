"""Fold an inference BatchNormalization into the Dense or convolution before it.

With scale = gamma / sqrt(var + eps) and shift = beta - mean * scale on the last axis:

Before::  %c = Conv2D(%x; kernel, bias); %b = BatchNormalization(%c)
After::   %c = Conv2D(%x; kernel * scale, bias * scale + shift)
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node
from ..ops import get_op


def _last_axis(bn: Node) -> bool:
    axis = bn.attrs.get("axis", -1)
    return axis in (-1, bn.inputs[0].rank - 1)


def _foldable(graph: Graph, bn: Node) -> Node | None:
    src = bn.inputs[0].producer
    if src is None or not get_op(src.op).folds_batchnorm:
        return None
    if src.attrs.get("activation", "linear") != "linear" or not _last_axis(bn):
        return None
    if bn.attrs.get("activation", "linear") != "linear":  # fused into the BatchNormalization
        return None
    if graph.is_output(src.output) or len(graph.consumers(src.output)) != 1:
        return None
    return src


def fold_batchnorm(graph: Graph) -> bool:
    changed = False
    for bn in [n for n in graph.nodes if n.op == "BatchNormalization"]:
        src = _foldable(graph, bn)
        if src is None:
            continue
        from ..ops.normalization import bn_scale_shift64

        scale, shift = bn_scale_shift64(bn)  # in float64, rounded once to float32
        kernel = src.weights["kernel"].astype(np.float64)
        bias = src.weights.get("bias", np.zeros(kernel.shape[-1], np.float32)).astype(np.float64)
        src.weights = {
            "kernel": (kernel * scale).astype(np.float32),
            "bias": (bias * scale + shift).astype(np.float32),
        }
        src.attrs = {**src.attrs, "absorbs": [*src.attrs.get("absorbs", ()), (bn.layer, "kernel")]}
        graph.replace_uses(bn.output, src.output)
        graph.remove(bn)
        changed = True
    return changed
