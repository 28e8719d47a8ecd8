"""Fold an inference BatchNormalization into the DepthwiseConv / SeparableConv before it.

With scale = gamma / sqrt(var + eps) and shift = beta - mean * scale on the last axis.
A depthwise kernel ``(*taps, cin, mult)`` makes output channel ``c * mult + m``, so the
scale reshaped to ``(cin, mult)`` scales it; a separable convolution scales its pointwise
kernel ``(1.., cin * mult, filters)`` on the last axis instead:

Before::  %d = depthwise_conv(%x; kernel, bias); %b = BatchNormalization(%d)
After::   %d = depthwise_conv(%x; kernel * scale.reshape(cin, mult), bias * scale + shift)

Before::  %d = depthwise_conv(%x; depthwise_kernel, pointwise_kernel, bias)
          %b = BatchNormalization(%d)
After::   %d = depthwise_conv(%x; depthwise_kernel, pointwise_kernel * scale,
                              bias * scale + shift)
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node


def _source(graph: Graph, bn: Node) -> Node | None:
    src = bn.inputs[0].producer
    if src is None or src.op != "depthwise_conv":
        return None
    # an activation between them, or one fused into the BatchNormalization
    if {src.attrs.get("activation", "linear"), bn.attrs.get("activation", "linear")} != {"linear"}:
        return None
    if bn.attrs.get("axis", -1) not in (-1, bn.inputs[0].rank - 1):
        return None
    if graph.is_output(src.output) or len(graph.consumers(src.output)) != 1:
        return None
    return src


def fold_batchnorm_depthwise(graph: Graph) -> bool:
    from ..ops.normalization import bn_scale_shift64

    changed = False
    for bn in [n for n in graph.nodes if n.op == "BatchNormalization"]:
        src = _source(graph, bn)
        if src is None:
            continue
        scale, shift = bn_scale_shift64(bn)  # float64, rounded once to float32 below
        w = dict(src.weights)
        if "pointwise_kernel" in w:
            pw = w["pointwise_kernel"].astype(np.float64)
            w["pointwise_kernel"] = (pw * scale).astype(np.float32)
        else:
            key = "depthwise_kernel" if "depthwise_kernel" in w else "kernel"
            dw = w[key].astype(np.float64)
            w[key] = (dw * scale.reshape(dw.shape[-2:])).astype(np.float32)
        bias = w.get("bias", np.zeros(scale.shape, np.float32)).astype(np.float64)
        w["bias"] = (bias * scale + shift).astype(np.float32)
        src.weights = w
        src.attrs = {**src.attrs, "absorbs": [*src.attrs.get("absorbs", ()), (bn.layer, "kernel")]}
        graph.replace_uses(bn.output, src.output)
        graph.remove(bn)
        changed = True
    return changed
