"""ONNX lowering of the recurrent ops (SimpleRNN, LSTM, GRU; ``OpDef.onnx_lowering ==
"recurrent"``): ONNX's native op when it has the layer's activations, with a masked layer's
valid steps moved to the front (``rnn_compact``); a Scan loop with the cell written out
otherwise (``rnn_scan``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...ops import get_op
from ...ops.activations import apply_fused
from .conv_lstm import lower_conv_lstm
from .rnn import RNN_ACTIVATIONS, lower_onnx
from .rnn_compact import lower_onnx_compacted
from .rnn_scan import lower_onnx_scan

if TYPE_CHECKING:
    from ...ir.graph import Node
    from .build import OnnxBuilder


def native(node: Node) -> bool:
    """ONNX's own RNN/LSTM/GRU op applies these activations exactly."""
    kinds = {node.attrs["act"], node.attrs.get("recurrent_act", "tanh")}
    return kinds <= set(RNN_ACTIVATIONS)


def lower_recurrent(g: OnnxBuilder, node: Node) -> None:
    onnx_op = get_op(node.op).onnx_op
    if not native(node):  # a Scan loop with the cell written out
        outs = lower_onnx_scan(g, node, onnx_op)
    elif node.attrs.get("masked"):  # the valid steps moved to the front
        outs = lower_onnx_compacted(g, node, onnx_op)
    else:
        outs = lower_onnx(g, node, onnx_op)
    g.set(node, apply_fused(g, node, outs[0]))
    for k, name in enumerate(outs[1:], start=1):
        g.set(node, name, k)


#: The lowerings ops name in ``OpDef.onnx_lowering``.
LOWERINGS: dict[str, Callable[[OnnxBuilder, Node], None]] = {
    "recurrent": lower_recurrent,
    "conv_recurrent": lower_conv_lstm,  # ConvLSTM1D/2D/3D
}
