"""The layer-by-layer conversion of ``tdc import``: a Keras functional graph to the
model-file document and the weights.

``Converter`` walks the graph's operations in order: inputs (dtype checked), each layer's
``get_config()`` reduced to the arguments tdc accepts and that differ from the default
(nested ``layer:`` of wrappers included), the wiring of each call (inputs, then an RNN's
``initial_state`` tensors; read in ``import_call.py``), the outputs, and every
variable under its weights-file key. Mask-computing ops Keras inserts itself are skipped.
Every problem is collected in ``problems`` instead of raised, so all are reported at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..frontend.loader import INPUT_DTYPES
from ..frontend.params import BASE_PARAMS, REQUIRED, Param
from ..ops import get_op, layer_types
from .call import read_call
from .classes import layer_class
from .config import (
    dtype_name as _dtype_name,
)
from .config import (
    implied_by_wrapper as _implied_by_wrapper,
)
from .config import (
    keras_default as _keras_default,
)
from .config import (
    mask_graph as _mask_graph,
)
from .config import (
    mask_leaves as _mask_leaves,
)
from .config import (
    plain as _plain,
)
from .config import (
    producer as _producer,
)
from .config import (
    same_as_pool as _same_as_pool,
)
from .convert_models import is_nested, nested_layer
from .convert_ops import operation_entry
from .problems import Problem

#: Config keys that are bookkeeping, not constructor arguments that change the layer.
SKIP_KEYS = ("name", "build_config", "registered_name", "compile_config")
#: Argument suffixes dropped outright: a weights file makes them irrelevant.
DROP_SUFFIXES = ("initializer", "regularizer", "constraint")


class Converter:
    """Builds the model-file document and the weights, collecting every problem."""

    def __init__(self, keras: Any) -> None:
        self.keras = keras
        self.problems: list[Problem] = []
        self.types = set(layer_types())
        self.mask_ops: set[int] = set()
        self.mask_roots: set[str] = set()
        #: id(nested model or its wrapper) -> its weights, keyed with its path.
        self.nested_weights: dict[int, dict[str, np.ndarray]] = {}

    def refuse(self, name: str, typ: str, why: str) -> None:
        """Record that layer ``name`` of type ``typ`` cannot be imported, and why."""
        self.problems.append(Problem(name, typ, why))

    def model(self, graph: Any, dst: Path | None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        doc: dict[str, Any] = {"name": graph.name, "inputs": self.inputs(graph)}
        input_names = list(doc["inputs"])
        layers: list[dict[str, Any]] = []
        weights: dict[str, np.ndarray] = {}
        previous = input_names[0] if len(input_names) == 1 else None
        self.mask_ops, self.mask_roots = _mask_graph(self.keras, graph)
        for op in graph.operations:
            if isinstance(op, self.keras.layers.InputLayer) or id(op) in self.mask_ops:
                continue
            entry = self.layer(graph, op, previous)
            if entry is not None:
                layers.append(entry)
                self.weights(op, weights)
            previous = op.name
        doc["layers"] = layers
        doc["outputs"] = self.outputs(graph)
        if dst is not None:  # a nested model's weights go in the outer file
            doc["weights"] = dst.with_suffix(".npz").name
        return doc, weights

    def inputs(self, graph: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for t in graph.inputs:
            name = _producer(t)[0].name
            dtype = str(t.dtype)
            if dtype not in INPUT_DTYPES:
                self.refuse(name, "Input", f"dtype {dtype} (accepted: {', '.join(INPUT_DTYPES)})")
            out[name] = {"shape": list(t.shape[1:]), "dtype": dtype}
        return out

    def outputs(self, graph: Any) -> list[str]:
        names = []
        for t in graph.outputs:
            op, index = _producer(t)
            if isinstance(op, self.keras.layers.InputLayer):
                self.refuse(op.name, type(op).__name__, "a model output tdc cannot name")
            names.append(op.name if index == 0 else f"{op.name}:{index}")  # output k: name:k
        return names

    def layer(self, graph: Any, op: Any, previous: str | None) -> dict[str, Any] | None:
        if not isinstance(op, self.keras.layers.Layer):
            return operation_entry(self, graph, op, previous)
        typ = type(op).__name__
        if is_nested(self.keras, op):
            return nested_layer(self, graph, op, previous)
        nodes = [n for i, n in enumerate(op._inbound_nodes) if f"{id(op)}_ib-{i}" in graph._nodes]
        if len(nodes) != 1:
            self.refuse(op.name, typ, f"used {len(nodes)} times (shared layers are not supported)")
            return None
        if not self.known(type(op), typ):
            self.refuse(op.name, typ, "layer type not supported")
            return None
        entry: dict[str, Any] = {"name": op.name, "type": typ}
        entry |= self.args(op.name, type(op), op.get_config())
        wiring = self.wiring(op, nodes[0])
        entry |= self.call_keys
        if get_op(typ).multi_input or wiring != [previous]:
            entry["inputs"] = wiring[0] if len(wiring) == 1 else wiring
        return entry

    def known(self, cls: type, typ: str) -> bool:
        return typ in self.types and layer_class(self.keras, typ) is cls

    def wiring(self, op: Any, node: Any) -> list[str]:
        """The layer's ``inputs:``: its input tensors, then any initial states."""
        call = read_call(self.keras, op, node, self.implicit)
        for why in call.problems:
            self.refuse(op.name, type(op).__name__, why)
        self.call_keys = call.keys  # call arguments written as layer keys
        return call.refs()

    def implicit(self, mask: Any) -> bool:
        """A mask Keras derived by itself from a Masking or Embedding(mask_zero) input."""
        leaves = _mask_leaves(self.keras, mask if isinstance(mask, list | tuple) else [mask])
        return leaves is not None and leaves <= self.mask_roots

    def args(
        self, name: str, cls: type, config: dict[str, Any], inner: bool = False
    ) -> dict[str, Any]:
        """The model-file arguments of one layer config (nested ``layer:`` included)."""
        typ = cls.__name__
        op = get_op(typ)
        params: dict[str, Param] = {**BASE_PARAMS, **(op.params or {})}
        out: dict[str, Any] = {}
        for key, raw in config.items():
            if key in SKIP_KEYS or key.endswith(DROP_SUFFIXES):
                continue
            if op.wrapper and key == "layer":
                inner = self.inner(name, raw)
                if inner is not None:
                    out["layer"] = inner
                continue
            if _implied_by_wrapper(key, raw, config, inner):
                continue
            if key == "backward_layer" and isinstance(raw, dict):  # an explicit one
                backward = self.inner(name, raw)
                if backward is not None:
                    out[key] = backward
                continue
            value = _plain(raw)
            if key == "dtype":
                if _dtype_name(raw) not in (None, "float32"):
                    self.refuse(name, typ, f"dtype policy {_dtype_name(raw)} (accepted: float32)")
                continue
            if key not in params:
                if value is not None and not _keras_default(cls, key, value):
                    self.refuse(name, typ, f"argument {key}={value!r} is not supported")
                continue
            implied = _keras_default(cls, key, value) or _same_as_pool(key, value, config)
            if self.accepts(name, typ, key, value, params[key]) and not implied:
                out[key] = value
        return out

    def accepts(self, name: str, typ: str, key: str, value: Any, param: Param) -> bool:
        """True to write ``key``: tdc accepts the value and it is not the default."""
        try:
            checked = param.check(value)
        except (ValueError, TypeError) as e:
            self.refuse(name, typ, f"argument {key}={value!r} (accepted: {e})")
            return False
        if param.default is REQUIRED:
            return True
        try:
            default = param.check(param.default)
        except (ValueError, TypeError):
            default = param.default
        return checked != default

    def inner(self, name: str, raw: Any) -> dict[str, Any] | None:
        """The wrapped layer of TimeDistributed/Bidirectional as a nested entry."""
        typ = raw.get("class_name") if isinstance(raw, dict) else None
        cls = layer_class(self.keras, typ) if isinstance(typ, str) else None
        if cls is None or raw.get("registered_name") or not self.known(cls, typ):
            self.refuse(name, f"wrapping {typ}", "wrapped layer type not supported")
            return None
        return {"type": typ, **self.args(name, cls, raw.get("config") or {}, inner=True)}

    def weights(self, op: Any, out: dict[str, np.ndarray]) -> None:
        from .oracle import layer_variables

        if id(op) in self.nested_weights:
            out.update(self.nested_weights.pop(id(op)))
            return
        for key, v in layer_variables(op):
            if key in out:
                self.refuse(op.name, type(op).__name__, f"two variables map to '{key}'")
            out[key] = np.asarray(v.numpy(), dtype=np.float32, order="C")  # 0-d stays 0-d
