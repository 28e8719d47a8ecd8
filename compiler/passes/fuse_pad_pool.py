"""Fuse a ZeroPadding into the max pooling after it when the padded values are never negative.

ResNet50 pads the ReLU output with zeros (``pool1_pad``) before a valid 3x3 max pooling. A
max pooling's own pads are ignored (-inf), not zeros; the two agree when every window keeps
at least one real element (each pad narrower than the window) and the real elements are
never negative, as after ReLU: the max of a window is then at least 0 either way.

Before::  %r = act(%c) kind=relu; %p = zero_pad(%r) pads=((1, 1), (1, 1));
          %m = pool(%p) mode=max pool_size=(3, 3) padding=valid
After::   %r = act(%c) kind=relu; %m = pool(%r) mode=max padding=((1, 1), (1, 1))

The ReLU may be fused into the op before it (``activation=relu``). Only where the padded
axes are static and the zero_pad's output feeds the pooling alone; average pooling keeps
its pad (Keras divides by the whole window, padding included).
"""

from __future__ import annotations

from typing import Any

from ..ir.graph import Graph, Node, Value
from .fuse_pad import absorb_pads, sole_user

#: Activations whose outputs are never negative (relu_ext only without a slope).
_NON_NEGATIVE = {"relu", "relu6", "sigmoid", "hard_sigmoid", "softplus", "exponential"}


def _non_negative(kind: str, params: dict[str, Any]) -> bool:
    if kind == "relu_ext":
        return params.get("negative_slope", 0.0) == 0.0 and params.get("threshold", 0.0) >= 0.0
    return kind in _NON_NEGATIVE


def never_negative(value: Value) -> bool:
    """``value`` is the output of a ReLU-like activation (its own node or a fused one)."""
    src = value.producer
    if src is None:
        return False
    if src.op == "act":
        return _non_negative(src.attrs["kind"], src.attrs)
    return _non_negative(src.attrs.get("activation", "linear"), src.attrs.get("act_params", {}))


def _target(graph: Graph, pad: Node) -> Node | None:
    pool = sole_user(graph, pad)
    if pool is None or pool.op != "pool" or pool.attrs["mode"] != "max":
        return None
    if pool.attrs["padding"] != "valid":
        return None
    sizes = pool.attrs["pool_size"]
    narrow = all(b < k and e < k for (b, e), k in zip(pad.attrs["pads"], sizes, strict=True))
    return pool if narrow and never_negative(pad.inputs[0]) else None


def fuse_pad_pool(graph: Graph) -> bool:
    return absorb_pads(graph, _target)
