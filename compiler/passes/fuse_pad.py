"""Fuse a ZeroPadding into the valid convolution after it, as the convolution's own pads.

keras.applications pad before strided convolutions (ResNet50's ``conv1_pad``, the
MobileNets' ``block_*_pad``). As a separate ONNX ``Pad`` in front of the input Transpose
onnxruntime cannot fuse it into the Conv, and the NumPy module would pad twice; a
convolution with explicit pads does the zero padding itself:

Before::  %p = zero_pad(%x) pads=((3, 3), (3, 3)); %c = Conv2D(%p) padding=valid
After::   %c = Conv2D(%x) padding=((3, 3), (3, 3))

Only where the padded axes are static (never a null time axis, which streaming steps
through) and the zero_pad's output feeds the convolution alone.
"""

from __future__ import annotations

from ..ir.graph import Graph, Node

_CONVS = ("Conv1D", "Conv2D", "Conv3D", "depthwise_conv")


def _target(graph: Graph, pad: Node) -> Node | None:
    x = pad.inputs[0]
    if not all(isinstance(d, int) for d in x.shape[1:-1]) or graph.is_output(pad.output):
        return None
    uses = graph.uses(pad.output)
    if len(uses) != 1 or uses[0][1] != 0:
        return None
    conv = uses[0][0]
    if conv.op not in _CONVS or conv.attrs.get("padding") != "valid":
        return None
    return conv


def fuse_pad(graph: Graph) -> bool:
    changed = False
    for pad in [n for n in graph.nodes if n.op == "zero_pad"]:
        conv = _target(graph, pad)
        if conv is None:
            continue
        pads = tuple((int(b), int(e)) for b, e in pad.attrs["pads"])
        absorbs = [*conv.attrs.get("absorbs", ()), (pad.layer, "fused")]
        conv.attrs = {**conv.attrs, "padding": pads, "absorbs": absorbs}
        graph.set_input(conv, 0, pad.inputs[0])
        graph.remove(pad)
        changed = True
    return changed
