"""ONNX lowering of SimpleRNN / LSTM / GRU as a Scan over time with the cell written out.

Used for a masked layer and for activations ONNX's native recurrent ops do not have.

ONNX's native recurrent ops only skip trailing steps (``sequence_lens``), but a Keras mask
may hide any step: a masked step keeps the previous state and repeats the previous
output. Here the input projection of every step is one MatMul outside the loop; the
Scan body computes the cell in Keras's gate order (weights stay in Keras's layout) and
selects with ``Where(mask_t, new, previous)``. Layout: time-major inside, (N, T, ...)
outside; ``go_backwards`` reverses both the input and the mask first, so the scan
emits the sequence in Keras's (processing) order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from onnx import TensorProto, helper

from ...ops.activations import onnx_act
from .rnn import if_nonempty, zeros

if TYPE_CHECKING:
    from ...ir.graph import Node
    from .build import OnnxBuilder

INT64_MIN = -(2**63)


def _reverse_time(g: OnnxBuilder, x: str) -> str:
    """Reverse axis 0 of a time-major tensor."""
    ends = g.ints([INT64_MIN], "ends")
    return g.op("Slice", [x, g.ints([-1], "starts"), ends, g.ints([0], "axes"), g.ints([-1])])


def _zeros_state(g: OnnxBuilder, x: str, units: int) -> str:
    """An (N, units) float zero tensor, N read from the (T, N, F) input."""
    batch = g.op("Slice", [g.op("Shape", [x]), g.ints([1], "starts"), g.ints([2], "ends")])
    return zeros(g, batch, units)


def _projection(g: OnnxBuilder, node: Node, x: str) -> str:
    """``x @ kernel + input bias`` for every step at once: (T, N, gates * units)."""
    w = node.weights
    xw = g.op("MatMul", [x, g.const(w["kernel"], "kernel")])
    if "bias" in w:
        bias = w["bias"][0] if w["bias"].ndim == 2 else w["bias"]
        xw = g.op("Add", [xw, g.const(bias, "bias")])
    return xw


def _act(g: OnnxBuilder, x: str, kind: str) -> str:
    return onnx_act(g, x, kind, {})


def _lstm_cell(g: OnnxBuilder, node: Node, xt: str, states: list[str]) -> list[str]:
    h, c = states
    act, rec = node.attrs["act"], node.attrs["recurrent_act"]
    z = g.op("Add", [xt, g.op("MatMul", [h, g.const(node.weights["recurrent_kernel"], "rk")])])
    i, f, cc, o = g.op("Split", [z], n_out=4, axis=1)
    c_new = g.op(
        "Add", [g.op("Mul", [_act(g, f, rec), c]), g.op("Mul", [_act(g, i, rec), _act(g, cc, act)])]
    )
    h_new = g.op("Mul", [_act(g, o, rec), _act(g, c_new, act)])
    return [h_new, c_new]


def _gru_cell(g: OnnxBuilder, node: Node, xt: str, states: list[str]) -> list[str]:
    (h,) = states
    act, rec, u = node.attrs["act"], node.attrs["recurrent_act"], node.attrs["units"]
    rk, w = node.weights["recurrent_kernel"], node.weights
    xz, xr, xh = g.op("Split", [xt], n_out=3, axis=1)
    if node.attrs["reset_after"]:
        hr = g.op("MatMul", [h, g.const(rk, "rk")])
        if "bias" in w:
            hr = g.op("Add", [hr, g.const(w["bias"][1], "recurrent_bias")])
        hz, hrr, hh = g.op("Split", [hr], n_out=3, axis=1)
        r = _act(g, g.op("Add", [xr, hrr]), rec)
        cand_in = g.op("Add", [xh, g.op("Mul", [r, hh])])
    else:
        hzr = g.op("MatMul", [h, g.const(rk[:, : 2 * u], "rk_zr")])
        hz, hrr = g.op("Split", [hzr], n_out=2, axis=1)
        r = _act(g, g.op("Add", [xr, hrr]), rec)
        rh = g.op("MatMul", [g.op("Mul", [r, h]), g.const(rk[:, 2 * u :], "rk_h")])
        cand_in = g.op("Add", [xh, rh])
    z = _act(g, g.op("Add", [xz, hz]), rec)
    one_minus = g.op("Sub", [g.const(1.0, "one"), z])
    cand = _act(g, cand_in, act)
    return [g.op("Add", [g.op("Mul", [z, h]), g.op("Mul", [one_minus, cand])])]


def _simple_cell(g: OnnxBuilder, node: Node, xt: str, states: list[str]) -> list[str]:
    (h,) = states
    z = g.op("Add", [xt, g.op("MatMul", [h, g.const(node.weights["recurrent_kernel"], "rk")])])
    return [_act(g, z, node.attrs["act"])]


CELLS = {"RNN": (_simple_cell, 1), "LSTM": (_lstm_cell, 2), "GRU": (_gru_cell, 1)}


def _body(g: OnnxBuilder, node: Node, op: str, masked: bool) -> tuple[object, int]:
    """The Scan body: (states..., x_t[, mask_t]) -> (new states..., y_t)."""
    cell, n_states = CELLS[op]
    units, width = node.attrs["units"], node.weights["kernel"].shape[1]
    outer, g.nodes = g.nodes, []
    states = [g.fresh(f"{node.layer}/state_in") for _ in range(n_states)]
    xt, mt = g.fresh(f"{node.layer}/x_t"), g.fresh(f"{node.layer}/mask_t")
    kept = new = cell(g, node, xt, states)
    if masked:
        keep = g.op("Unsqueeze", [mt, g.ints([1], "axes")])
        kept = [g.op("Where", [keep, n, s]) for n, s in zip(new, states, strict=True)]
    y_t = g.op("Identity", [kept[0]])
    body_nodes, g.nodes = g.nodes, outer

    def info(name: str, cols: int | None, dtype: int = TensorProto.FLOAT) -> object:
        return helper.make_tensor_value_info(name, dtype, [None] if cols is None else [None, cols])

    inputs = [info(s, units) for s in states] + [info(xt, width)]
    if masked:
        inputs.append(info(mt, None, TensorProto.BOOL))
    outputs = [info(k, units) for k in kept] + [info(y_t, units)]
    graph = helper.make_graph(body_nodes, f"{node.layer}_step", inputs, outputs)
    return graph, n_states


def lower_onnx_scan(g: OnnxBuilder, node: Node, op: str) -> list[str]:
    """Emit the Scan form of one recurrent layer; returns its output names (output, states...)."""
    masked = bool(node.attrs.get("masked"))
    x = g.op("Transpose", [g[node.inputs[0]]], perm=[1, 0, 2])
    scanned = [x]
    if masked:
        scanned.append(g.op("Transpose", [g[node.inputs[1]]], perm=[1, 0]))
    if node.attrs["go_backwards"]:
        scanned = [_reverse_time(g, s) for s in scanned]
    scanned[0] = _projection(g, node, scanned[0])
    body, n_states = _body(g, node, op, masked)
    given = node.inputs[1 + int(masked) :]
    init = [g[s] for s in given] or [_zeros_state(g, x, node.attrs["units"])] * n_states

    def run() -> list[str]:
        n_out, n_scan = n_states + 1, len(scanned)
        return g.op("Scan", [*init, *scanned], n_out=n_out, body=body, num_scan_inputs=n_scan)

    def empty() -> list[str]:  # no steps (onnxruntime's Scan fails on them) or no samples
        tn = g.op("Slice", [g.op("Shape", [x]), g.ints([0], "starts"), g.ints([2], "ends")])
        return [*init, zeros(g, tn, node.attrs["units"])]

    outs = if_nonempty(g, node.layer, x, run, empty)
    states = outs[:n_states]
    if node.attrs["return_sequences"]:
        out = g.op("Transpose", [outs[-1]], perm=[1, 0, 2])
    else:  # a distinct name, so the output and the state can be graph outputs both
        out = g.op("Identity", [states[0]]) if node.attrs.get("return_state") else states[0]
    return [out, *states] if node.attrs.get("return_state") else [out]
