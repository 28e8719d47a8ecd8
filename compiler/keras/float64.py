"""The float64 reference of ``tdc verify``: how far Keras's own float32 result is from exact.

On a deep model (ResNet50, InceptionV3) float32 rounding alone moves Keras's outputs by
~1e-3, more than ``verify``'s default ``atol``. When a float32 comparison misses, the same
Keras model is run in float64 with the same weights on the same inputs; a backend passes
when it is no farther from float64 than Keras float32 is (times ``FACTOR``).

The float64 model is built and run inside ``float64_keras()``: JAX's 64-bit types are on
for that block only (``jax.enable_x64`` is a thread-local context) and Keras's global dtype
policy is put back afterwards, so nothing else in the process changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..frontend.loader import LayerSpec, ModelSpec
from .oracle import import_keras

#: A backend passes when its distance to float64 is at most this times Keras float32's.
FACTOR = 1.5


@contextmanager
def float64_keras() -> Iterator[Any]:
    """Keras building float64 layers on JAX with 64-bit types, for this block only.

    Keras's type promotion turns float64 into float32 on JAX (``tanh`` of a float64 tensor
    is float32), to follow JAX's default; that rule is lifted for the block too.
    """
    import jax

    keras = import_keras()
    old = keras.config.dtype_policy()
    with jax.enable_x64(True), _keep_float64():
        keras.config.set_dtype_policy("float64")
        try:
            yield keras
        finally:
            keras.config.set_dtype_policy(old)


@contextmanager
def _keep_float64() -> Iterator[None]:
    """Keras's float64 -> float32 promotion rule off for the block (where Keras has it)."""
    try:
        from keras.src.backend.common import dtypes
    except ImportError:  # another Keras layout: outputs are checked to be float64 anyway
        yield
        return
    table = getattr(dtypes, "BIT64_TO_BIT32_DTYPE", {})
    had, old = "float64" in table, table.get("float64")
    table["float64"] = "float64"
    try:
        yield
    finally:
        if had:
            table["float64"] = old
        else:
            table.pop("float64", None)


def float64_outputs(
    build: Callable[[], Any],
    run: Callable[[Any, list[np.ndarray]], list[np.ndarray]],
    inputs: list[list[np.ndarray]],
) -> list[list[np.ndarray]]:
    """``run(model, xs)`` for every ``xs`` in ``inputs`` on the float64 model ``build()``
    makes, all inside ``float64_keras()``. Raises RuntimeError where Keras did not compute
    in float64 (a layer that keeps float32)."""
    with float64_keras():
        model = build()
        outs = [run(model, [_wide(x) for x in xs]) for xs in inputs]
    for out in outs:
        for o in out:
            if np.issubdtype(o.dtype, np.floating) and o.dtype != np.float64:
                raise RuntimeError(f"an output came back as {o.dtype}, not float64")
    return outs


def _wide(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) if x.dtype == np.float32 else x


def float64_spec(spec: ModelSpec) -> ModelSpec:
    """``spec`` with float64 inputs, nested models' included, so that nothing is computed
    in float32 before the first layer (``x * 3.0`` on a float32 input rounds)."""
    inputs = [replace(i, dtype="float64") if i.dtype == "float32" else i for i in spec.inputs]
    return replace(spec, inputs=inputs, layers=[_float64_layer(lay) for lay in spec.layers])


def _float64_layer(lay: LayerSpec) -> LayerSpec:
    model = getattr(lay, "model", None)
    changes: dict[str, Any] = {}
    if model is not None:
        changes["model"] = float64_spec(model)
    if lay.inner is not None:
        changes["inner"] = _float64_layer(lay.inner)
    return replace(lay, **changes) if changes else lay


def to_float64(config: Any) -> Any:
    """A Keras config with every float32 dtype (layer policies, inputs) made float64."""
    if isinstance(config, list):
        return [to_float64(c) for c in config]
    if not isinstance(config, dict):
        return config
    out = {k: to_float64(v) for k, v in config.items()}
    if out.get("dtype") == "float32":
        out["dtype"] = "float64"
    if out.get("class_name") == "DTypePolicy" and isinstance(out.get("config"), dict):
        if out["config"].get("name") == "float32":
            out["config"] = {**out["config"], "name": "float64"}
    return out


def clone_float64(model: Any) -> Any:
    """``model`` (a loaded Keras model) rebuilt from its config in float64, with its
    weights. Call inside ``float64_keras()``."""
    keras = import_keras()
    config = to_float64(keras.saving.serialize_keras_object(model))
    clone = keras.saving.deserialize_keras_object(config, safe_mode=True)
    if len(clone.weights) != len(model.weights):
        raise RuntimeError("the float64 copy has other variables than the model")
    for new, old in zip(clone.weights, model.weights, strict=True):
        value = np.asarray(old.numpy())
        if tuple(new.shape) != value.shape:
            raise RuntimeError(f"variable {old.path}: {value.shape} became {tuple(new.shape)}")
        new.assign(value.astype(new.dtype))
    return clone


def distance(got: np.ndarray, ref: np.ndarray) -> float:
    """The max abs difference: 0 where both hold the same infinity or both NaN; inf for
    another shape or a NaN or infinity on one side only."""
    return _max(_differences(got, ref))


def rms_distance(got: np.ndarray, ref: np.ndarray) -> float:
    """The root mean square difference, with ``distance``'s rules for infinities, NaN
    and shapes."""
    return _rms(_differences(got, ref))


def _max(diff: np.ndarray | None) -> float:
    return float(np.max(diff, initial=0.0)) if diff is not None else float("inf")


def _rms(diff: np.ndarray | None) -> float:
    if diff is None:
        return float("inf")
    return float(np.sqrt(np.mean(np.square(diff)))) if diff.size else 0.0


def _differences(got: np.ndarray, ref: np.ndarray) -> np.ndarray | None:
    """``|got - ref|`` in float64 (0 where both hold the same value, infinity or NaN), or
    None for another shape or a non-finite value on one side only."""
    if got.shape != ref.shape:
        return None
    a, b = got.astype(np.float64), ref.astype(np.float64)
    with np.errstate(invalid="ignore"):
        diff = np.abs(a - b)
    diff[(a == b) | (np.isnan(a) & np.isnan(b))] = 0.0
    return diff if bool(np.all(np.isfinite(diff))) else None


@dataclass
class Judgement:
    """A backend's and Keras float32's distances to float64 on one output: root mean
    square (what is judged) and max (reported).

    The judgement is on the RMS: float32 rounding is noise, and its max over one output
    swings from element to element (per sample of a MobileNetV3Large, the backend's and
    Keras's max errors trade places by up to 1.7x either way) where the RMS is steady."""

    backend: float
    keras: float
    backend_max: float = float("nan")
    keras_max: float = float("nan")

    @property
    def ok(self) -> bool:
        """No farther from float64 than Keras float32 is (times ``FACTOR``), and finitely."""
        return bool(np.isfinite(self.backend)) and self.backend <= FACTOR * self.keras

    def text(self) -> str:
        """``6.1e-05 RMS from float64, Keras float32 7.9e-05 (max 6.1e-04, 7.9e-04): ...``."""
        verdict = "within" if self.ok else "farther than"
        return (
            f"{self.backend:.1e} RMS from float64, Keras float32 {self.keras:.1e} "
            f"(max {self.backend_max:.1e}, {self.keras_max:.1e}): "
            f"{verdict} Keras's own float32 error (x{FACTOR:g})"
        )


def judge(got: np.ndarray, keras32: np.ndarray, ref64: np.ndarray) -> Judgement:
    """How a backend's output and Keras's float32 output compare with float64."""
    ours, theirs = _differences(got, ref64), _differences(keras32, ref64)
    return Judgement(_rms(ours), _rms(theirs), _max(ours), _max(theirs))
