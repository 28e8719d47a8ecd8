"""Lower a bounded ReLU to relu6 (one ONNX ``Clip``), which onnxruntime fuses into a Conv.

``ReLU(max_value=6)`` (keras.applications' MobileNets) and ``activation="relu"`` with a
``max_value`` lower to ``relu_ext``, whose ONNX form is ``Relu -> Min``; onnxruntime fuses
``Conv + Clip`` (and ``Conv + Relu``) but never the ``Min`` after it. With no slope and no
threshold, ``relu_ext`` is ``min(max(x, 0), max_value)``: for ``max_value`` 6 exactly the
``relu6`` kind (``Clip(x, 0, 6)``; NumPy ``np.clip``). Other bounds keep ``relu_ext``,
which the ONNX lowering then writes as ``Clip(x, 0, max_value)`` itself.

Before::  %r = act(%c) kind=relu_ext negative_slope=0.0 max_value=6.0 threshold=0.0
After::   %r = act(%c) kind=relu6

A node that already absorbed the activation (``activation=relu_ext``) is rewritten alike.
"""

from __future__ import annotations

from typing import Any

from ..ir.graph import Graph

_KEYS = ("kind", "negative_slope", "max_value", "threshold")


def is_relu6(kind: str, params: dict[str, Any]) -> bool:
    """``relu_ext`` with these parameters is ``relu6``."""
    return (
        kind == "relu_ext"
        and params.get("negative_slope", 0.0) == 0.0
        and params.get("threshold", 0.0) == 0.0
        and params.get("max_value") == 6.0
    )


def relu_clip(graph: Graph) -> bool:
    changed = False
    for node in graph.nodes:
        if node.op == "act" and is_relu6(node.attrs["kind"], node.attrs):
            rest = {k: v for k, v in node.attrs.items() if k not in _KEYS}
            node.attrs = {**rest, "kind": "relu6"}  # a fresh dict: graphs may share attrs
            changed = True
        elif is_relu6(node.attrs.get("activation", ""), node.attrs.get("act_params", {})):
            node.attrs = {**node.attrs, "activation": "relu6", "act_params": {}}
            changed = True
    return changed
