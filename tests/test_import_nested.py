"""``tdc import`` keeps nested models nested (SPEC 1.1): a Functional inside
TimeDistributed, a Sequential as a layer, names repeated across scopes; the result
matches the saved Keras model's own predictions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from cli_util import tdc
from compiler.api import compile_file
from oracle import assert_matches, backend_outputs

pytestmark = pytest.mark.slow


def _keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    return keras


def randomise(model: Any, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for v in model.weights:
        value = rng.normal(0.0, 0.4, v.shape)
        if "variance" in v.path:
            value = np.abs(value) + 0.5
        v.assign(value.astype(np.float32))


def video_model(keras: Any) -> Any:
    """TimeDistributed(Functional CNN) -> Sequential head -> LSTM -> Dense; 'dense' appears
    in three scopes."""
    i = keras.Input((12, 12, 3), name="image")
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(i)
    b = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.Add(name="add")([h, b])
    h = keras.layers.Dense(3, name="dense")(h)
    h = keras.layers.GlobalAveragePooling2D(name="pool")(h)
    cnn = keras.Model(i, h, name="cnn")
    head = keras.Sequential(
        [keras.Input((4, 3)), keras.layers.Dense(6, name="dense"), keras.layers.ReLU()],
        name="head",
    )
    x = keras.Input((4, 12, 12, 3), name="frames")
    y = keras.layers.TimeDistributed(cnn, name="td")(x)
    y = keras.layers.LSTM(5, name="lstm")(head(y))
    return keras.Model(x, keras.layers.Dense(2, name="dense")(y))


def imported(tmp: Path, model: Any) -> tuple[dict, Path]:
    model.save(tmp / "m.keras")
    code, _, err = tdc("import", str(tmp / "m.keras"), "-o", str(tmp / "m.yaml"))
    assert code == 0, err
    return yaml.safe_load((tmp / "m.yaml").read_text()), tmp / "m.yaml"


def matches_saved(path: Path, model: Any, shape: tuple[int, ...]) -> None:
    compiled = compile_file(path)
    x = np.random.default_rng(1).normal(size=(2, *shape)).astype(np.float32)
    ref = model.predict(x, verbose=0)
    assert_matches(compiled.graph.output_names, [ref], backend_outputs(compiled, [x]))


def test_import_keeps_the_nesting(tmp_path):
    keras = _keras()
    model = video_model(keras)
    randomise(model)
    doc, path = imported(tmp_path, model)
    td, head = doc["layers"][0], doc["layers"][1]
    assert td["type"] == "TimeDistributed" and td["layer"]["type"] == "Functional"
    assert [lay["name"] for lay in td["layer"]["layers"]] == ["conv", "bn", "add", "dense", "pool"]
    assert head["type"] == "Sequential" and head["name"] == "head"
    keys = set(np.load(tmp_path / "m.npz"))
    assert {"td/conv/kernel", "td/dense/kernel", "head/dense/kernel", "dense/kernel"} <= keys
    matches_saved(path, model, (4, 12, 12, 3))


def test_import_nested_sequential_in_timedistributed(tmp_path):
    keras = _keras()
    inner = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(3)]
    )
    x = keras.Input((None, 6))
    model = keras.Model(x, keras.layers.GRU(2)(keras.layers.TimeDistributed(inner)(x)))
    randomise(model, 3)
    doc, path = imported(tmp_path, model)
    assert doc["layers"][0]["layer"]["type"] == "Sequential"
    matches_saved(path, model, (5, 6))


def test_import_refuses_a_shared_nested_model(tmp_path):
    keras = _keras()
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)], name="shared")
    x = keras.Input((3,))
    model = keras.Model(x, keras.layers.Add()([inner(x), inner(keras.layers.ReLU()(x))]))
    model.save(tmp_path / "m.keras")
    code, _, err = tdc("import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "m.yaml"))
    assert code == 2 and "shared" in err and "used 2 times" in err, err
    assert not (tmp_path / "m.yaml").exists()
