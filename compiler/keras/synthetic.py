"""A seeded synthetic classification task, for measuring reduced precision on trained weights.

Agreement between an int8 (or float16) model and float32 says little on random weights:
their decisions sit near class boundaries and flip under tiny perturbations. A small model
trained on ``images`` (or ``clips``) makes confident decisions on held-out samples, like a
real model, so agreement on them measures the reduced model. Each class is an oriented
sinusoidal grating with its own orientation, frequency and colour, a random phase and
amplitude, plus Gaussian noise; values are of order one. Pure Keras and NumPy: no data or
weights are downloaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Per-pixel Gaussian noise, as strong as the gratings (amplitude 0.7 to 1.3): a few held-out
#: samples are then close calls, as on real data.
NOISE = 1.0


def _classes(classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each class's orientation (radians), cycles per image and RGB colour (unit length)."""
    k = np.arange(classes)
    angle = np.pi * k / classes
    cycles = np.where(k % 2 == 0, 2.0, 3.5)
    hue = 2 * np.pi * k / classes
    colour = np.stack([np.cos(hue), np.cos(hue - 2.1), np.cos(hue + 2.1)], -1) + 0.6
    return angle, cycles, colour / np.linalg.norm(colour, axis=-1, keepdims=True)


def _gratings(
    y: np.ndarray,
    size: int,
    phase: np.ndarray,
    rng: np.random.Generator,
    classes: int,
    noise: float,
) -> np.ndarray:
    """(n, k, size, size, 3) gratings of classes ``y`` at phases ``phase`` (n, k), noise added."""
    angle, cycles, colour = _classes(classes)
    n, k = phase.shape
    jitter = rng.normal(0, 0.05, n)  # a little orientation jitter per sample
    theta = angle[y] + jitter
    pos = np.linspace(-0.5, 0.5, size)
    along = np.cos(theta)[:, None, None] * pos[None, None, :]
    along = along + np.sin(theta)[:, None, None] * pos[None, :, None]  # (n, size, size)
    wave = np.sin(
        2 * np.pi * cycles[y][:, None, None, None] * along[:, None] + phase[..., None, None]
    )
    amp = rng.uniform(0.7, 1.3, n)[:, None, None, None, None]
    x = amp * wave[..., None] * colour[y][:, None, None, None, :]
    return (x + rng.normal(0, noise, x.shape)).astype(np.float32)


def images(
    n: int, size: int, seed: int, classes: int = 10, noise: float = NOISE
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded images (n, size, size, 3) float32 and their labels (n,) int64."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    return _gratings(y, size, phase, rng, classes, noise)[:, 0], y


def clips(
    n: int, frames: int, size: int, seed: int, classes: int = 10, noise: float = NOISE
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded clips (n, frames, size, size, 3) float32 and their labels (n,) int64:
    the class's grating drifting across the frames at a random speed, fresh noise each frame."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    start = rng.uniform(0, 2 * np.pi, (n, 1))
    speed = rng.uniform(0.3, 1.0, (n, 1)) * rng.choice([-1, 1], (n, 1))
    phase = start + speed * np.arange(frames)[None, :]
    return _gratings(y, size, phase, rng, classes, noise), y


def train(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    learning_rate: float = 1e-3,
) -> float:
    """Fit ``model`` (softmax output) on ``x``, ``y`` with Adam and sparse categorical
    cross-entropy, seeded (shuffling, dropout) and quiet. Returns the last epoch's training
    accuracy. For seeded initial weights, call ``keras.utils.set_random_seed`` before
    building the model."""
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True)
    return float(history.history["accuracy"][-1])


def accuracy(probs: np.ndarray, y: np.ndarray) -> float:
    """Fraction of samples whose top-1 class is the label."""
    return float((np.asarray(probs).argmax(-1) == y).mean())
