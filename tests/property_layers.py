"""Hypothesis strategies for the layers of the property-based suite (test_properties.py).

Every drawn layer is valid for the shape it is given. Per-frame layers (what
TimeDistributed wraps: convolutions, pooling, pointwise layers, nested TimeDistributed)
are returned with the shape they produce; sequence layers on (N, T, F) (RNNs,
Bidirectional, merges of two branches, the layers that reduce frames to feature vectors)
are added to a ``Stack``, the model drawn so far.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from compiler.frontend.params import ACTIVATIONS

#: ``exponential`` compounds through a stack into overflow (in Keras too): last layer only.
ACTS = tuple(a for a in ACTIVATIONS if a != "exponential")
RNN_ACTS = ("tanh", "sigmoid", "relu", "hard_sigmoid", "softsign", "elu", "linear", "gelu")
GATE_ACTS = ("sigmoid", "hard_sigmoid", "tanh")
MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")


class Stack:
    """The model being drawn: its layers so far and the current shape (batch excluded)."""

    def __init__(self, shape: list[Any]) -> None:
        self.shape = shape
        self.time: int | None = shape[0]
        self.layers: list[dict[str, Any]] = []
        self.masked = False

    def add(self, layer: dict[str, Any], shape: list[Any]) -> str:
        name = f"l{len(self.layers)}"
        self.layers.append({"name": name, **layer})
        self.shape = shape
        return name


# -- per-frame layers (what TimeDistributed wraps) ------------------------------------------


def _out_len(n: int, k: int, s: int, d: int, padding: str) -> int:
    if padding in ("same", "causal"):
        return -(-n // s)
    return (n - d * (k - 1) - 1) // s + 1


@st.composite
def conv(draw: Any, frame: tuple[int, ...]) -> tuple[dict[str, Any], tuple[int, ...]]:
    """Conv1D on (L, C) or Conv2D on (H, W, C) with random options (shape kept >= 1)."""
    rank = len(frame) - 1
    cin = frame[-1]
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(rank))
    dilated = draw(st.booleans())
    strides = (1,) * rank if dilated else tuple(draw(st.integers(1, 2)) for _ in range(rank))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(rank)) if dilated else (1,) * rank
    paddings = ["valid", "same"] + (["causal"] if rank == 1 else [])
    padding = draw(st.sampled_from(paddings))
    dims = zip(frame[:-1], kernel, strides, dilation, strict=True)
    spatial = [_out_len(n, k, s, d, padding) for n, k, s, d in dims]
    if min(spatial) < 1:
        padding = "same"
        spatial = [-(-n // s) for n, s in zip(frame[:-1], strides, strict=True)]
    filters = draw(st.integers(1, 4))
    groups = 2 if cin % 2 == 0 and filters % 2 == 0 and draw(st.booleans()) else 1
    layer = {
        "type": f"Conv{rank}D",
        "filters": filters,
        "kernel_size": list(kernel),
        "strides": list(strides),
        "padding": padding,
        "dilation_rate": list(dilation),
        "groups": groups,
        "activation": draw(st.sampled_from(ACTS)),
        "use_bias": draw(st.booleans()),
    }
    return layer, (*spatial, filters)


@st.composite
def pool(draw: Any, frame: tuple[int, ...]) -> tuple[dict[str, Any], tuple[int, ...]]:
    rank = len(frame) - 1
    kind = draw(st.sampled_from(["Max", "Average"]))
    size = [draw(st.integers(1, 3)) for _ in range(rank)]
    strides = draw(st.none() | st.lists(st.integers(1, 2), min_size=rank, max_size=rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    steps = strides or size
    if padding == "valid" and any(p > n for p, n in zip(size, frame[:-1], strict=True)):
        padding = "same"
    if padding == "same":
        spatial = [-(-n // s) for n, s in zip(frame[:-1], steps, strict=True)]
    else:
        spatial = [(n - p) // s + 1 for n, p, s in zip(frame[:-1], size, steps, strict=True)]
    layer = {"type": f"{kind}Pooling{rank}D", "pool_size": size, "strides": strides}
    return {**layer, "padding": padding}, (*spatial, frame[-1])


@st.composite
def pointwise(draw: Any, shape: tuple[Any, ...]) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """Layers on the last axis that work at any rank: Dense, activations, normalisation."""
    kind = draw(st.sampled_from(["Dense", "Dense", "Activation", "BN", "LN", "Dropout"]))
    if kind == "Dense":
        units = draw(st.integers(1, 4))
        act = draw(st.sampled_from(ACTS))
        layer = {"type": "Dense", "units": units, "activation": act}
        return {**layer, "use_bias": draw(st.booleans())}, (*shape[:-1], units)
    if kind == "Activation":
        return {"type": "Activation", "activation": draw(st.sampled_from(ACTS))}, shape
    if kind == "BN":
        opts = {k: draw(st.booleans()) for k in ("center", "scale")}
        return {"type": "BatchNormalization", **opts}, shape
    if kind == "LN":
        opts = {k: draw(st.booleans()) for k in ("center", "scale")}
        return {"type": "LayerNormalization", "epsilon": 1e-3, **opts}, shape
    return {"type": "Dropout", "rate": 0.5}, shape


@st.composite
def frame_layer(draw: Any, frame: tuple[int, ...]) -> tuple[dict[str, Any], tuple[int, ...]]:
    """One layer for TimeDistributed to wrap, on a frame of rank 1 to 3."""
    choices = ["pointwise"]
    if len(frame) >= 2:
        choices += ["conv", "conv", "pool", "global", "flatten"]
    if len(frame) == 3:
        choices += ["nested"]
    kind = draw(st.sampled_from(choices))
    if kind == "conv":
        return draw(conv(frame))
    if kind == "pool":
        return draw(pool(frame))
    if kind == "global":
        stem = draw(st.sampled_from(["GlobalAveragePooling", "GlobalMaxPooling"]))
        return {"type": f"{stem}{len(frame) - 1}D"}, (frame[-1],)
    if kind == "flatten":
        return {"type": "Flatten"}, (int(np.prod(frame)),)
    if kind == "nested":  # TimeDistributed(TimeDistributed(layer)) over the frame's first axis
        inner, out = draw(frame_layer(frame[1:]))
        return {"type": "TimeDistributed", "layer": inner}, (frame[0], *out)
    return draw(pointwise(frame))


# -- sequence layers on (N, T, ...) ----------------------------------------------------------


@st.composite
def rnn(draw: Any, units_max: int = 4) -> dict[str, Any]:
    kind = draw(st.sampled_from(["SimpleRNN", "LSTM", "GRU"]))
    layer: dict[str, Any] = {
        "type": kind,
        "units": draw(st.integers(1, units_max)),
        "activation": draw(st.sampled_from(RNN_ACTS)),
        "use_bias": draw(st.booleans()),
        "go_backwards": draw(st.booleans()),
        "unroll": draw(st.integers(0, 5)) == 0,
    }
    if kind != "SimpleRNN":
        layer["recurrent_activation"] = draw(st.sampled_from(GATE_ACTS))
    if kind == "GRU":
        layer["reset_after"] = draw(st.booleans())
    return layer


@st.composite
def recurrent(draw: Any, s: Stack, sequences: bool) -> None:
    """An RNN or a Bidirectional one on (N, T, F)."""
    layer = {**draw(rnn()), "return_sequences": sequences}
    units = layer["units"]
    if draw(st.integers(0, 3)) == 0:  # Keras refuses go_backwards inside Bidirectional
        layer["go_backwards"] = False
        mode = draw(st.sampled_from(["concat", "sum", "mul", "ave"]))
        units *= 2 if mode == "concat" else 1
        layer = {"type": "Bidirectional", "layer": layer, "merge_mode": mode}
    s.add(layer, [s.shape[0], units] if sequences else [units])


@st.composite
def merge(draw: Any, s: Stack) -> None:
    """Two branches from the current tensor (or the tensor itself) merged by one layer."""
    src = s.layers[-1]["name"] if s.layers else "x"
    kind = draw(st.sampled_from(MERGES))
    last = s.shape[-1]
    units = [draw(st.integers(1, 4)) for _ in range(2)] if kind == "Concatenate" else [last] * 2
    names = []
    residual = kind != "Concatenate" and draw(st.booleans())
    for u in units[residual:]:
        layer = {"type": "Dense", "units": u, "activation": draw(st.sampled_from(ACTS))}
        if draw(st.booleans()):
            layer = {"type": "TimeDistributed", "layer": layer}
        names.append(s.add({**layer, "inputs": src}, s.shape))
    ins = [src, *names] if residual else names
    out = sum(units) if kind == "Concatenate" else last
    s.add({"type": kind, "inputs": ins}, [*s.shape[:-1], out])


@st.composite
def frames_to_features(draw: Any, s: Stack) -> None:
    """TimeDistributed layers (and direct pointwise ones) until the step is a vector."""
    while len(s.shape) > 2:
        frame = tuple(s.shape[1:])
        if draw(st.integers(0, 4)) == 0:
            layer, out = draw(pointwise(frame))
            s.add(layer, [s.shape[0], *out])
            continue
        if draw(st.integers(0, 3)) == 0 or len(s.layers) > 6:  # collapse the frame
            stem = draw(st.sampled_from(["Flatten", "GlobalAveragePooling", "GlobalMaxPooling"]))
            if stem == "Flatten":
                layer, out = {"type": "Flatten"}, (int(np.prod(frame)),)
            else:
                layer, out = {"type": f"{stem}{len(frame) - 1}D"}, (frame[-1],)
        else:
            layer, out = draw(frame_layer(frame))
        s.add({"type": "TimeDistributed", "layer": layer}, [s.shape[0], *out])


@st.composite
def sequence_layers(draw: Any, s: Stack) -> None:
    """Layers on (N, T, F), then maybe one that drops time, then a short head."""
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["rnn", "td", "pointwise", "conv", "merge"]))
        if kind == "rnn":
            draw(recurrent(s, sequences=True))
        elif kind == "merge":
            draw(merge(s))
        elif kind == "conv":  # Conv1D over time: a causal or same-padded kernel
            layer, out = draw(conv((5, s.shape[1])))
            layer |= {"padding": draw(st.sampled_from(["same", "causal"])), "strides": [1]}
            s.add(layer, [s.shape[0], out[-1]])
        else:
            layer, out = draw(pointwise((s.shape[-1],)))
            if kind == "td":
                layer = {"type": "TimeDistributed", "layer": layer}
            s.add(layer, [s.shape[0], *out])
    end = draw(st.sampled_from(["sequence", "rnn", "rnn", "global"]))
    if end == "rnn":
        draw(recurrent(s, sequences=False))
    elif end == "global":
        stem = draw(st.sampled_from(["GlobalAveragePooling1D", "GlobalMaxPooling1D"]))
        s.add({"type": stem}, [s.shape[-1]])
    for _ in range(draw(st.integers(0, 2))):
        layer, out = draw(pointwise(tuple(s.shape)))
        s.add(layer, list(out))
    if not s.layers or draw(st.integers(0, 5)) == 0:  # exponential only at the very end
        s.add({"type": "Activation", "activation": "exponential"}, s.shape)
