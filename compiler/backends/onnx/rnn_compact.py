"""ONNX lowering of a masked SimpleRNN / LSTM / GRU on ONNX's native op.

A Keras mask may hide any step: a masked step keeps the state, and its output repeats the
previous output (the first state: the initial h, or zeros, before any valid step). That
is the cell run over the valid steps only. So each sample's valid steps move to the
front, in order (``TopK`` of the key ``(1 - mask) * T + t``), the native op runs them
with ``sequence_lens`` = the count of valid steps, and the outputs move back: step t
shows the output after the sample's last valid step up to t. The steps moved to the back
are zeroed, so a NaN at a masked step stays out, as in Keras. ONNX's op gives zeros as
the final state of a sample with no valid step, where Keras keeps the initial state: a
``Where`` puts it back.

Before::  Scan over time, the cell written out, Where(mask_t, new, previous) each step
After::   TopK, GatherND -> LSTM(sequence_lens) -> GatherND, Where
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from onnx import TensorProto

from .rnn import INT64_MIN, guarded, layer_outputs, native_op

if TYPE_CHECKING:
    from ...ir.graph import Node
    from .build import OnnxBuilder


def _reverse_steps(g: OnnxBuilder, v: str) -> str:
    """Reverse axis 1 (time) of a batch-major tensor."""
    ends = g.ints([INT64_MIN], "ends")
    return g.op("Slice", [v, g.ints([-1], "starts"), ends, g.ints([1], "axes"), g.ints([-1])])


def _compact(g: OnnxBuilder, x: str, valid: str) -> tuple[str, str]:
    """(N, T, F) ``x`` with each sample's valid steps first, the rest zeroed; and the count
    of valid steps (N,) int64."""
    steps = g.op("Slice", [g.op("Shape", [x]), g.ints([1], "starts"), g.ints([2], "ends")])
    zero, one = g.const(np.int64(0), "zero", np.int64), g.const(np.int64(1), "one", np.int64)
    t = g.op("Range", [zero, g.op("Squeeze", [steps, g.ints([0], "axes")]), one])
    key = g.op("Add", [g.op("Mul", [g.op("Sub", [one, valid]), steps]), t])
    key = g.op("Cast", [key], to=TensorProto.FLOAT)  # exact: key < 2T
    _, order = g.op("TopK", [key, steps], n_out=2, axis=1, largest=0, sorted=1)
    moved = g.op("GatherND", [x, g.op("Unsqueeze", [order, g.ints([-1], "axes")])], batch_dims=1)
    lens = g.op("ReduceSum", [valid, g.ints([1], "axes")], keepdims=0)
    kept = g.op("Less", [t, g.op("Unsqueeze", [lens, g.ints([1], "axes")])])
    keep = g.op("Unsqueeze", [kept, g.ints([-1], "axes")])
    return g.op("Where", [keep, moved, g.const(np.float32(0), "zero_f")]), lens


def _spread(g: OnnxBuilder, seq: str, valid: str, before: str) -> str:
    """Compacted (T, N, units) outputs back to (N, T, units): step t takes the output of
    the sample's last valid step up to t, or ``before`` ahead of its first valid step."""
    batch_major = g.op("Transpose", [seq], perm=[1, 0, 2])
    pos = g.op("Sub", [g.op("CumSum", [valid, g.ints([1], "axis")]), g.ints([1], "one")])
    at = g.op("Max", [pos, g.ints([0], "zero")])
    got = g.op(
        "GatherND", [batch_major, g.op("Unsqueeze", [at, g.ints([-1], "axes")])], batch_dims=1
    )
    seen = g.op("GreaterOrEqual", [pos, g.ints([0], "zero")])
    return g.op("Where", [g.op("Unsqueeze", [seen, g.ints([-1], "axes")]), got, before])


def lower_onnx_compacted(g: OnnxBuilder, node: Node, op: str) -> list[str]:
    """Emit a masked recurrent layer; returns its output names (output, states...)."""
    x, mask = g[node.inputs[0]], g[node.inputs[1]]
    if node.attrs["go_backwards"]:  # Keras reverses the input and the mask alike
        x, mask = _reverse_steps(g, x), _reverse_steps(g, mask)
    valid = g.op("Cast", [mask], to=TensorProto.INT64)
    moved, lens = _compact(g, x, valid)
    xt = g.op("Transpose", [moved], perm=[1, 0, 2])
    lens32 = g.op("Cast", [lens], to=TensorProto.INT32)
    y, finals, init = native_op(g, node, op, xt, lens32)
    some = ""
    if init:  # a sample with no valid step keeps its initial state
        some = g.op("Unsqueeze", [g.op("Greater", [lens, g.ints([0], "zero")]), g.ints([1])])
    seq, states = guarded(g, node, xt, y, finals, init, some)
    if seq:  # before a sample's first valid step: the initial h (or zeros)
        first = g.op("Unsqueeze", [g[node.inputs[2]], g.ints([1])]) if init else ""
        seq = _spread(g, seq, valid, first or g.const(np.float32(0)))
    return layer_outputs(g, node, seq, states)
