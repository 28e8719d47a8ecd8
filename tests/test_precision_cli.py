"""``--precision`` / ``--calibration`` on the command line: bad input exits 2 with one
message and writes nothing; ``verify --precision`` catches a broken calibration (exit 1)."""

from __future__ import annotations

import numpy as np
import pytest
from test_precision import CONV, MLP, RNN, _good_calibration

from cli_util import tdc
from oracle import write_model

TWO = {
    "inputs": {"a": {"shape": [None, 4]}, "b": {"shape": [None, 4]}},
    "layers": [{"name": "add", "type": "Add", "inputs": ["a", "b"]}],
}


def _refused(tmp_path, *args, out_name="out.onnx"):
    out = tmp_path / out_name
    code, _, err = tdc("compile", *args, "-o", out)
    assert code == 2, err
    assert err.startswith("tdc: error:") and "Traceback" not in err
    assert err.count("\n") == 1 and not out.exists()
    return err


def test_calibration_errors(tmp_path):
    path = write_model(tmp_path, CONV, "conv")
    base = (path, "--target", "onnx", "--precision", "int8", "--calibration")
    wrong = _good_calibration(tmp_path, (8, 5, 10, 12, 3), "wrong.npy")
    assert "expected" in _refused(tmp_path, *base, wrong)
    assert "not found" in _refused(tmp_path, *base, tmp_path / "missing.npy")
    assert ".npy or .npz" in _refused(tmp_path, *base, path)
    np.savez(tmp_path / "keys.npz", y=np.zeros((2, 5, 12, 12, 3), np.float32))
    assert "keys" in _refused(tmp_path, *base, tmp_path / "keys.npz")
    np.save(tmp_path / "obj.npy", np.array([object()]), allow_pickle=True)
    assert "objects" in _refused(tmp_path, *base, tmp_path / "obj.npy")
    np.save(tmp_path / "bool.npy", np.ones((2, 5, 12, 12, 3), bool))
    assert "dtype bool" in _refused(tmp_path, *base, tmp_path / "bool.npy")
    np.save(tmp_path / "nan.npy", np.full((2, 5, 12, 12, 3), np.nan, np.float32))
    assert "NaN" in _refused(tmp_path, *base, tmp_path / "nan.npy")
    assert "memory cap" in _refused(tmp_path, *base, wrong, "--max-bytes", "1000")


def test_npz_for_two_inputs(tmp_path):
    path = write_model(tmp_path, TWO, "two")
    one = _good_calibration(tmp_path, (2, 3, 4), "one.npy")
    args = (path, "--target", "onnx", "--precision", "int8", "--calibration")
    assert "a .npz keyed by" in _refused(tmp_path, *args, one)
    np.savez(tmp_path / "ab.npz", a=np.ones((2, 3, 4), np.float32), b=np.ones((2, 3, 4)))
    code, _, err = tdc("compile", *args, tmp_path / "ab.npz", "-o", tmp_path / "ok.onnx")
    assert code == 0, err


def test_option_errors(tmp_path):
    path = write_model(tmp_path, CONV, "conv")
    cal = _good_calibration(tmp_path)
    args = (path, "--target", "numpy", "--precision", "int8")
    assert "--target numpy" in _refused(tmp_path, *args, out_name="m.py")
    assert "only int8" in _refused(
        tmp_path, path, "--target", "onnx", "--precision", "float16", "--calibration", cal
    )
    code, _, err = tdc("compile", path, "--target", "onnx", "--precision", "int4", "-o", "x.onnx")
    assert code == 2 and "int4" in err
    code, _, err = tdc("bench", path, "--precision", "int8,int8")
    assert code == 2 and "repeated" in err
    code, _, err = tdc("verify", path, "--precision", "int8", "--backend", "numpy")
    assert code == 2 and "no int8" in err
    code, _, err = tdc("verify", path, "--precision", "float16", "--streaming")
    assert code == 2 and "--streaming" in err
    code, _, err = tdc("verify", path, "--calibration", cal)
    assert code == 2 and "only int8" in err


def test_calibration_is_not_overwritten(tmp_path):
    path = write_model(tmp_path, CONV, "conv")
    cal = _good_calibration(tmp_path, name="cal.onnx")
    code, _, err = tdc(
        "compile", path, "--target", "onnx", "--precision", "int8", "--calibration", cal, "-o", cal
    )
    assert code == 2


@pytest.mark.slow
@pytest.mark.parametrize("name", ["conv", "rnn", "mlp"])
@pytest.mark.parametrize("precision", ["int8", "float16"])
def test_verify_passes(tmp_path, name, precision):
    m = {"conv": CONV, "rnn": RNN, "mlp": MLP}[name]
    code, out, err = tdc("verify", write_model(tmp_path, m, name), "--precision", precision)
    assert code == 0, out + err
    assert "top-1 %" in out and "within the" in out


@pytest.mark.slow
@pytest.mark.parametrize("broken", ["scaled", "constant"])
def test_verify_catches_broken_calibration(tmp_path, broken):
    path = write_model(tmp_path, CONV, "conv")
    x = np.load(_good_calibration(tmp_path))
    bad = x * 1000 if broken == "scaled" else np.zeros_like(x)
    np.save(tmp_path / "bad.npy", bad)
    code, out, err = tdc(
        "verify", path, "--precision", "int8", "--calibration", tmp_path / "bad.npy"
    )
    assert code == 1, out + err
    assert "MISMATCH" in out and "first layer whose error jumps: 'conv'" in err
    code, out, err = tdc(
        "verify", path, "--precision", "int8", "--calibration", _good_calibration(tmp_path)
    )
    assert code == 0, out + err


@pytest.mark.slow
def test_verify_threshold_flags_can_fail(tmp_path):
    path = write_model(tmp_path, MLP, "mlp")
    code, out, err = tdc("verify", path, "--precision", "int8", "--max-abs", "1e-9")
    assert code == 1 and "max abs <= 1e-09" in err


def test_calibration_values_are_capped(tmp_path):
    path = write_model(tmp_path, CONV, "conv")
    cal = _good_calibration(tmp_path, (64, 5, 12, 12, 3))
    err = _refused(
        tmp_path,
        path,
        "--target",
        "onnx",
        "--precision",
        "int8",
        "--calibration",
        cal,
        "--max-bytes",
        "3MiB",
    )
    assert "calibrating on 64 samples" in err


def test_bench_precisions_side_by_side(tmp_path):
    path = write_model(tmp_path, MLP, "mlp")
    code, out, err = tdc(
        "bench",
        path,
        "--backend",
        "onnx",
        "--precision",
        "int8,float16,float32",
        "--repeats",
        "2",
        "--warmup",
        "0",
    )
    assert code == 0, err
    for label in ("tdc-onnx-int8", "tdc-onnx-fp16", "tdc-onnx "):
        assert label in out


def test_quantizer_failure_is_one_message(tmp_path, monkeypatch):
    import onnxruntime.quantization as oq

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(oq, "quantize_static", broken)
    path = write_model(tmp_path, CONV, "conv")
    cal = _good_calibration(tmp_path)
    err = _refused(tmp_path, path, "--target", "onnx", "--precision", "int8", "--calibration", cal)
    assert "quantization failed" in err and "unsupported op" in err
