"""``tdc verify`` against the user's saved Keras model (``--keras`` or the recorded source)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from cli_util import tdc
from compiler.keras.importer import SOURCE_TAG, recorded_source, source_line
from compiler.keras.oracle import import_keras

keras = import_keras()
L = keras.layers


def saved_model(path: Path, features: int = 4) -> Path:
    """A small sequence model with non-trivial weights, saved at ``path``."""
    inp = keras.Input((None, features), name="x")
    x = L.TimeDistributed(L.Dense(8, activation="relu"), name="td")(inp)
    x = L.LSTM(6, return_sequences=True, name="rnn")(x)
    out = L.Dense(3, activation="tanh", name="head")(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    for v in model.weights:
        v.assign(rng.normal(0.0, 0.5, v.shape).astype("float32"))
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


@pytest.fixture
def imported(tmp_path):
    src = saved_model(tmp_path / "saved" / "model.keras")
    dst = tmp_path / "models" / "model.yaml"
    code, _, err = tdc("import", src, "-o", dst)
    assert code == 0, err
    return src, dst


@pytest.mark.slow
def test_edited_model_file_fails_against_the_saved_model(imported):
    """The YAML rebuild follows the edit; the saved model does not, and verify says so."""
    src, dst = imported
    code, out, err = tdc("verify", dst)
    assert code == 0 and f"compared with Keras model {src}\n" in out, out + err
    text = dst.read_text()
    assert "activation: tanh" in text
    dst.write_text(text.replace("activation: tanh", "activation: sigmoid"))

    code, out, err = tdc("verify", dst, "--rebuild")
    assert code == 0 and "compared with the model file rebuilt in Keras\n" in out, out + err

    for args in ((), ("--keras", src)):
        code, out, err = tdc("verify", dst, *args)
        assert code == 1, out + err
        assert f"compared with Keras model {src}\n" in out and "MISMATCH" in out, out
        assert f"differs from Keras model {src}" in err, err
        assert "first diverging layer: 'head' (layer by layer against the same Keras model)" in err


@pytest.mark.slow
def test_recorded_source_gone_falls_back_with_a_note(imported):
    src, dst = imported
    src.rename(src.with_name("moved.keras"))
    code, out, err = tdc("verify", dst)
    assert code == 0, out + err
    assert f"was imported from {src}, which is not there" in out, out
    assert "compared with the model file rebuilt in Keras\n" in out
    code, _, err = tdc("verify", dst, "--keras", src)
    assert code == 2 and "not found" in err and str(src) in err, err


@pytest.mark.slow
def test_a_saved_model_that_does_not_fit(imported, tmp_path):
    _, dst = imported
    other = saved_model(tmp_path / "other.keras", features=5)
    code, out, err = tdc("verify", dst, "--keras", other)
    assert code == 2 and out == "", out + err
    assert err.startswith(f"tdc: error: {other}: does not fit {dst}: input 'x' is "), err
    assert "[null, 5] float32" in err and "[null, 4] float32" in err and "Traceback" not in err
    code, _, err = tdc("verify", dst, "--keras", other, "--streaming")
    assert code == 2 and "--keras" in err, err


@pytest.mark.slow
def test_saved_model_float64_reference(imported):
    """A tolerance no float32 result meets: judged against the saved model in float64."""
    _, dst = imported
    code, out, err = tdc("verify", dst, "--atol", "1e-12", "--rtol", "0")
    assert "from float64, Keras float32" in out and "no float64 run" not in out, out + err
    assert code == (0 if "MISMATCH" not in out else 1)


def test_source_line_survives_hostile_paths(tmp_path):
    """Newlines, quotes, '#', ': ' and non-ASCII stay inside one comment line."""
    weird = tmp_path / "sa ved" / 'a "b"\n# c: d\u00e9\u4e2d.keras'
    model = tmp_path / "models" / "m.yaml"
    model.parent.mkdir()
    line = source_line(weird, model)
    assert line.startswith(SOURCE_TAG) and line.count("\n") == 1 and line.isascii()
    assert json.loads(line[len(SOURCE_TAG) :]) == '../sa ved/a "b"\n# c: d\u00e9\u4e2d.keras'
    model.write_text(line + "inputs:\n  x: {shape: [3]}\nlayers:\n  - {type: Dense, units: 2}\n")
    assert yaml.safe_load(model.read_text()) == {
        "inputs": {"x": {"shape": [3]}},
        "layers": [{"type": "Dense", "units": 2}],
    }
    assert recorded_source(model) == weird.resolve()
    model.write_text('# imported from: ["not", "a string"]\ninputs: {}\n')
    assert recorded_source(model) is None
    model.write_text('inputs: {}\n# imported from: "/x.keras"\n')
    assert recorded_source(model) is None
