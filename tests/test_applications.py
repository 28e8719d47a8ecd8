"""Acceptance: every keras.applications CNN family (weights=None, the smallest input each
takes), flat and as ``TimeDistributed(backbone) -> LSTM -> Dense`` over T = 4 frames,
through the user's path: ``model.save``, ``tdc import``, both targets against the Keras
model (batch 2), and the step form of the TimeDistributed model frame by frame against
Keras's run of the whole sequence (both targets); ``tdc verify`` of an imported backbone
compares with the saved model it records. A miss of atol 1e-4 / rtol 1e-3 passes only
where the backend is no farther from a float64 run of the same model than Keras float32
is (x1.5), as ``tdc verify`` judges.

Each backbone is built once per test (flat and TimeDistributed share it). These are the
suite's heaviest tests: marked ``applications`` (and ``slow``), run by CI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_util import tdc
from compiler.api import compile_file
from compiler.keras.calibrate import calibrate_batchnorm
from compiler.keras.float64 import clone_float64, float64_outputs, judge
from compiler.keras.oracle import run_keras
from compiler.tools.stream_verify import steps
from oracle import ATOL, RTOL, backend_outputs

pytestmark = [pytest.mark.slow, pytest.mark.applications]

#: keras.applications class -> the smallest square input it accepts without weights.
#: The heavier half (marked ``heavy``): ``pytest -m heavy tests/test_applications.py``.
HEAVY = {
    "MobileNetV3Large", "ResNet50", "ResNet50V2", "DenseNet121", "EfficientNetB0",
    "EfficientNetV2B0", "NASNetMobile", "InceptionV3", "Xception", "ConvNeXtTiny",
}  # fmt: skip
FAMILIES = {
    "MobileNet": 32,
    "MobileNetV2": 32,
    "MobileNetV3Small": 32,
    "MobileNetV3Large": 32,
    "ResNet50": 32,
    "ResNet50V2": 32,
    "DenseNet121": 32,
    "EfficientNetB0": 32,
    "EfficientNetV2B0": 32,
    "NASNetMobile": 32,
    "InceptionV3": 75,
    "Xception": 71,
    "VGG16": 32,
    "ConvNeXtTiny": 32,
}
FRAMES = 4
CALIBRATION = 64


def backbone(name: str, size: int) -> Any:
    """The backbone with Keras's random initialisation and calibrated BatchNormalization
    statistics, so that its features are of order one (not vanishing, which any
    tolerance would pass)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    keras.utils.set_random_seed(0)
    make = getattr(keras.applications, name)
    model = make(weights=None, include_top=False, input_shape=(size, size, 3), pooling="avg")
    calibrate(keras, model, size)
    return model


def calibrate(keras: Any, model: Any, size: int) -> None:
    """BatchNormalization statistics set on one random batch of CALIBRATION samples
    (``calibrate_batchnorm``: at the smallest inputs the deepest layers are 1x1, where a
    batch of 8 gave EfficientNetV2B0 features up to 6e3, Keras float32 itself 7.6e2 from
    float64); a model without them (VGG16) has its last convolution scaled so that its
    features are of order one."""
    x = np.random.default_rng(0).normal(size=(CALIBRATION, size, size, 3)).astype(np.float32)
    if calibrate_batchnorm(model, x):
        return
    conv = [n for n in model._flatten_layers() if isinstance(n, keras.layers.Conv2D)][-1]
    scale = 1.0 / float(np.mean(np.abs(model.predict(x, verbose=0))))
    for v in conv.weights:  # ReLU, pooling: the features scale with the last conv
        v.assign(v.numpy() * scale)


def video(cnn: Any, size: int) -> Any:
    import keras

    x = keras.Input((FRAMES, size, size, 3), name="frames")
    h = keras.layers.TimeDistributed(cnn, name="cnn")(x)
    h = keras.layers.LSTM(8, name="lstm")(h)
    return keras.Model(x, keras.layers.Dense(3, activation="softmax", name="probs")(h))


def check_steps(compiled: Any, model: Any, size: int) -> None:
    """The step form, frame by frame, ends where Keras's whole sequence does (both
    targets), judged as the whole model is."""
    x = np.random.default_rng(2).normal(size=(2, FRAMES, size, size, 3)).astype(np.float32)
    last = {b: list(steps(compiled, b, [x]))[-1]["probs"] for b in ("onnx", "numpy")}
    assert_like_keras(model, x, last)


def assert_like_keras(model: Any, x: np.ndarray, got: dict[str, np.ndarray]) -> None:
    """Each backend's output within tolerance of Keras on ``x`` or, failing that, no
    farther from its float64 run than Keras float32 is (x1.5), as ``tdc verify`` judges."""
    ref = model.predict(x, verbose=0)
    assert 1e-2 < float(np.mean(np.abs(ref))) < 10  # outputs of order one, not ~0 nor huge
    missed = {b: out for b, out in got.items() if not np.allclose(out, ref, ATOL, RTOL)}
    if missed:
        (ref64,) = float64_outputs(lambda: clone_float64(model), run_keras, [[x]])[0]
        for backend, out in missed.items():
            verdict = judge(out, ref, ref64)
            assert verdict.ok, f"{backend}: {verdict.text()}"


def check_import(model: Any, path: Path, x: np.ndarray) -> Any:
    """Save and import ``model``; both targets against the live Keras model on ``x``,
    within tolerance or, failing that, no farther from its float64 run than Keras float32
    is (x1.5), as ``tdc verify`` judges. The compiled model file."""
    model.save(path)
    yaml_path = path.with_suffix(".yaml")
    code, _, err = tdc("import", str(path), "-o", str(yaml_path))
    assert code == 0, err
    compiled = compile_file(yaml_path)
    name = compiled.graph.output_names[0]
    assert_like_keras(model, x, {b: o[name] for b, o in backend_outputs(compiled, [x]).items()})
    return compiled


CASES = [
    pytest.param(name, size, id=name, marks=[pytest.mark.heavy] if name in HEAVY else [])
    for name, size in FAMILIES.items()
]


@pytest.mark.parametrize(("name", "size"), CASES)
def test_backbone(tmp_path, name, size):
    cnn = backbone(name, size)
    rng = np.random.default_rng(1)
    check_import(cnn, tmp_path / "flat.keras", rng.normal(size=(2, size, size, 3)).astype("f4"))
    frames = rng.normal(size=(2, FRAMES, size, size, 3)).astype("f4")
    model = video(cnn, size)
    check_steps(check_import(model, tmp_path / "video.keras", frames), model, size)


def test_verify_compares_with_the_saved_backbone():
    """The user's path: ``tdc verify`` of the example's imported MobileNetV2 compares with
    the saved Keras model its first line records, and says so."""
    path = Path(__file__).resolve().parents[1] / "examples" / "backbones" / "mobilenet_v2.yaml"
    code, out, err = tdc("verify", str(path), "--batch", "2")
    assert code == 0 and "compared with Keras model" in out and "mobilenet_v2.keras" in out, (
        out + err
    )
