"""Fold an inference BatchNormalization into the Dense or convolution after it.

With scale = gamma / sqrt(var + eps) and shift = beta - mean * scale on the last axis, the
consumer sees ``x * scale + shift``; its kernel ``(..., cin, cout)`` takes the scale on its
input-channel axis and the shift, pushed through the kernel, joins the bias:

Before::  %b = BatchNormalization(%x); %y = Dense(%b; kernel, bias)
After::   %y = Dense(%x; kernel * scale[:, None], bias + sum(shift[:, None] * kernel))

Exact for a Dense (every input feature meets the whole kernel) and for a convolution
whose windows never reach padding (``padding="valid"``, or a 1-tap 'same'): a zero pad
of the BatchNormalization's output is not the shifted zero of its input, so a padded
convolution, or one with groups, keeps its BatchNormalization.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node
from ..ops import get_op

_CONSUMERS = ("Dense", "Conv1D", "Conv2D", "Conv3D")


def _unpadded(node: Node) -> bool:
    if node.op == "Dense":
        return True
    if node.attrs.get("groups", 1) != 1:
        return False
    win = get_op(node.op).window(node)  # type: ignore[attr-defined]
    return not any(b or e for b, e in win.pads)


def _target(graph: Graph, bn: Node) -> Node | None:
    x = bn.inputs[0]
    if bn.attrs.get("axis", -1) not in (-1, x.rank - 1) or graph.is_output(bn.output):
        return None
    if bn.attrs.get("activation", "linear") != "linear":  # an activation fused into it
        return None
    uses = graph.uses(bn.output)
    if len(uses) != 1 or uses[0][1] != 0:
        return None
    dst = uses[0][0]
    if dst.op not in _CONSUMERS or len(dst.inputs) != 1 or not _unpadded(dst):
        return None
    return dst


def fold_batchnorm_forward(graph: Graph) -> bool:
    from ..ops.normalization import bn_scale_shift64

    changed = False
    for bn in [n for n in graph.nodes if n.op == "BatchNormalization"]:
        dst = _target(graph, bn)
        if dst is None:
            continue
        scale, shift = bn_scale_shift64(bn)  # float64, rounded once to float32 below
        kernel = dst.weights["kernel"].astype(np.float64)
        cout = kernel.shape[-1]
        bias = dst.weights.get("bias", np.zeros(cout, np.float32)).astype(np.float64)
        pushed = (kernel * shift[:, None]).reshape(-1, cout).sum(axis=0)
        dst.weights = {
            **dst.weights,
            "kernel": (kernel * scale[:, None]).astype(np.float32),
            "bias": (bias + pushed).astype(np.float32),
        }
        dst.attrs = {**dst.attrs, "absorbs": [*dst.attrs.get("absorbs", ()), (bn.layer, "kernel")]}
        graph.set_input(dst, 0, bn.inputs[0])
        graph.remove(bn)
        changed = True
    return changed
