"""Keras's default initialisers, drawn with NumPy: the distributions of ``keras.initializers``
(a seeded model's weights follow them; the values themselves are tdc's own draw)."""

from __future__ import annotations

import numpy as np


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return x * std


def _variance_scaling(
    rng: np.random.Generator, shape: tuple[int, ...], scale: float, mode: str, dist: str
) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    var = scale / max(1.0, n)
    if dist == "uniform":
        lim = np.sqrt(3.0 * var)
        return rng.uniform(-lim, lim, shape)
    return _truncated(rng, shape, np.sqrt(var) / 0.87962566103423978)


def _orthogonal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


_SCALING = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "normal"),
}


def initialise(init: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Draw ``shape`` from the named Keras initialiser (plus ``lstm_bias``: unit_forget_bias)."""
    if init in _SCALING:
        out = _variance_scaling(rng, shape, *_SCALING[init])
    elif init == "zeros":
        out = np.zeros(shape)
    elif init == "ones":
        out = np.ones(shape)
    elif init == "orthogonal":
        out = _orthogonal(rng, shape)
    elif init == "random_normal":
        out = rng.standard_normal(shape) * 0.05
    elif init == "random_uniform":
        out = rng.uniform(-0.05, 0.05, shape)
    elif init == "truncated_normal":
        out = _truncated(rng, shape, 0.05)
    elif init == "identity":
        out = np.eye(*shape)  # 2-D only, as in Keras (checked where weights are taken)
    elif init.startswith("constant:"):  # Constant(value), e.g. LayerScale's gamma
        out = np.full(shape, float(init.removeprefix("constant:")))
    elif init == "lstm_bias":
        out = np.zeros(shape)
        units = shape[0] // 4
        out[units : 2 * units] = 1.0
    else:
        raise AssertionError(f"unknown initialiser {init}")
    return np.asarray(out, dtype=np.float32)
