"""Build the saved Keras model behind ``mobilenet_v2.yaml``: MobileNetV2 (alpha 0.35, no
top, average pooling) on 64x64 frames, with Keras's own random initialisation (seed 0) and
BatchNormalization statistics calibrated on one random batch (so that its features are of
order one, as a trained model's are).

    python examples/backbones/make_mobilenet_v2.py
    tdc import examples/backbones/mobilenet_v2.keras -o examples/backbones/mobilenet_v2.yaml
"""

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.utils.set_random_seed(0)
model = keras.applications.MobileNetV2(
    weights=None, include_top=False, input_shape=(64, 64, 3), alpha=0.35, pooling="avg"
)
norms = [n for n in model._flatten_layers() if isinstance(n, keras.layers.BatchNormalization)]
for n in norms:
    n.momentum = 0.0  # one training-mode call sets the statistics to the batch's
model(np.random.default_rng(0).normal(size=(8, 64, 64, 3)).astype(np.float32), training=True)
for n in norms:
    n.momentum = 0.999
model.save(Path(__file__).with_name("mobilenet_v2.keras"))
