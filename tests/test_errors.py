"""Bad input of every kind: exit 2, one message naming file, line, layer; nothing written."""

import numpy as np
import pytest

from cli_util import GOOD, tdc
from cli_util import good_weights as _good_weights
from compiler.frontend.arrays import write_npz

CASES = {
    "yaml_syntax": ("inputs: [unclosed\n", ["line 2, column 1", "invalid YAML"]),
    "yaml_bad_indent": ("inputs:\n  x: 1\n y: 2\n", ["line 3, column 2", "invalid YAML"]),
    "empty_file": ("", ["must be a mapping"]),
    "top_level_list": ("- 1\n- 2\n", ["must be a mapping"]),
    "unknown_top_key": (GOOD + "extra: 1\n", ["line 6", "unknown top-level key 'extra'"]),
    "python_tag": ("inputs: !!python/object/apply:os.system ['echo hi']\n", ["invalid YAML"]),
    "unknown_type": (
        GOOD.replace("type: Dense, units: 3", "type: Dense3"),
        ["line 5", "d2", "unknown layer type 'Dense3'", "accepted:"],
    ),
    "unknown_argument": (
        GOOD.replace("units: 3", "units: 3, unit: 2"),
        ["line 5", "layer 'd2'", "unknown argument 'unit'", "units"],
    ),
    "bad_value": (
        GOOD.replace("units: 3", "units: -3"),
        ["line 5", "layer 'd2'", "'units'", "integer >= 1"],
    ),
    "bad_activation": (
        GOOD.replace("units: 3", "units: 3, activation: relux"),
        ["line 5", "'activation'", "relu6"],
    ),
    "missing_required": (
        GOOD.replace("units: 3", "use_bias: true"),
        ["line 5", "missing required argument 'units'"],
    ),
    "duplicate_name": (GOOD.replace("name: d2", "name: d1"), ["line 5", "duplicate name 'd1'"]),
    "undefined_input": (
        GOOD.replace("units: 3}", "units: 3, inputs: nope}"),
        ["layer 'd2'", "input 'nope'", "accepted:"],
    ),
    "td_rank_too_low": (GOOD.replace("[null, 6]", "[6]"), ["line 4", "layer 'd1'", "rank >= 3"]),
    "bad_input_shape": (GOOD.replace("[null, 6]", "[null, 0]"), ["line 2", "positive integers"]),
    "unknown_output": (GOOD + "outputs: [zz]\n", ["line 6", "output 'zz' is not a layer"]),
    "nested_inner_unknown": (
        GOOD.replace("type: Dense, units: 4}", "type: Dense, units: 4, x: 1}"),
        ["line 4", "layer 'd1'", "unknown argument 'x'"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_file(tmp_path, case):
    text, needles = CASES[case]
    path = tmp_path / "m.yaml"
    path.write_text(text)
    out = tmp_path / "out.onnx"
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", out)
    assert code == 2, err
    assert str(path) in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert "Traceback" not in err and err.count("\n") == 1
    assert not out.exists() and list(tmp_path.iterdir()) == [path]


def _with_weights(tmp_path, arrays):
    write_npz(tmp_path / "w.npz", arrays)
    path = tmp_path / "m.yaml"
    path.write_text(GOOD + "weights: w.npz\n")
    return path


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda w: w.pop("d2/bias"), "no key 'd2/bias' (expected shape (3,))"),
        (
            lambda w: w.update({"d3/kernel": np.zeros(2, np.float32)}),
            "keys no layer uses: d3/kernel",
        ),
        (
            lambda w: w.update({"d1/kernel": np.zeros((5, 4), np.float32)}),
            "'d1/kernel' has shape (5, 4), expected (6, 4)",
        ),
    ],
)
def test_bad_weights(tmp_path, mutate, needle):
    w = _good_weights()
    mutate(w)
    path = _with_weights(tmp_path, w)
    code, _, err = tdc("compile", path, "--target", "numpy", "-o", tmp_path / "o.py")
    assert code == 2 and needle in err and "w.npz" in err, err
    assert not (tmp_path / "o.py").exists() and not (tmp_path / "o.npz").exists()


def test_pickled_weights_are_refused(tmp_path):
    np.savez(tmp_path / "w.npz", **{"d1/kernel": np.array([{"a": 1}], dtype=object)})
    path = tmp_path / "m.yaml"
    path.write_text(GOOD + "weights: w.npz\n")
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", tmp_path / "o.onnx")
    assert code == 2 and "pickled" in err, err


def test_good_weights_compile(tmp_path):
    path = _with_weights(tmp_path, _good_weights())
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", tmp_path / "o.onnx")
    assert code == 0, err and (tmp_path / "o.onnx").stat().st_size > 0


@pytest.mark.parametrize(
    "array,needle",
    [
        (np.zeros((2, 5, 7), np.float32), "has shape (2, 5, 7), expected ('batch', 'any', 6)"),
        (np.zeros((2, 6), np.float32), "has shape (2, 6)"),
        (np.full((2, 3, 6), "a"), "not numeric"),
        (np.full((2, 3, 6), 1 + 2j), "expected float32"),
    ],
)
def test_bad_run_inputs(tmp_path, array, needle):
    path = tmp_path / "m.yaml"
    path.write_text(GOOD)
    np.save(tmp_path / "in.npy", array)
    code, _, err = tdc(
        "run", path, "--backend", "numpy", "-i", tmp_path / "in.npy", "-o", tmp_path / "out.npy"
    )
    assert code == 2 and needle in err, err
    assert not (tmp_path / "out.npy").exists()


def test_bad_arguments(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(GOOD)
    assert tdc("compile", path, "--target", "tflite", "-o", "x")[0] == 2
    assert tdc("verify", path, "--backend", "onnx,tvm")[0] == 2
    code, _, err = tdc("run", path, "-i", "nope=in.npy", "-o", tmp_path / "o.npy")
    assert code == 2 and "unknown or repeated input 'nope'" in err
    code, _, err = tdc("compile", path, "--target", "numpy", "-o", tmp_path / "o.txt")
    assert code == 2 and ".py" in err


def test_identity_initializer_needs_a_matrix(tmp_path):
    """Keras builds every variable with its initialiser and refuses identity off 2-D; so
    does tdc (it used to draw ones), while a Dense kernel takes it as Keras does."""
    import keras

    with pytest.raises(ValueError, match="2D"):
        keras.layers.Conv2D(2, 3, kernel_initializer="identity").build((None, 8, 8, 3))
    path = tmp_path / "m.yaml"
    path.write_text(
        "inputs:\n  x: {shape: [8, 8, 3]}\nlayers:\n"
        "  - {name: c, type: Conv2D, filters: 2, kernel_size: 3, kernel_initializer: identity}\n"
    )
    code, _, err = tdc("inspect", path)
    assert code == 2 and "layer 'c'" in err and "line 4" in err and "2-D" in err, err
    path.write_text(
        "inputs:\n  x: {shape: [8]}\nlayers:\n"
        "  - {name: d, type: Dense, units: 3, kernel_initializer: identity}\n"
    )
    code, out, err = tdc("verify", path)
    assert code == 0 and "all outputs match Keras" in out, err
