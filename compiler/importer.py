"""``tdc import``: a saved Keras 3 model (``.keras``) to a model file plus its weights file.

The Keras graph is read from the live (loaded) model: its inputs, its layers in
topological order with their wiring, its outputs and every variable. Each layer's
``get_config()`` becomes the layer entry: the arguments tdc accepts, written only where
they differ from the default; initialisers, regularisers, constraints and float32 dtype
policies are dropped (they do not matter once the weights are in the file). Any other
argument must hold Keras's default, otherwise the layer is refused.

Everything is checked first (all offending layers reported at once), then the result is
loaded and compiled from a scratch directory, and only then are both files written.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import TdcError
from .import_config import (
    dtype_name as _dtype_name,
)
from .import_config import (
    implied_by_wrapper as _implied_by_wrapper,
)
from .import_config import (
    keras_default as _keras_default,
)
from .import_config import (
    mask_graph as _mask_graph,
)
from .import_config import (
    mask_leaves as _mask_leaves,
)
from .import_config import (
    plain as _plain,
)
from .import_config import (
    producer as _producer,
)
from .import_config import (
    same_as_pool as _same_as_pool,
)
from .io import write_atomic
from .loader import INPUT_DTYPES
from .params import BASE_PARAMS, REQUIRED, Param
from .registry import get_op, layer_types
from .weights import write_npz

#: Config keys that are bookkeeping, not constructor arguments that change the layer.
SKIP_KEYS = ("name", "build_config", "registered_name", "compile_config")
#: Argument suffixes dropped outright: a weights file makes them irrelevant.
DROP_SUFFIXES = ("initializer", "regularizer", "constraint")


def import_keras(src: Path, dst: Path) -> None:
    """Convert the Keras model saved at ``src`` into ``dst`` (YAML) and ``dst``'s ``.npz``."""
    from .backends.keras import import_keras as keras_module

    keras = keras_module()
    model = _load(keras, src)
    graph = _functional(keras, model, src)
    conv = _Converter(keras)
    doc, weights = conv.model(graph, dst)
    doc["name"] = model.name  # a Sequential's inner graph has a session-dependent name
    if conv.problems:
        unknown = any("type not supported" in p for p in conv.problems)
        raise TdcError(
            f"cannot import {len(conv.problems)} layer(s): " + "; ".join(conv.problems),
            file=str(src),
            accepted=("layer types " + ", ".join(layer_types())) if unknown else None,
        )
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)
    _check_compiles(text, weights, dst, src)
    write_atomic(
        [
            (dst.with_suffix(".npz"), lambda p: write_npz(p, weights)),
            (dst, lambda p: p.write_text(text, encoding="utf-8")),
        ]
    )


def _load(keras: Any, src: Path) -> Any:
    if not src.is_file():
        raise TdcError("Keras model file not found", file=str(src))
    if not zipfile.is_zipfile(src):
        raise TdcError(
            "not a saved Keras model (not a zip archive)",
            file=str(src),
            accepted="a .keras file written by model.save",
        )
    try:
        return keras.saving.load_model(src, compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001  (Keras raises many kinds for a bad file)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TdcError(
            f"cannot load the Keras model: {msg}", file=str(src), accepted="a Keras 3 .keras file"
        ) from None


def _functional(keras: Any, model: Any, src: Path) -> Any:
    """The functional graph of ``model`` (a Sequential keeps one once its input is known)."""
    if isinstance(model, keras.Sequential):
        model = getattr(model, "_functional", None)
        if model is None:
            raise TdcError(
                "the Sequential model has no known input shape", file=str(src),
                accepted="a Sequential model that starts with keras.Input",
            )  # fmt: skip
    if not hasattr(model, "operations") or not hasattr(model, "_nodes"):
        raise TdcError(
            f"cannot import a {type(model).__name__} (subclassed models have no graph)",
            file=str(src),
            accepted="Sequential and Functional models",
        )
    return model


class _Converter:
    """Builds the model-file document and the weights, collecting every problem."""

    def __init__(self, keras: Any) -> None:
        self.keras = keras
        self.problems: list[str] = []
        self.types = set(layer_types())
        self.mask_ops: set[int] = set()
        self.mask_roots: set[str] = set()

    def refuse(self, name: str, typ: str, why: str) -> None:
        self.problems.append(f"'{name}' ({typ}): {why}")

    def model(self, graph: Any, dst: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
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
            if isinstance(op, self.keras.layers.InputLayer) or index != 0:
                self.refuse(op.name, type(op).__name__, "a model output tdc cannot name")
            names.append(op.name)
        return names

    def layer(self, graph: Any, op: Any, previous: str | None) -> dict[str, Any] | None:
        typ = type(op).__name__
        if isinstance(op, self.keras.Model):
            self.refuse(op.name, typ, "nested models are not supported")
            return None
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
        if get_op(typ).multi_input or wiring != [previous]:
            entry["inputs"] = wiring[0] if len(wiring) == 1 else wiring
        return entry

    def known(self, cls: type, typ: str) -> bool:
        return typ in self.types and getattr(self.keras.layers, typ, None) is cls

    def wiring(self, op: Any, node: Any) -> list[str]:
        flat = self.keras.tree.flatten(node.arguments.args)
        inputs = [t for t in flat if hasattr(t, "_keras_history")]
        if len(inputs) != len(flat):
            self.refuse(op.name, type(op).__name__, "called with non-tensor arguments")
        kwargs = {
            k: v
            for k, v in node.arguments.kwargs.items()
            if v is not None and k != "training" and not (k == "mask" and self.implicit(v))
        }
        if kwargs:
            self.refuse(op.name, type(op).__name__, f"called with {', '.join(sorted(kwargs))}")
        names = []
        for t in inputs:
            src, index = _producer(t)
            if index != 0:
                self.refuse(op.name, type(op).__name__, f"takes output {index} of '{src.name}'")
            names.append(src.name)
        return names

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
        cls = getattr(self.keras.layers, typ, None) if isinstance(typ, str) else None
        if cls is None or raw.get("registered_name") or not self.known(cls, typ):
            self.refuse(name, f"wrapping {typ}", "wrapped layer type not supported")
            return None
        return {"type": typ, **self.args(name, cls, raw.get("config") or {}, inner=True)}

    def weights(self, op: Any, out: dict[str, np.ndarray]) -> None:
        from .backends.keras import variable_key

        for v in op.weights:
            key = variable_key(op.name, v.path)
            if key in out:
                self.refuse(op.name, type(op).__name__, f"two variables map to '{key}'")
            out[key] = np.ascontiguousarray(np.asarray(v.numpy(), dtype=np.float32))


def _check_compiles(text: str, weights: dict[str, np.ndarray], dst: Path, src: Path) -> None:
    """Load and compile the result from a scratch directory before anything is written."""
    from .api import compile_spec
    from .loader import load_model

    with tempfile.TemporaryDirectory(prefix="tdc-import-") as tmp:
        path = Path(tmp) / dst.name
        write_npz(path.with_suffix(".npz"), weights)
        path.write_text(text, encoding="utf-8")
        try:
            compile_spec(load_model(path))
        except TdcError as e:
            e.file = None
            raise TdcError(f"the imported model does not compile: {e}", file=str(src)) from None
