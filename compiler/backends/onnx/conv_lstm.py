"""ONNX lowering of ConvLSTM1D/2D/3D (``OpDef.onnx_lowering == "conv_recurrent"``).

The input convolution of all T frames is one ``Conv`` on the folded (N*T, C, *S) batch
before the loop; a ``Scan`` over time then runs the recurrent ``Conv`` (stride 1, padding
'same') and the gates (Keras order i, f, c, o on the channel axis) with the states kept
channels-first, and ``Where(mask_t, new, previous)`` on a masked layer. ``go_backwards``
reverses the scanned inputs first, so the scan emits the sequence in Keras's (processing)
order. The whole loop sits in an ``If`` on ``Size(x) > 0`` (``rnn.if_nonempty``): no
samples or no steps give an empty sequence and the initial states.

Before::  x (N, T, *S, C)
After::   Reshape (N*T, *S, C) -> Transpose -> Conv -> Reshape, Transpose (T, N, 4F, *S')
          -> Scan[Conv(h) + x_t, gates] -> Transpose back to channels_last
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from onnx import TensorProto, helper

from ...ops import get_op
from ...ops.activations import apply_fused, onnx_act
from ...ops.window import to_channels_first, to_channels_last
from .rnn import INT64_MIN, if_nonempty, zeros

if TYPE_CHECKING:
    from ...ir.graph import Node
    from ...ops.window import Window
    from .build import OnnxBuilder


def _onnx_kernel(kernel: np.ndarray, rank: int) -> np.ndarray:
    """Keras's (*k, cin, cout) kernel as ONNX's (cout, cin, *k)."""
    return np.ascontiguousarray(np.transpose(kernel, (rank + 1, rank, *range(rank))))


def _conv_attrs(win: Window) -> dict[str, Any]:
    return win.onnx_attrs() | {"dilations": list(win.dilation)}


def _reverse_time(g: OnnxBuilder, x: str) -> str:
    ends = g.ints([INT64_MIN], "ends")
    return g.op("Slice", [x, g.ints([-1], "starts"), ends, g.ints([0], "axes"), g.ints([-1])])


def _projection(g: OnnxBuilder, node: Node, x: str, rank: int) -> str:
    """The input convolution of every frame: (T, N, 4F, *S') from the (N, T, *S, C) ``x``."""
    op, w = get_op(node.op), node.weights
    win = op.window(node)
    frames = g.op("Reshape", [x, g.ints([-1, *node.inputs[0].shape[2:]])])
    ins = [g.op("Transpose", [frames], perm=to_channels_first(rank))]
    ins.append(g.const(_onnx_kernel(w["kernel"], rank), "kernel"))
    if "bias" in w:
        ins.append(g.const(w["bias"], "bias"))
    y = g.op("Conv", ins, **_conv_attrs(win))
    nt = g.op("Slice", [g.op("Shape", [x]), g.ints([0], "starts"), g.ints([2], "ends")])
    dims = [4 * node.attrs["filters"], *(int(d) for d in win.out)]
    y = g.op("Reshape", [y, g.op("Concat", [nt, g.ints(dims)], axis=0)])
    return g.op("Transpose", [y], perm=[1, 0, *range(2, rank + 3)])


def _cell(g: OnnxBuilder, node: Node, xt: str, h: str, c: str, rank: int) -> list[str]:
    """One step on channels-first states: returns (h_new, c_new)."""
    op, a = get_op(node.op), node.attrs
    rk = g.const(_onnx_kernel(node.weights["recurrent_kernel"], rank), "recurrent_kernel")
    z = g.op("Add", [xt, g.op("Conv", [h, rk], **_conv_attrs(op.recurrent_window(node)))])
    i, f, cc, o = g.op("Split", [z], n_out=4, axis=1)
    act, rec = a["act"], a["recurrent_act"]

    def on(v: str, kind: str) -> str:
        return onnx_act(g, v, kind, {})

    c_new = g.op("Add", [g.op("Mul", [on(f, rec), c]), g.op("Mul", [on(i, rec), on(cc, act)])])
    h_new = g.op("Mul", [on(o, rec), on(c_new, act)])
    return [h_new, c_new]


def _body(g: OnnxBuilder, node: Node, masked: bool, rank: int) -> Any:
    """The Scan body: (h, c, x_t[, mask_t]) -> (h, c[, y_t])."""
    outer, g.nodes = g.nodes, []
    h, c = g.fresh(f"{node.layer}/h_in"), g.fresh(f"{node.layer}/c_in")
    xt, mt = g.fresh(f"{node.layer}/x_t"), g.fresh(f"{node.layer}/mask_t")
    kept = new = _cell(g, node, xt, h, c, rank)
    if masked:
        keep = g.op("Unsqueeze", [mt, g.ints(list(range(1, rank + 2)), "axes")])
        kept = [g.op("Where", [keep, n, s]) for n, s in zip(new, (h, c), strict=True)]
    outs = list(kept)
    if node.attrs["return_sequences"]:
        outs.append(g.op("Identity", [outs[0]]))
    body_nodes, g.nodes = g.nodes, outer

    def info(name: str, rank_: int, dtype: int = TensorProto.FLOAT) -> Any:
        return helper.make_tensor_value_info(name, dtype, [None] * rank_)

    inputs = [info(h, rank + 2), info(c, rank + 2), info(xt, rank + 2)]
    if masked:
        inputs.append(info(mt, 1, TensorProto.BOOL))
    outputs = [info(o, rank + 2) for o in outs]
    return helper.make_graph(body_nodes, f"{node.layer}_step", inputs, outputs)


def _initial(g: OnnxBuilder, node: Node, x: str, rank: int) -> list[str]:
    """The initial h and c, channels-first: the given ones or zeros."""
    masked = bool(node.attrs.get("masked"))
    given = node.inputs[1 + int(masked) :]
    if given:
        return [g.op("Transpose", [g[s]], perm=to_channels_first(rank)) for s in given]
    h0 = _zeros(g, node, x, [0])
    return [h0, h0]


def _zeros(g: OnnxBuilder, node: Node, x: str, axes: list[int]) -> str:
    """A float zero tensor of shape ``(*x.shape[axes], F, *S')``: the
    channels-first state (axes [0]) or sequence (axes [1, 0]) of the layer on ``x``."""
    state = get_op(node.op).state_value(node).shape
    shape = g.op("Shape", [x])
    lead = [g.op("Slice", [shape, g.ints([k], "starts"), g.ints([k + 1], "ends")]) for k in axes]
    dims = [int(state[-1]), *(int(d) for d in state[1:-1])]
    return zeros(g, g.op("Concat", [*lead, g.ints(dims[:-1])], axis=0), dims[-1])


def lower_conv_lstm(g: OnnxBuilder, node: Node) -> None:
    """Emit one ConvLSTM node and bind its outputs (output, then h and c with return_state)."""
    rank = node.weights["kernel"].ndim - 2
    a, masked = node.attrs, bool(node.attrs.get("masked"))
    x = g[node.inputs[0]]
    init = _initial(g, node, x, rank)
    seqs = bool(a["return_sequences"])
    body = _body(g, node, masked, rank)

    def run() -> list[str]:
        scanned = [_projection(g, node, x, rank)]
        if masked:
            scanned.append(g.op("Transpose", [g[node.inputs[1]]], perm=[1, 0]))
        if a["go_backwards"]:
            scanned = [_reverse_time(g, s) for s in scanned]
        n_out = 2 + int(seqs)
        return g.op("Scan", [*init, *scanned], n_out=n_out, body=body, num_scan_inputs=len(scanned))

    def empty() -> list[str]:  # no steps or no samples: the loop does not run
        if not seqs:
            return list(init)
        return [*init, _zeros(g, node, x, [1, 0])]

    outs = if_nonempty(g, node.layer, x, run, empty)
    kept = 2 if a.get("return_state") else 0 if seqs else 1  # the states read after the loop
    states = [g.op("Transpose", [s], perm=to_channels_last(rank)) for s in outs[:kept]]
    if seqs:
        out = g.op("Transpose", [outs[2]], perm=[1, 0, *range(3, rank + 3), 2])
    else:  # a distinct name, so the output and the state can be graph outputs both
        out = g.op("Identity", [states[0]]) if a.get("return_state") else states[0]
    g.set(node, apply_fused(g, node, out))
    if a.get("return_state"):
        for k, name in enumerate(states, start=1):
            g.set(node, name, k)
