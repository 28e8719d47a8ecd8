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

from collections.abc import Callable

from ..ir.graph import Graph, Node

_CONVS = ("Conv1D", "Conv2D", "Conv3D", "depthwise_conv")


def sole_user(graph: Graph, pad: Node) -> Node | None:
    """The node that alone reads ``pad``'s output (as its first input), if the padded axes
    are static and the output is not a graph output; else None."""
    x = pad.inputs[0]
    if not all(isinstance(d, int) for d in x.shape[1:-1]) or graph.is_output(pad.output):
        return None
    uses = graph.uses(pad.output)
    return uses[0][0] if len(uses) == 1 and uses[0][1] == 0 else None


def absorb_pad(graph: Graph, pad: Node, node: Node) -> None:
    """Give ``node`` the zero_pad's pads as its own padding and drop the zero_pad."""
    pads = tuple((int(b), int(e)) for b, e in pad.attrs["pads"])
    absorbs = [*node.attrs.get("absorbs", ()), (pad.layer, "fused")]
    node.attrs = {**node.attrs, "padding": pads, "absorbs": absorbs}
    graph.set_input(node, 0, pad.inputs[0])
    graph.remove(pad)


def _target(graph: Graph, pad: Node) -> Node | None:
    conv = sole_user(graph, pad)
    if conv is None or conv.op not in _CONVS or conv.attrs.get("padding") != "valid":
        return None
    return conv


def absorb_pads(graph: Graph, target: Callable[[Graph, Node], Node | None]) -> bool:
    """Let each zero_pad's ``target`` (None: none) take its pads; did any?"""
    changed = False
    for pad in [n for n in graph.nodes if n.op == "zero_pad"]:
        node = target(graph, pad)
        if node is not None:
            absorb_pad(graph, pad, node)
            changed = True
    return changed


def fuse_pad(graph: Graph) -> bool:
    return absorb_pads(graph, _target)
