"""Acceptance: every keras.applications CNN family (weights=None, the smallest input each
takes), flat and as ``TimeDistributed(backbone) -> LSTM -> Dense`` over T = 4 frames,
through the user's path: ``model.save``, ``tdc import``, ``tdc verify`` against the saved
Keras model itself (both targets, batch 2), and the step form of the TimeDistributed model
frame by frame against the whole sequence (both targets).

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
from compiler.backends.numpy.codegen import load_module
from compiler.tools.stream_verify import steps

pytestmark = [pytest.mark.slow, pytest.mark.applications]

#: keras.applications class -> the smallest square input it accepts without weights.
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
    """Each BatchNormalization's moving statistics set to its batch statistics on one
    random batch: one training-mode call with momentum 0."""
    norms = [n for n in model._flatten_layers() if isinstance(n, keras.layers.BatchNormalization)]
    kept = [n.momentum for n in norms]
    for n in norms:
        n.momentum = 0.0
    model(
        np.random.default_rng(0).normal(size=(8, size, size, 3)).astype(np.float32), training=True
    )
    for n, momentum in zip(norms, kept, strict=True):
        n.momentum = momentum


def video(cnn: Any, size: int) -> Any:
    import keras

    x = keras.Input((FRAMES, size, size, 3), name="frames")
    h = keras.layers.TimeDistributed(cnn, name="cnn")(x)
    h = keras.layers.LSTM(8, name="lstm")(h)
    return keras.Model(x, keras.layers.Dense(3, activation="softmax", name="probs")(h))


def import_and_verify(model: Any, path: Path) -> Path:
    """Save, import, and verify against the saved model; the model file's path."""
    model.save(path)
    yaml_path = path.with_suffix(".yaml")
    code, _, err = tdc("import", str(path), "-o", str(yaml_path))
    assert code == 0, err
    code, out, err = tdc("verify", str(yaml_path), "--batch", "2")
    assert code == 0, out + err
    assert path.name in out, out  # compared with the saved model, and says so
    return yaml_path


def check_steps(yaml_path: Path, size: int) -> None:
    """The step form, frame by frame, ends where the whole sequence does (both targets)."""
    compiled = compile_file(yaml_path)
    x = np.random.default_rng(2).normal(size=(2, FRAMES, size, size, 3)).astype(np.float32)
    whole = load_module(*compiled.numpy_source()).predict(x)
    for backend in ("onnx", "numpy"):
        last = list(steps(compiled, backend, [x]))[-1]["probs"]
        np.testing.assert_allclose(last, whole, atol=1e-5, rtol=1e-4, err_msg=backend)


@pytest.mark.parametrize(("name", "size"), FAMILIES.items(), ids=list(FAMILIES))
def test_backbone(tmp_path, name, size):
    cnn = backbone(name, size)
    x = np.random.default_rng(1).normal(size=(2, size, size, 3)).astype(np.float32)
    assert float(np.mean(np.abs(cnn.predict(x, verbose=0)))) > 1e-2  # features, not ~0
    import_and_verify(cnn, tmp_path / "flat.keras")
    td = import_and_verify(video(cnn, size), tmp_path / "video.keras")
    check_steps(td, size)
