"""Reduced precision: int8 and float16 ONNX models, float16 NumPy weights, ``verify
--precision`` and its thresholds, on a conv model, an RNN model and a TimeDistributed MLP."""

from __future__ import annotations

import collections

import numpy as np
import onnx
import pytest

from cli_util import tdc
from compiler.api import compile_file
from compiler.backends.numpy.codegen import load_module
from compiler.backends.onnx.session import run as ort_run
from compiler.precision import reduce
from compiler.precision.float16 import to_float16
from compiler.precision.quantize import method
from compiler.tools.precision_verify import agreement
from compiler.tools.verify import seeded_inputs
from oracle import model, onnx_ops, td, write_model

CONV = model(
    [None, 12, 12, 3],
    td(
        {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
        "conv",
    ),
    td({"type": "MaxPooling2D", "pool_size": 2}, "pool"),
    td({"type": "Flatten"}, "flat"),
    td({"type": "Dense", "units": 5, "activation": "softmax"}, "probs"),
)
RNN = model(
    [None, 6],
    {"name": "lstm", "type": "LSTM", "units": 16, "return_sequences": True},
    td({"type": "Dense", "units": 5, "activation": "softmax"}, "probs"),
)
MLP = model(
    [None, 8],
    td({"type": "Dense", "units": 32, "activation": "relu"}, "fc"),
    td({"type": "Dense", "units": 4, "activation": "softmax"}, "probs"),
)
MODELS = {"conv": CONV, "rnn": RNN, "mlp": MLP}


def _compiled(tmp_path, name):
    return compile_file(write_model(tmp_path, MODELS[name], name))


def _run(proto, compiled, xs):
    feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
    return ort_run(proto, feeds)["probs"]


@pytest.mark.parametrize("name", ["conv", "rnn", "mlp"])
@pytest.mark.parametrize("precision", ["int8", "float16"])
def test_reduced_runs_close_to_float32(tmp_path, name, precision):
    compiled = _compiled(tmp_path, name)
    proto = compiled.onnx()
    reduced = reduce(proto, compiled.spec, precision)
    onnx.checker.check_model(reduced, full_check=True)
    for v in [*reduced.graph.input, *reduced.graph.output]:
        assert v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    xs = seeded_inputs(compiled.spec, 4, 5)
    want, got = _run(proto, compiled, xs), _run(reduced, compiled, xs)
    assert got.dtype == np.float32
    assert np.abs(got - want).max() < (0.1 if precision == "int8" else 1e-2)
    assert agreement(got, want, "softmax") >= 90.0


def test_int8_method_per_model(tmp_path):
    ops = {}
    for name in MODELS:
        compiled = _compiled(tmp_path, name)
        assert method(compiled.onnx()) == ("dynamic" if name == "rnn" else "static")
        ops[name] = collections.Counter(onnx_ops(reduce(compiled.onnx(), compiled.spec, "int8")))
    assert ops["conv"]["QuantizeLinear"] and ops["mlp"]["DequantizeLinear"]
    assert ops["rnn"]["MatMulInteger"] and ops["rnn"]["LSTM"]  # the LSTM stays float32


def test_float16_stores_weights_in_half(tmp_path):
    compiled = _compiled(tmp_path, "conv")
    proto = to_float16(compiled.onnx())
    kinds = {t.name: t.data_type for t in proto.graph.initializer}
    assert kinds["conv/kernel/fp16"] == onnx.TensorProto.FLOAT16
    assert onnx.TensorProto.FLOAT not in kinds.values()
    half = sum(len(t.raw_data) for t in proto.graph.initializer if t.data_type == 10)
    full = sum(len(t.raw_data) for t in compiled.onnx().graph.initializer if t.data_type == 1)
    assert half * 2 == full


@pytest.mark.parametrize("precision", ["int8", "float16"])
def test_compile_is_byte_identical(tmp_path, precision):
    path = write_model(tmp_path, CONV, "conv")
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}.onnx"
        code, _, err = tdc("compile", path, "--target", "onnx", "--precision", precision, "-o", out)
        assert code == 0, err
        outs.append(out.read_bytes())
        assert ("no --calibration" in err) == (precision == "int8")
    assert outs[0] == outs[1]


@pytest.mark.parametrize("precision", ["int8", "float16"])
@pytest.mark.parametrize("name", ["conv", "rnn"])
def test_streaming_reduced_runs_step_by_step(tmp_path, name, precision):
    path = write_model(tmp_path, MODELS[name], name)
    out = tmp_path / "step.onnx"
    code, _, err = tdc(
        "compile", path, "--target", "onnx", "--streaming", "--precision", precision, "-o", out
    )
    assert code == 0, err
    compiled = compile_file(path)
    step = compiled.step()
    xs = seeded_inputs(compiled.spec, 2, 4)
    state = step.zero_feeds(2)
    first = step.graph.inputs[0].name
    for t in range(4):
        got = ort_run(onnx.load(out), {first: xs[0][:, t], **state})
        state = {s.onnx_in: got[s.onnx_out] for s in step.states}
        assert np.isfinite(got["probs"]).all() and got["probs"].shape == (2, 5)


def test_numpy_float16_weights(tmp_path):
    path = write_model(tmp_path, CONV, "conv")
    sizes = {}
    for precision in ("float32", "float16"):
        out = tmp_path / f"m_{precision}.py"
        code, _, err = tdc(
            "compile", path, "--target", "numpy", "--precision", precision, "-o", out
        )
        assert code == 0, err
        sizes[precision] = out.with_suffix(".npz").stat().st_size
    text = (tmp_path / "m_float16.py").read_text()
    assert "stored as float16" in text
    assert "stored as float16" not in (tmp_path / "m_float32.py").read_text()
    assert sizes["float16"] < 0.6 * sizes["float32"]
    compiled = compile_file(path)
    xs = seeded_inputs(compiled.spec, 2, 3)
    half = load_module(*compiled.numpy_source("float16")).predict(*xs)
    full = load_module(*compiled.numpy_source()).predict(*xs)
    assert half.dtype == np.float32 and np.abs(half - full).max() < 1e-2


def _good_calibration(tmp_path, shape=(8, 5, 12, 12, 3), name="cal.npy"):
    path = tmp_path / name
    np.save(path, np.random.default_rng(3).standard_normal(shape).astype(np.float32))
    return path


def test_calibration_file_is_used_and_deterministic(tmp_path):
    path = write_model(tmp_path, CONV, "conv")
    cal = _good_calibration(tmp_path)
    outs = []
    for k in range(2):
        out = tmp_path / f"c{k}.onnx"
        code, _, err = tdc(
            "compile",
            path,
            "--target",
            "onnx",
            "--precision",
            "int8",
            "--calibration",
            cal,
            "-o",
            out,
        )
        assert code == 0 and "warning" not in err, err
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    seeded = tmp_path / "s.onnx"
    tdc("compile", path, "--target", "onnx", "--precision", "int8", "-o", seeded)
    assert seeded.read_bytes() != outs[0]
