"""int8 on trained weights: a small CNN and a TimeDistributed conv -> LSTM clip model, trained
on the synthetic gratings task (``compiler/keras/synthetic.py``), saved, brought in by ``tdc
import`` and compiled with ``--precision int8 --calibration`` on training samples. On held-out
samples the int8 ONNX model's top-1 must agree with the live Keras model's on >= 99%; with a
broken calibration (training samples x1000, or zeros) it must not.

``tdc verify --precision int8`` is not run here: it compares on seeded standard-normal
inputs, which are noise to these models (top-1 margins around 0.1, some near 0), so its top-1
agreement there says nothing about the trained decisions."""

from __future__ import annotations

import keras
import numpy as np
import onnx
import pytest

from cli_util import tdc
from compiler.backends.onnx.session import session
from compiler.keras.synthetic import accuracy, clips, images, train
from compiler.tools.precision_verify import agreement

pytestmark = pytest.mark.slow

CLASSES, SIZE, FRAMES, CLIP_SIZE = 10, 24, 6, 16
#: training samples, held-out samples, calibration samples (the first training ones).
TRAIN, HELD, CALIBRATE = 2000, 600, 200


def _cnn() -> keras.Model:
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            L.Conv2D(16, 3, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(32, 3, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.Flatten(),
            L.Dense(CLASSES, activation="softmax"),
        ]
    )


def _clip_model() -> keras.Model:
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((FRAMES, CLIP_SIZE, CLIP_SIZE, 3)),
            L.TimeDistributed(L.Conv2D(16, 3, padding="same", activation="relu")),
            L.TimeDistributed(L.MaxPooling2D(2)),
            L.TimeDistributed(L.Conv2D(16, 3, padding="same", activation="relu")),
            L.TimeDistributed(L.MaxPooling2D(2)),
            L.TimeDistributed(L.Flatten()),
            L.LSTM(32),
            L.Dense(CLASSES, activation="softmax"),
        ]
    )


@pytest.fixture(scope="module", params=["cnn", "clip"])
def trained(request, tmp_path_factory):
    """(model file, calibration .npy, held-out x, live Keras probabilities on it, tmp dir)."""
    tmp = tmp_path_factory.mktemp(request.param)
    keras.utils.set_random_seed(0)  # the initial weights
    if request.param == "cnn":
        model, (x, y), (xt, yt) = _cnn(), images(TRAIN, SIZE, 0), images(HELD, SIZE, 1)
        epochs = 4
    else:
        model, (x, y) = _clip_model(), clips(TRAIN // 2, FRAMES, CLIP_SIZE, 0)
        xt, yt = clips(HELD // 2, FRAMES, CLIP_SIZE, 1)
        epochs = 6
    train_acc = train(model, x, y, epochs=epochs, batch_size=32, seed=0)
    want = model.predict(xt, verbose=0)
    held = accuracy(want, yt)
    assert held >= 0.9, f"{request.param}: held-out accuracy {held:.3f} (train {train_acc:.3f})"
    model.save(tmp / "model.keras")
    code, out, err = tdc("import", tmp / "model.keras", "-o", tmp / "model.yaml")
    assert code == 0, out + err
    np.save(tmp / "calib.npy", x[:CALIBRATE])
    return tmp / "model.yaml", tmp / "calib.npy", xt, want, tmp


def _int8_agreement(trained, calibration) -> float:
    """Top-1 agreement (%) of the int8 model compiled with ``calibration`` with live Keras."""
    path, _, xt, want, tmp = trained
    out = tmp / f"{calibration.stem}.onnx"
    code, stdout, err = tdc(
        "compile", path, "--target", "onnx", "--precision", "int8",
        "--calibration", calibration, "-o", out,
    )  # fmt: skip
    assert code == 0, stdout + err
    sess = session(onnx.load(out))
    got = sess.run(None, {sess.get_inputs()[0].name: xt})[0]
    return agreement(got, want, "softmax")


def test_int8_agrees_with_trained_keras(trained):
    agree = _int8_agreement(trained, trained[1])
    assert agree >= 99.0, f"int8 top-1 agreement {agree:.1f}% on {len(trained[2])} samples"


@pytest.mark.parametrize("broken", ["scaled", "zeros"])
def test_broken_calibration_disagrees(trained, broken):
    x = np.load(trained[1])
    bad = trained[4] / f"{broken}.npy"
    np.save(bad, x * 1000 if broken == "scaled" else np.zeros_like(x))
    agree = _int8_agreement(trained, bad)
    assert agree < 90.0, f"{broken} calibration: int8 top-1 agreement {agree:.1f}%"
