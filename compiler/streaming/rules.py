"""Which IR ops keep their meaning on one time step, and their attributes there.

An op applied to a *timed* value ``(N, T, ...)`` has a step form when it never looks
across axis 1: it acts on the trailing axes (Dense on the last axis, a softmax over
features, LayerNormalization over features), elementwise (activations, merges, masks), or
per element (Embedding). ``timed_attrs`` returns the op's attributes for the step value
``(N, ...)`` (positive axes shift down by one) or raises naming why the op mixes steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import TdcError
from ..ir.graph import Node

RECURRENT = frozenset({"SimpleRNN", "LSTM", "GRU"})
ACCEPTED = (
    "TimeDistributed layers, unidirectional SimpleRNN/LSTM/GRU, Masking, Embedding, merges, "
    "and layers acting on the last axis"
)
#: Ops that act on each element or combine same-shaped values elementwise.
ELEMENTWISE = frozenset({"identity", "merge", "mask_apply", "mask_or", "mask_where", "Embedding"})
#: Ops that act on the last axis only.
LAST_AXIS = frozenset({"Dense", "mask_ones"})
#: Why an op cannot run one step at a time (ops not listed: "works along the time axis").
WHY = {
    "reverse_time": "reads the sequence backwards (Bidirectional or go_backwards)",
    "bidi_merge": "reads the sequence backwards (Bidirectional)",
    "masked_mean": "averages over the time axis",
    "global_pool": "pools over the time axis",
    "pool": "pools along the time axis",
    "repeat": "repeats along the time axis",
    "dot": "multiplies across time steps",
    "reshape": "reshapes the time axis away",
    "transpose": "moves the time axis",
}


def refuse(node: Node, why: str) -> TdcError:
    label = node.label or node.op
    return TdcError(f"{label} {why}, so the model cannot run one step at a time", accepted=ACCEPTED)


def _axis(node: Node, axis: int, rank: int) -> int:
    """``axis`` of a rank-``rank`` timed value, for the step value (rank - 1)."""
    if axis % rank == 1:
        raise refuse(node, "works along the time axis (axis 1)")
    return axis if axis < 0 else axis - 1


def _fused(node: Node, attrs: dict[str, Any], rank: int) -> dict[str, Any]:
    """A fused softmax's axis, moved like any other axis."""
    params = attrs.get("act_params") or {}
    if "axis" not in params:
        return attrs
    return {**attrs, "act_params": {**params, "axis": _axis(node, params["axis"], rank)}}


def _act(node: Node, rank: int) -> dict[str, Any]:
    attrs = dict(node.attrs)
    if attrs.get("axis") is not None:
        attrs["axis"] = _axis(node, attrs["axis"], rank)
    return attrs


def _concat(node: Node, rank: int) -> dict[str, Any]:
    return {**node.attrs, "axis": _axis(node, node.attrs["axis"], rank)}


def _norm(node: Node, rank: int) -> dict[str, Any]:
    """BatchNormalization (``axis``) and LayerNormalization (``axes``) keep negative axes."""
    axes = node.attrs.get("axes", (node.attrs.get("axis"),))
    for a in axes:
        _axis(node, a, rank)
    return dict(node.attrs)


def _reshape(node: Node, rank: int) -> dict[str, Any]:
    shape = node.attrs["shape"]
    x = node.inputs[0]
    if not shape or shape[0] != x.shape[1]:
        raise refuse(node, WHY["reshape"])
    return {**node.attrs, "shape": tuple(shape[1:])}


def _transpose(node: Node, rank: int) -> dict[str, Any]:
    perm = list(node.attrs["perm"])
    if perm[:2] != [0, 1]:
        raise refuse(node, WHY["transpose"])
    return {**node.attrs, "perm": tuple([0] + [p - 1 for p in perm[2:]])}


def _mask_ne(node: Node, rank: int) -> dict[str, Any]:
    if node.attrs.get("reduce") and rank < 3:
        raise refuse(node, "reduces over the time axis")
    return dict(node.attrs)


SPECIAL: dict[str, Callable[[Node, int], dict[str, Any]]] = {
    "act": _act,
    "concat": _concat,
    "BatchNormalization": _norm,
    "LayerNormalization": _norm,
    "reshape": _reshape,
    "transpose": _transpose,
    "mask_ne": _mask_ne,
}


def timed_attrs(node: Node) -> dict[str, Any]:
    """The attributes of ``node`` applied to one step of its timed inputs, or a TdcError."""
    ranks = {v.rank for v in node.inputs}
    rank = max(ranks)
    if node.op in SPECIAL:
        attrs = SPECIAL[node.op](node, rank)
    elif node.op in ELEMENTWISE:
        if len(ranks) > 1 and node.op == "merge":
            raise refuse(node, "broadcasts over the time axis")
        attrs = dict(node.attrs)
    elif node.op in LAST_AXIS:
        if rank < 3:
            raise refuse(node, "acts on the last axis, which is the time axis here")
        attrs = dict(node.attrs)
    else:
        raise refuse(node, WHY.get(node.op, "works along the time axis"))
    return _fused(node, attrs, rank)
