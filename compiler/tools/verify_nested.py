"""``tdc verify``'s divergence report inside nested models (SPEC 1.1).

When the first layer that differs from Keras is a model (bare, or wrapped in
TimeDistributed), its own layers are checked one by one on what Keras feeds it: Keras's
values at its inputs (folded to (N*T, ...) for each TimeDistributed around it) run
through the nested model alone, compiled and rebuilt in Keras with the same weights. The
report names the path down to the first layer that differs (``cnn/block_3_expand``),
descending into models within models.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..api import compile_spec, with_outputs
from ..frontend.arrays import write_npz
from ..frontend.inputs import SEQUENTIAL_INPUT
from ..frontend.loader import InputSpec, LayerSpec, ModelSpec
from ..frontend.nested import nested_of
from ..keras.oracle import keras_model, run_keras
from .verify import errors, run_backend, seeded_inputs


def nested_path(
    spec: ModelSpec,
    weights: dict[str, np.ndarray],
    name: str | None,
    backend: str,
    batch: int,
    time: int,
    tol: tuple[float, float],
) -> str | None:
    """``name``, or the path of the first layer inside it that differs, when it is a model."""
    if name is None:
        return None
    lay = spec.layer(name)
    inner, folds = nested_of(lay)
    if inner is None:
        return name
    arrays = feeds(spec, weights, lay, folds, seeded_inputs(spec, batch, time))
    return descend(inner, weights, f"{name}/", arrays, backend, tol) or name


def descend(
    inner: LayerSpec,
    weights: dict[str, np.ndarray],
    path: str,
    arrays: list[np.ndarray],
    backend: str,
    tol: tuple[float, float],
) -> str | None:
    """The path of the first layer of ``inner``'s model that differs on ``arrays``."""
    own = {k[len(path) :]: v for k, v in weights.items() if k.startswith(path)}
    with tempfile.TemporaryDirectory(prefix="tdc-verify-") as tmp:
        sub = standalone(inner, arrays, Path(tmp) / "weights.npz", own)
        names = [lay.name for lay in sub.layers]
        probe = compile_spec(with_outputs(sub, names))
        refs = run_keras(keras_model(probe.spec, probe.weights, names), arrays)
        got = run_backend(probe, backend, arrays)
        for lay, ref in zip(sub.layers, refs, strict=True):
            if not errors(got[lay.name], ref, *tol)[2]:
                return deeper(sub, probe.weights, lay, path, arrays, backend, tol)
    return None


def deeper(
    sub: ModelSpec,
    weights: dict[str, np.ndarray],
    lay: LayerSpec,
    path: str,
    arrays: list[np.ndarray],
    backend: str,
    tol: tuple[float, float],
) -> str:
    """``lay``'s path, or the path inside it when it is itself a model."""
    inner, folds = nested_of(lay)
    if inner is None:
        return path + lay.name
    arrays = feeds(sub, weights, lay, folds, arrays)
    found = descend(inner, weights, f"{lay.name}/", arrays, backend, tol)
    return path + (found or lay.name)


def feeds(
    spec: ModelSpec,
    weights: dict[str, np.ndarray],
    lay: LayerSpec,
    folds: int,
    xs: list[np.ndarray],
) -> list[np.ndarray]:
    """Keras's values at ``lay``'s inputs on ``xs``, batch and time merged once for each
    TimeDistributed around the model it holds."""
    arrays = run_keras(keras_model(spec, weights, lay.inputs), xs)
    for _ in range(folds):
        arrays = [a.reshape(-1, *a.shape[2:]) for a in arrays]
    return arrays


def standalone(
    inner: LayerSpec, arrays: list[np.ndarray], npz: Path, weights: dict[str, np.ndarray]
) -> ModelSpec:
    """``inner``'s model as a model of its own on inputs shaped like ``arrays``, its
    weights written to ``npz``."""
    model = inner.model
    assert model is not None
    inputs = [
        InputSpec("input" if i.name == SEQUENTIAL_INPUT else i.name, a.shape[1:], str(a.dtype), 0)
        for i, a in zip(model.inputs, arrays, strict=True)
    ]
    layers = [
        replace(lay, inputs=["input" if r == SEQUENTIAL_INPUT else r for r in lay.inputs])
        for lay in model.layers
    ]
    write_npz(npz, weights)
    return replace(model, inputs=inputs, layers=layers, weights=npz)
