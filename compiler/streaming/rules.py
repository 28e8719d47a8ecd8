"""Which IR ops keep their meaning on one time step, and their attributes there.

An op applied to a *timed* value ``(N, T, ...)`` has a step form when it never looks
across axis 1: it acts on the trailing axes (Dense on the last axis, a softmax over
features, LayerNormalization over features), elementwise (activations, merges, masks), or
per element (Embedding). Each op says which with its ``stream`` trait (``OpDef.stream``);
``timed_attrs`` returns the op's attributes for the step value ``(N, ...)`` (positive axes
shift down by one) or raises naming the layer and why the op mixes steps.
"""

from __future__ import annotations

from typing import Any

from ..errors import TdcError
from ..ir.graph import Node
from ..ir.registry import StepRefused, step_axis
from ..ops import get_op

ACCEPTED = (
    "TimeDistributed layers, unidirectional SimpleRNN/LSTM/GRU/ConvLSTM1D/ConvLSTM2D/ConvLSTM3D, "
    "Masking, Embedding, merges, causal attention (use_causal_mask: true, unmasked) "
    "and layers acting on the last axis"
)


def refuse(node: Node, why: str) -> TdcError:
    label = node.label or node.op
    return TdcError(f"{label} {why}, so the model cannot run one step at a time", accepted=ACCEPTED)


def _fused(attrs: dict[str, Any], rank: int) -> dict[str, Any]:
    """A fused softmax's axis, moved like any other axis."""
    params = attrs.get("act_params") or {}
    if "axis" not in params:
        return attrs
    return {**attrs, "act_params": {**params, "axis": step_axis(params["axis"], rank)}}


def _step(node: Node, rank: int) -> dict[str, Any]:
    op = get_op(node.op)
    if op.stream is None:
        raise AssertionError(f"op {node.op} declares no stream rule")
    if op.stream == "custom":
        return op.step_attrs(node, rank)
    if op.stream == "last_axis" and rank < 3:
        raise StepRefused("acts on the last axis, which is the time axis here")
    if op.stream in ("elementwise", "last_axis"):
        return dict(node.attrs)
    raise StepRefused(op.stream_why)  # "time"; recurrent, fold, unfold: not on this axis


def timed_attrs(node: Node) -> dict[str, Any]:
    """The attributes of ``node`` applied to one step of its timed inputs, or a TdcError."""
    rank = max(v.rank for v in node.inputs)
    try:
        return _fused(_step(node, rank), rank)
    except StepRefused as e:
        raise refuse(node, str(e)) from None
