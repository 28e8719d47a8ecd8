"""A trained keras.applications MobileNetV2, for measuring reduced precision on real decisions.

A MobileNetV2 with random weights changes its top-1 on a quarter of its inputs under 1%
input noise in float32 alone, so int8 top-1 agreement on it says little. This trains one
(alpha 0.35, 10 classes, weights=None) on the synthetic gratings task of
``compiler/keras/synthetic.py`` (with half the default noise, so that it learns within
the time below), sets its BatchNormalization statistics on training images (Keras'
momentum of 0.999 leaves the moving statistics far from the data after a few hundred
steps), saves it and brings it in through ``tdc import``.

    python benchmarks/trained.py    # trains (about 2 minutes on 2 cores), prints accuracies
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: training images, held-out images, calibration images (the first training ones).
TRAIN, HELD, CALIBRATE = 3000, 500, 64
EPOCHS, BATCH, LEARNING_RATE, NOISE = 6, 32, 2e-3, 0.5


def trained_mobilenet(tmp: Path, size: int = 32) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    """(model file, calibration images, held-out images, held-out labels) of a MobileNetV2
    trained on synthetic ``size`` x ``size`` images, saved in ``tmp`` and imported by tdc."""
    path, calibration, x, y, _ = _trained(tmp, size)
    return path, calibration, x, y


def _trained(tmp: Path, size: int) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray, dict]:
    """``trained_mobilenet``'s result and a dict of figures: seconds, accuracies, the
    Keras model's probabilities on the held-out images."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    from compiler.keras.calibrate import calibrate_batchnorm
    from compiler.keras.synthetic import accuracy, images, train
    from compiler.tools.commands import import_model

    x, y = images(TRAIN, size, seed=0, noise=NOISE)
    xt, yt = images(HELD, size, seed=1, noise=NOISE)
    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(
        weights=None, input_shape=(size, size, 3), alpha=0.35, classes=10
    )
    start = time.perf_counter()
    train_acc = train(model, x, y, EPOCHS, BATCH, seed=0, learning_rate=LEARNING_RATE)
    seconds = time.perf_counter() - start
    calibrate_batchnorm(model, x[:512])
    probs = np.asarray(model.predict(xt, verbose=0))
    model.save(tmp / "mobilenet_v2_trained.keras")
    import_model(tmp / "mobilenet_v2_trained.keras", tmp / "mobilenet_v2_trained.yaml")
    figures = {
        "seconds": seconds,
        "train": train_acc,
        "train_eval": accuracy(model.predict(x[:HELD], verbose=0), y[:HELD]),
        "held": accuracy(probs, yt),
        "probs": probs,
    }
    return tmp / "mobilenet_v2_trained.yaml", x[:CALIBRATE], xt, yt, figures


def int8_agreement(path: Path, calibration: np.ndarray, x: np.ndarray, want: np.ndarray) -> float:
    """Top-1 agreement (%) of ``path`` compiled to int8 ONNX (calibrated on ``calibration``)
    with ``want``, on ``x``."""
    from compiler.api import compile_file
    from compiler.backends.onnx.session import session
    from compiler.precision import reduce
    from compiler.tools.precision_verify import agreement

    compiled = compile_file(path)
    np.save(path.with_name("calibration.npy"), calibration)
    proto = reduce(compiled.onnx(), compiled.spec, "int8", path.with_name("calibration.npy"))
    sess = session(proto)
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    return agreement(got, want, "softmax")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, calibration, x, _, f = _trained(Path(tmp), 32)
        print(
            f"MobileNetV2 0.35, 32x32: trained {EPOCHS} epochs on {TRAIN} images in "
            f"{f['seconds']:.0f} s; accuracy: train {100 * f['train']:.1f}% (last epoch), "
            f"train (inference) {100 * f['train_eval']:.1f}%, held-out {100 * f['held']:.1f}%"
        )
        agree = int8_agreement(path, calibration, x, f["probs"])
        print(
            f"int8 ONNX ({CALIBRATE} calibration images) top-1 agreement with Keras on "
            f"{len(x)} held-out images: {agree:.1f}%"
        )


if __name__ == "__main__":
    sys.exit(main())
