"""``tdc import`` of models inside models: a Keras ``Functional`` or ``Sequential`` model
used as a layer, bare or wrapped in ``TimeDistributed``, becomes a nested entry (SPEC 1.1)
that keeps its own scope: ``{type: Functional, inputs: {...}, layers: [...], outputs:
[...]}`` or ``{type: Sequential, layers: [...]}``, converted by the same ``Converter``
recursively. Its variables are keyed with the path of the layer that holds it in front
(``cnn/Conv1/kernel``: TimeDistributed adds nothing).

An inline Functional takes one input in a model file, so a nested model with several
inputs is refused, and so is a Sequential whose layers are not a chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .convert import Converter


def is_nested(keras: Any, op: Any) -> bool:
    """Whether ``op`` is a model, or a wrapper (through any depth) around one."""
    while op is not None:
        if isinstance(op, keras.Model):
            return True
        op = getattr(op, "layer", None)
    return False


def nested_layer(conv: Converter, graph: Any, op: Any, previous: str | None) -> dict | None:
    """The model-file entry of the model (or wrapper around one) ``op``; its weights are
    kept in ``conv.nested_weights[id(op)]`` for ``Converter.weights``."""
    keras = conv.keras
    typ = type(op).__name__
    nodes = [n for i, n in enumerate(op._inbound_nodes) if f"{id(op)}_ib-{i}" in graph._nodes]
    if len(nodes) != 1:
        conv.refuse(op.name, typ, f"used {len(nodes)} times (shared models are not supported)")
        return None
    if not isinstance(op, keras.Model) and typ != "TimeDistributed":
        conv.refuse(op.name, typ, "only TimeDistributed may wrap a model")
        return None
    weights: dict[str, np.ndarray] = {}
    entry = _entry(conv, op, op.name, weights)
    if entry is None:
        return None
    entry = {"name": op.name, **entry}
    wiring = conv.wiring(op, nodes[0])
    if wiring != [previous]:
        entry["inputs"] = wiring[0] if len(wiring) == 1 else wiring
    conv.nested_weights[id(op)] = weights
    return entry


def _entry(conv: Converter, op: Any, path: str, weights: dict[str, np.ndarray]) -> dict | None:
    """The entry of ``op`` (its type and contents, no name), wrappers included."""
    keras = conv.keras
    if not isinstance(op, keras.Model):  # TimeDistributed(model): the wrapper adds nothing
        inner = _entry(conv, op.layer, path, weights)
        return None if inner is None else {"type": type(op).__name__, "layer": inner}
    sub = type(conv)(keras)
    sub.problems = conv.problems  # every problem reported at once, nested or not
    if isinstance(op, keras.Sequential):
        return _sequential(conv, sub, op, path, weights)
    if len(op.inputs) != 1:
        conv.refuse(op.name, type(op).__name__, f"a nested model with {len(op.inputs)} inputs "
                    "(accepted: nested models with one input)")  # fmt: skip
        return None
    doc, own = sub.model(op, None)
    weights.update({f"{path}/{k}": v for k, v in own.items()})
    return {"type": "Functional", **{k: doc[k] for k in ("inputs", "layers", "outputs")}}


def _sequential(
    conv: Converter, sub: Converter, op: Any, path: str, weights: dict[str, np.ndarray]
) -> dict | None:
    graph = getattr(op, "_functional", None)
    if graph is None:
        conv.refuse(op.name, "Sequential", "a nested Sequential model whose input shape is "
                    "unknown (accepted: one built on an input)")  # fmt: skip
        return None
    doc, own = sub.model(graph, None)
    for lay in doc["layers"]:
        if "inputs" in lay:
            conv.refuse(op.name, "Sequential", f"layer '{lay['name']}' is not fed by the one "
                        "before it")  # fmt: skip
            return None
    weights.update({f"{path}/{k}": v for k, v in own.items()})
    return {"type": "Sequential", "layers": doc["layers"]}
