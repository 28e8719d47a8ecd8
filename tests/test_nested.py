"""Models inside models (SPEC 1.1): ``Functional`` and ``Sequential`` entries, inline and by
``file:``, nested in TimeDistributed and in each other, against live Keras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from cli_util import tdc
from compiler.api import compile_file
from compiler.backends.numpy.codegen import load_module
from compiler.frontend.arrays import write_npz
from oracle import check, compare, model, random_inputs, random_weights, td, write_model


def conv(name: str, filters: int = 4, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": "Conv2D", "filters": filters, "kernel_size": 3, **kw}


def cnn_model(**extra: Any) -> dict[str, Any]:
    """A small residual CNN as an inline Functional on 12x12x3 frames."""
    return {
        "type": "Functional",
        "inputs": {"image": {"shape": [12, 12, 3]}},
        "layers": [
            conv("stem", padding="same", activation="relu"),
            {"name": "bn", "type": "BatchNormalization"},
            conv("branch", padding="same"),
            {"name": "add", "type": "Add", "inputs": ["bn", "branch"]},
            {"name": "dense", "type": "Dense", "units": 3},  # a name the outer model uses too
            {"name": "pool", "type": "GlobalAveragePooling2D"},
        ],
        "outputs": ["pool"],
        **extra,
    }


def video(time: int | None = 4) -> dict[str, Any]:
    return model(
        [time, 12, 12, 3],
        td(cnn_model(), "cnn"),
        {"name": "lstm", "type": "LSTM", "units": 6},
        {"name": "dense", "type": "Dense", "units": 5, "activation": "softmax"},
    )


@pytest.mark.slow
def test_timedistributed_functional_then_lstm(tmp_path):
    """TimeDistributed(inline Functional) -> LSTM -> Dense matches Keras; names repeat
    across scopes; weights are keyed with the model's path."""
    check(tmp_path, video())
    keys = set(np.load(tmp_path / "model.npz"))
    assert {"cnn/stem/kernel", "cnn/bn/gamma", "cnn/dense/kernel", "dense/kernel"} <= keys


def test_one_fold_for_the_whole_nested_model(tmp_path):
    """The nested graph runs once on (N*T, ...): one fold, one unfold, one Conv per layer."""
    compiled = compile_file(write_model(tmp_path, video()))
    ops = [n.op for n in compiled.graph.nodes]
    assert ops.count("fold") == 1 and ops.count("unfold") == 1
    convs = [n for n in compiled.onnx().graph.node if n.op_type == "Conv"]
    assert len(convs) == 2


@pytest.mark.slow
def test_dynamic_time_and_sequential(tmp_path):
    """A null time axis; a Sequential at the top level and one inside TimeDistributed."""
    head = {
        "name": "head",
        "type": "Sequential",
        "layers": [{"type": "Dense", "units": 7}, {"type": "ReLU"}, {"type": "Dense", "units": 4}],
    }
    inner = {"type": "Sequential", "layers": [{"type": "Dense", "units": 5, "activation": "tanh"}]}
    m = model([None, 6], td(inner, "per_step"), head, {"type": "GRU", "units": 3})
    check(tmp_path, m, time=5)


@pytest.mark.slow
def test_three_levels(tmp_path):
    """A Functional inside a Sequential inside TimeDistributed, then a Sequential holding a
    Functional: every level's weights keyed by its path."""
    block = cnn_model(name="block")
    seq = {"type": "Sequential", "layers": [block, {"type": "Dense", "units": 4}]}
    mlp = {
        "type": "Functional",
        "inputs": {"v": {"shape": [None, 4]}},
        "layers": [{"name": "d", "type": "Dense", "units": 2}],
        "outputs": ["d"],
    }
    m = model(
        [3, 12, 12, 3], td(seq, "frames"), {"name": "tail", "type": "Sequential", "layers": [mlp]}
    )
    check(tmp_path, m, time=3)
    keys = set(np.load(tmp_path / "model.npz"))
    assert "frames/block/stem/kernel" in keys and "tail/functional/d/kernel" in keys


@pytest.mark.slow
def test_mask_flows_into_a_nested_model(tmp_path):
    """An Embedding(mask_zero) mask reaches the LSTM inside a Sequential, as in Keras."""
    rnn = {
        "type": "Sequential",
        "layers": [
            {"type": "LSTM", "units": 4, "return_sequences": True},
            {"type": "Dense", "units": 2},
        ],
    }
    m = model(
        [None],
        {"type": "Embedding", "input_dim": 10, "output_dim": 3, "mask_zero": True},
        {"name": "enc", **rnn},
        {"type": "LSTM", "units": 3},
        dtype="int32",
    )
    check(tmp_path, m, time=6)


def write_encoder(tmp: Path, weights: bool) -> dict[str, Any]:
    """encoder.yaml beside the model: two inputs, its own weights file (or its seed)."""
    enc = {
        "name": "encoder",
        "inputs": {"a": {"shape": [None, 4]}, "b": {"shape": [None, 4]}},
        "layers": [
            {"name": "sum", "type": "Add", "inputs": ["a", "b"]},
            {"name": "proj", "type": "Dense", "units": 3, "activation": "relu"},
        ],
        "seed": 7,
    }
    if weights:
        shapes = {"proj/kernel": (4, 3), "proj/bias": (3,)}
        write_npz(tmp / "encoder.npz", random_weights(shapes, seed=3))
        enc["weights"] = "encoder.npz"
    (tmp / "encoder.yaml").write_text(yaml.safe_dump(enc, sort_keys=False))
    return {"name": "enc", "type": "Functional", "file": "encoder.yaml", "inputs": ["x", "y"]}


@pytest.mark.parametrize("weights", [True, False], ids=["own-weights", "own-seed"])
def test_file_model_with_two_inputs(tmp_path, weights):
    """``file:`` brings the model file's own weights (or its seed); ``inputs:`` wires it."""
    m = {
        "inputs": {"x": {"shape": [None, 4]}, "y": {"shape": [None, 4]}},
        "layers": [write_encoder(tmp_path, weights), {"type": "LSTM", "units": 2}],
    }
    compiled = compile_file(write_model(tmp_path, m))
    assert {"enc/proj/kernel", "lstm/kernel"} <= set(compiled.weights)
    compare(compiled, random_inputs(compiled, 2, 5))
    other = compile_file(write_model(tmp_path, m, "again"))
    np.testing.assert_array_equal(
        other.weights["enc/proj/kernel"], compiled.weights["enc/proj/kernel"]
    )


def test_inspect_shows_the_tree(tmp_path):
    code, out, err = tdc("inspect", str(write_model(tmp_path, video())))
    assert code == 0, err
    lines = out.splitlines()
    cnn = next(k for k, line in enumerate(lines) if line.startswith("cnn "))
    assert lines[cnn + 1].startswith("  stem ") and "(N*4, 12, 12, 4)" in lines[cnn + 1]
    assert any(line.startswith("  pool ") for line in lines[cnn:])
    assert any(line.startswith("dense ") for line in lines[cnn:])


@pytest.mark.slow
def test_verify_and_streaming(tmp_path):
    """``tdc verify`` passes; the step form (the nested CNN per frame) equals the whole."""
    path = write_model(tmp_path, video(None))
    code, out, err = tdc("verify", str(path), "--time", "3")
    assert code == 0, out + err
    compiled = compile_file(path)
    xs = random_inputs(compiled, 2, 4)
    module = load_module(*compiled.numpy_source())
    state = module.init_state(2)
    for t in range(4):
        y, state = module.step(xs[0][:, t], state)
    np.testing.assert_allclose(y, module.predict(xs[0]), atol=1e-5, rtol=1e-5)


BAD = [
    (
        {
            "type": "Functional",
            "inputs": {"a": {"shape": [4]}},
            "layers": [{"type": "Dense", "units": 2}],
            "file": "x.yaml",
        },
        "either 'file' or inline",
    ),
    ({"type": "Functional", "layers": [{"type": "Dense", "units": 2}]}, "bad 'inputs'"),
    (
        {
            "type": "Functional",
            "inputs": {"a": {"shape": [4]}, "b": {"shape": [4]}},
            "layers": [{"type": "Dense", "units": 2}],
        },
        "takes one input",
    ),
    (
        {
            "type": "Functional",
            "inputs": {"a": {"shape": [5]}},
            "layers": [{"type": "Dense", "units": 2}],
        },
        "is called on",
    ),
    ({"type": "Sequential", "layers": []}, "bad 'layers'"),
    (
        {"type": "Sequential", "layers": [{"type": "Dense", "units": 2, "inputs": "x"}]},
        "Sequential model is a chain",
    ),
    ({"type": "Sequential", "layers": [{"type": "Dense", "unit": 2}]}, "unknown argument"),
    ({"type": "Functional", "file": "missing.yaml"}, "missing.yaml"),
    ({"type": "Functional", "file": "model.yaml"}, "refers back to itself"),
    ({"type": "Sequential", "layers": [{"type": "Dense", "units": 2}], "axis": 1}, "unknown key"),
]


@pytest.mark.parametrize(("entry", "needle"), BAD, ids=[b[1] for b in BAD])
def test_bad_nested_models(tmp_path, entry, needle):
    """Each mistake exits 2 with one message naming the file, the line and the layer."""
    path = write_model(tmp_path, model([4], {"name": "inner", **entry}))
    code, _, err = tdc("compile", str(path), "--target", "onnx", "-o", str(tmp_path / "m.onnx"))
    assert code == 2, err
    assert needle in err and "model.yaml" in err and "inner" in err
    assert "Traceback" not in err and not (tmp_path / "m.onnx").exists()


def test_missing_nested_weight_names_the_path(tmp_path):
    m = {**video(), "weights": "w.npz"}
    write_npz(tmp_path / "w.npz", {"lstm/kernel": np.zeros((3, 24), np.float32)})
    code, _, err = tdc(
        "compile", str(write_model(tmp_path, m)), "--target", "onnx", "-o", str(tmp_path / "m.onnx")
    )
    assert code == 2 and "'cnn/stem/kernel'" in err, err


def test_output_may_not_overwrite_a_referenced_model(tmp_path):
    m = {
        "inputs": {"x": {"shape": [None, 4]}, "y": {"shape": [None, 4]}},
        "layers": [write_encoder(tmp_path, True)],
    }
    path = write_model(tmp_path, m)
    before = (tmp_path / "encoder.npz").read_bytes()
    code, _, err = tdc(
        "compile", str(path), "--target", "numpy", "-o", str(tmp_path / "encoder.py")
    )
    assert code == 2 and "refers to" in err, err
    assert (tmp_path / "encoder.npz").read_bytes() == before
    assert not (tmp_path / "encoder.py").exists()


@pytest.mark.slow
def test_divergence_report_names_the_path(tmp_path, monkeypatch):
    """A backend wrong from the nested layer 'branch' on: verify names 'cnn/branch'."""
    import compiler.tools.verify as verify
    import compiler.tools.verify_nested as verify_nested

    real = verify.run_backend
    broken = {"branch", "add", "dense", "pool", "cnn", "lstm"}

    def run_backend(compiled, backend, xs, provider="cpu"):
        got = real(compiled, backend, xs, provider)
        return {k: v + 1.0 if k in broken else v for k, v in got.items()}

    monkeypatch.setattr(verify, "run_backend", run_backend)
    monkeypatch.setattr(verify_nested, "run_backend", run_backend)
    code, out, err = tdc("verify", str(write_model(tmp_path, video())), "--backend", "numpy")
    assert code == 1 and "MISMATCH" in out, out + err
    assert "first diverging layer: 'cnn/branch'" in err, err
