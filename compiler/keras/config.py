"""Reading Keras configs for ``tdc import``: plain values, defaults, masks, wrappers."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np


def mask_graph(keras: Any, graph: Any) -> tuple[set[int], set[str]]:
    """Ids of the non-layer ops that compute masks; names of the tensors masks start from."""
    ops: set[int] = set()
    for op in graph.operations:
        for node in op._inbound_nodes:
            mask = node.arguments.kwargs.get("mask")
            if mask is not None:
                mask_leaves(keras, mask if isinstance(mask, list | tuple) else [mask], ops)
    roots = set()
    for op in graph.operations:
        cfg = op.get_config() if isinstance(op, keras.layers.Layer) else {}
        if isinstance(op, keras.layers.Masking) or cfg.get("mask_zero") is True:
            roots |= {producer(t)[0].name for t in op._inbound_nodes[0].input_tensors}
    return ops, roots


def mask_leaves(keras: Any, tensors: list[Any], seen: set[int] | None = None) -> set[str] | None:
    """Walk back through non-layer ops; the names of the layers reached (None: not tensors)."""
    leaves: set[str] = set()
    for t in tensors:
        if not hasattr(t, "_keras_history"):
            return None
        op, _ = producer(t)
        if isinstance(op, keras.layers.Layer):
            leaves.add(op.name)
            continue
        if seen is not None:
            seen.add(id(op))
        up = mask_leaves(keras, list(op._inbound_nodes[0].input_tensors), seen)
        if up is None:
            return None
        leaves |= up
    return leaves


def implied_by_wrapper(key: str, raw: Any, config: dict[str, Any], inner: bool) -> bool:
    """Values a wrapper sets by itself: Bidirectional's mirrored backward layer and masking."""
    if inner and key == "zero_output_for_mask":
        return True
    if key != "backward_layer" or not isinstance(raw, dict):
        return False
    fwd = config.get("layer")
    if not isinstance(fwd, dict) or fwd.get("class_name") != raw.get("class_name"):
        return False
    f, b = dict(fwd.get("config") or {}), dict(raw.get("config") or {})
    if b.get("go_backwards") == f.get("go_backwards"):
        return False
    for c in (f, b):
        for k in ("name", "go_backwards", "zero_output_for_mask"):
            c.pop(k, None)
    return f == b


def plain(value: Any) -> Any:
    """Tuples to lists, recursively; numpy scalars to Python ones."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def same_as_pool(key: str, value: Any, config: dict[str, Any]) -> bool:
    """Pooling ``strides`` equal to ``pool_size`` is what Keras's default (None) means."""
    return key == "strides" and "pool_size" in config and value == plain(config["pool_size"])


def dtype_name(raw: Any) -> str | None:
    if isinstance(raw, dict):
        return (raw.get("config") or {}).get("name")
    return raw if raw is None or isinstance(raw, str) else repr(raw)


def keras_default(cls: type, key: str, value: Any) -> bool:
    """Whether an argument tdc does not know holds Keras's default (so it can be left out)."""
    if key == "data_format" and value == "channels_last":
        return True
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        param = inspect.signature(init).parameters.get(key)
        if param is not None and param.default is not inspect.Parameter.empty:
            return plain(param.default) == value
    return False


def producer(tensor: Any) -> tuple[Any, int]:
    hist = tensor._keras_history
    return hist.operation, hist.tensor_index
