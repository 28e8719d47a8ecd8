"""BatchNormalization statistics from data, for models built with random weights.

A keras.applications backbone made with ``weights=None`` has moving means of 0 and
variances of 1, so its features vanish or blow up layer after layer; tests and benchmarks
that want features of order one set each BatchNormalization's statistics to those of one
batch. A large batch matters: at small inputs the deepest layers are 1x1, and a batch of 8
gives some channels an almost-zero variance that multiplies other inputs by thousands.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def calibrate_batchnorm(model: Any, x: np.ndarray) -> int:
    """Set every BatchNormalization's moving statistics of ``model`` to its batch
    statistics on ``x`` (one jitted training-mode call with momentum 0; the momenta are
    put back). Returns how many layers it set."""
    import jax
    import keras

    norms = [n for n in model._flatten_layers() if isinstance(n, keras.layers.BatchNormalization)]
    kept = [n.momentum for n in norms]
    for n in norms:
        n.momentum = 0.0
    try:
        trainable = [v.value for v in model.trainable_variables]
        state = [v.value for v in model.non_trainable_variables]
        step = jax.jit(lambda t, s, x: model.stateless_call(t, s, x, training=True))
        _, state = step(trainable, state, x)
        for v, value in zip(model.non_trainable_variables, state, strict=True):
            v.assign(value)
    finally:
        for n, momentum in zip(norms, kept, strict=True):
            n.momentum = momentum
    return len(norms)
