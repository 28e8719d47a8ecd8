"""``tdc import``: saved Keras models to model files, checked against the ORIGINAL model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cli_util import tdc
from compiler.api import compile_file
from compiler.frontend.loader import load_model
from compiler.keras.oracle import import_keras
from compiler.ops import layer_types
from oracle import assert_matches, backend_outputs

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

keras = import_keras()
L = keras.layers


def perturb(model: Any, seed: int = 0) -> None:
    """Non-trivial weights everywhere: biases and BatchNorm statistics off their defaults."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        if v.path.endswith("moving_variance"):
            v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))
        else:
            v.assign(rng.normal(0.0, 0.4, v.shape).astype("float32"))


def save(tmp: Path, model: Any, name: str = "model") -> Path:
    path = tmp / f"{name}.keras"
    model.save(path)
    return path


def import_and_compare(tmp: Path, model: Any, inputs: list[np.ndarray]) -> float:
    """Save, ``tdc import``, then both backends against the original model; the worst error."""
    src = save(tmp, model)
    dst = tmp / "out" / "model.yaml"
    code, out, err = tdc("import", src, "-o", dst)
    assert code == 0, err
    assert dst.with_suffix(".npz").is_file() and "wrote" in out
    load_model(dst)
    compiled = compile_file(dst)
    ref = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    ref = list(ref) if isinstance(ref, list | tuple) else [ref]
    worst = assert_matches(compiled.graph.output_names, ref, backend_outputs(compiled, inputs))
    return max(worst["onnx"], worst["numpy"])


def normal(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, shape).astype(np.float32)


def test_functional_video_classifier(tmp_path):
    inp = keras.Input((None, 8, 8, 3), name="frames")
    x = L.TimeDistributed(L.Conv2D(4, 3, padding="same", activation="relu"), name="conv1")(inp)
    x = L.TimeDistributed(L.MaxPooling2D(2), name="pool1")(x)
    x = L.TimeDistributed(L.Flatten(), name="flat")(x)
    x = L.LSTM(6, name="lstm")(x)
    y = L.Dense(5, activation="softmax", name="probs")(x)
    model = keras.Model(inp, y, name="video_classifier")
    perturb(model)
    import_and_compare(tmp_path, model, [normal(2, 4, 8, 8, 3)])
    text = (tmp_path / "out" / "model.yaml").read_text()
    assert "name: video_classifier" in text and "weights: model.npz" in text
    assert "initializer" not in text and "inputs:" not in text.split("layers:")[1]


def test_sequential_time_distributed_batchnorm(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((None, 6), name="x"),
            L.TimeDistributed(L.Dense(8, activation="tanh"), name="td"),
            L.BatchNormalization(name="bn"),
            L.Dropout(0.3, name="drop"),
            L.GRU(5, return_sequences=True, name="gru"),
            L.Dense(3, name="head"),
        ]
    )
    perturb(model, seed=3)
    bn = model.get_layer("bn")
    assert not np.allclose(bn.moving_mean.numpy(), 0)
    assert not np.allclose(bn.moving_variance.numpy(), 1)
    import_and_compare(tmp_path, model, [normal(3, 7, 6)])


@pytest.mark.skipif(not {"Add", "Concatenate"} <= set(layer_types()), reason="no merge layers yet")
def test_functional_branch_merge_two_outputs(tmp_path):
    a = keras.Input((None, 6), name="a")
    b = keras.Input((None, 4), name="b")
    left = L.Dense(8, activation="relu", name="left")(a)
    right = L.Dense(8, name="right")(b)
    added = L.Add(name="add")([left, right])
    cat = L.Concatenate(name="cat")([added, left])
    tags = L.Dense(3, activation="softmax", name="tags")(cat)
    state = L.LSTM(4, name="summary")(cat)
    model = keras.Model([a, b], [tags, state])
    perturb(model, seed=5)
    import_and_compare(tmp_path, model, [normal(2, 5, 6, seed=1), normal(2, 5, 4, seed=2)])
    spec = load_model(tmp_path / "out" / "model.yaml")
    assert spec.outputs == ["tags", "summary"]
    assert spec.layer("add").inputs == ["left", "right"]


@pytest.mark.skipif(
    not {"Embedding", "Bidirectional", "Masking"} <= set(layer_types()), reason="not yet"
)
def test_embedding_mask_bidirectional(tmp_path):
    inp = keras.Input((None,), dtype="int32", name="tok")
    x = L.Embedding(20, 6, mask_zero=True, name="emb")(inp)
    x = L.Bidirectional(L.LSTM(5, return_sequences=True), name="bilstm")(x)
    x = L.Bidirectional(L.GRU(3), merge_mode="sum", name="bigru")(x)
    model = keras.Model(inp, L.Dense(2, name="out")(x))
    perturb(model, seed=7)
    tokens = np.random.default_rng(0).integers(1, 20, (3, 6)).astype("int32")
    tokens[0, 4:] = 0
    import_and_compare(tmp_path, model, [tokens])
    text = (tmp_path / "out" / "model.yaml").read_text()
    assert "backward_layer" not in text and "not_equal" not in text


def test_deterministic_and_help(tmp_path):
    model = keras.Sequential([keras.Input((None, 3)), L.Dense(2, name="d")])
    src = save(tmp_path, model)
    files = []
    for k in range(2):
        dst = tmp_path / f"run{k}" / "m.yaml"
        assert tdc("import", src, "-o", dst)[0] == 0
        files.append((dst.read_bytes(), dst.with_suffix(".npz").read_bytes()))
    assert files[0] == files[1]
    code, out, _ = tdc("import", "--help")
    assert code == 0 and "Examples:" in out and "tdc import" in out


@keras.saving.register_keras_serializable(package="tdc_test")
class Scale(keras.layers.Layer):
    """A custom layer: it loads safely, and tdc cannot know it."""

    def call(self, x: Any) -> Any:
        return x * 2.0


def unsupported_types() -> list[str]:
    """Built-in Keras layer types tdc lacks that work on a (batch, time, features) input."""
    candidates = ["ActivityRegularization", "UnitNormalization", "UpSampling1D"]
    return [t for t in candidates if t not in layer_types()][:1]


def assert_refused(tmp: Path, src: Path) -> str:
    dst = tmp / "out" / "model.yaml"
    code, out, err = tdc("import", src, "-o", dst)
    assert code == 2, (out, err)
    assert err.startswith("tdc: error:") and "Traceback" not in err
    assert not (tmp / "out").exists()
    return err


def test_refuses_all_offending_layers(tmp_path):
    types = unsupported_types()
    inp = keras.Input((None, 4), name="x")
    shared = L.Dense(4, name="shared")
    x = Scale(name="custom")(shared(shared(inp)))
    x = x + keras.ops.ones_like(x)  # a Keras op, not a layer
    for k, typ in enumerate(types):
        x = getattr(L, typ)(name=f"bad{k}")(x)
    model = keras.Model(inp, L.Dense(2, name="out")(x))
    err = assert_refused(tmp_path, save(tmp_path, model))
    assert "'shared' (Dense)" in err and "shared layers" in err
    assert "'custom' (Scale): layer type not supported" in err
    for k, typ in enumerate(types):
        assert f"'bad{k}' ({typ})" in err


def test_refuses_shared_nested_model_and_bad_argument(tmp_path):
    """A nested model called twice (the model file has no form for sharing) and a bad
    argument are both reported."""
    inner = keras.Sequential([keras.Input((None, 4)), L.Dense(4)], name="inner")
    inp = keras.Input((None, 4), batch_size=2, name="x")
    x = L.Add(name="both")([inner(inp), inner(L.ReLU(name="relu")(inp))])
    x = L.Conv1D(3, 2, dilation_rate=2, groups=1, name="conv")(x)
    model = keras.Model(inp, L.LSTM(2, stateful=True, name="rnn")(x))
    err = assert_refused(tmp_path, save(tmp_path, model))
    assert "'inner'" in err and "shared models" in err
    assert "'rnn' (LSTM)" in err


def test_refuses_lambda_missing_and_corrupt(tmp_path):
    inp = keras.Input((3,), name="x")
    model = keras.Model(inp, L.Lambda(lambda t: t * 2.0, name="double")(inp))
    err = assert_refused(tmp_path, save(tmp_path, model))
    assert "cannot load the Keras model" in err
    err = assert_refused(tmp_path, tmp_path / "missing.keras")
    assert "not found" in err
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip file")
    assert "not a saved Keras model" in assert_refused(tmp_path, bad)


def test_many_refused_layers_give_one_short_message(tmp_path):
    """One kind of problem: one line with its count and a few names."""
    x = inp = keras.Input((8, 4))
    for k in range(30):
        x = L.ActivityRegularization(l2=0.01, name=f"reg{k}")(x)
    src = save(tmp_path, keras.Model(inp, x))
    code, _, err = tdc("import", src, "-o", tmp_path / "m.yaml")
    assert code == 2 and "cannot import 30 layer(s)" in err and "30 layers (" in err, err
    assert "'reg0'" in err and "'reg29'" not in err and len(err) < 2000, err
    assert not (tmp_path / "m.yaml").exists()
