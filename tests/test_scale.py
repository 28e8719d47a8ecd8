"""Determinism and scale: byte-identical compiles, long sequences, large batches,
extreme inputs, and ONNX external data past protobuf's 2 GiB limit."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml

from compiler.backends.onnx.save import THRESHOLD, data_path, write_onnx
from compiler.backends.onnx.session import run as onnx_run
from compiler.frontend.params import ACTIVATIONS
from compiler.keras.oracle import keras_model, run_keras
from oracle import (
    ATOL,
    RTOL,
    assert_matches,
    backend_outputs,
    compile_with_random_weights,
    model,
    onnx_ops,
    td,
    write_model,
)

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

ROOT = Path(__file__).resolve().parents[1]
CONV = td(
    {"type": "Conv1D", "filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"}
)
POOL = td({"type": "GlobalMaxPooling1D"})
MODELS = {
    "video": None,  # examples/video_classifier.yaml
    "masked_bigru": model(
        [None],
        {"type": "Embedding", "input_dim": 9, "output_dim": 4, "mask_zero": True},
        {"type": "Bidirectional", "layer": {"type": "GRU", "units": 3, "return_sequences": True}},
        {"type": "LSTM", "units": 2, "activation": "gelu"},
        dtype="int32",
    ),
    "conv_rnn": model([None, 6, 2], CONV, POOL, {"type": "SimpleRNN", "units": 4}),
}
COMPILE = (
    "import sys; from pathlib import Path; from compiler.tools.commands import compile_to; "
    "m, o = Path(sys.argv[1]), Path(sys.argv[2]); "
    "compile_to(m, 'onnx', o / 'm.onnx'); compile_to(m, 'numpy', o / 'm.py')"
)


def _compile_in_process(path: Path, out: Path, hash_seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, "-c", COMPILE, str(path), str(out)], check=True, env=env)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.mark.parametrize("name", list(MODELS))
def test_separate_processes_compile_byte_identically(tmp_path, name):
    """Two interpreters with different hash seeds write the same bytes on both targets."""
    spec = MODELS[name]
    path = ROOT / "examples/video_classifier.yaml" if spec is None else write_model(tmp_path, spec)
    a = _compile_in_process(path, tmp_path / "a", "0")
    b = _compile_in_process(path, tmp_path / "b", "4242")
    assert sorted(a) == ["m.npz", "m.onnx", "m.py"]
    assert a == b


def _compare(tmp_path: Path, spec: dict, xs: list[np.ndarray]) -> dict[str, float]:
    compiled = compile_with_random_weights(tmp_path, spec)
    ref = run_keras(keras_model(compiled.spec, compiled.weights), xs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warnings either
        got = backend_outputs(compiled, xs)
    return assert_matches(compiled.graph.output_names, ref, got)


#: Keras itself needs about a minute per 1000-step layer, so CI runs one; TDC_SCALE_ALL=1: all.
LONG = ["SimpleRNN", "LSTM", "GRU"] if os.environ.get("TDC_SCALE_ALL") else ["LSTM"]


@pytest.mark.parametrize("layer", LONG)
def test_thousand_steps(tmp_path, layer):
    """T = 1000 through a TimeDistributed conv front end and an RNN: no drift, no warnings."""
    rnn = {"type": layer, "units": 4, "return_sequences": True}
    x = np.random.default_rng(3).normal(0.0, 1.0, (2, 1000, 6, 2)).astype(np.float32)
    _compare(tmp_path, model([None, 6, 2], CONV, POOL, rnn), [x])


def test_batch_256(tmp_path):
    spec = model(
        [None, 6, 2], CONV, POOL, {"type": "LSTM", "units": 4}, {"type": "Dense", "units": 3}
    )
    x = np.random.default_rng(4).normal(0.0, 1.0, (256, 7, 6, 2)).astype(np.float32)
    _compare(tmp_path, spec, [x])


# -- extreme inputs ----------------------------------------------------------------------------

EXTREMES = np.array(
    [0, 1, -1, 30, -30, 88, -88, 100, -100, 1e4, -1e4, 1e30, -1e30, np.inf, -np.inf, np.nan],
    np.float32,
)


def _extreme_grid() -> np.ndarray:
    """Every extreme value at every feature position: (1, 16, 16)."""
    return np.stack([np.roll(EXTREMES, i) for i in range(len(EXTREMES))])[None]


def _assert_like_keras(tmp_path: Path, spec: dict, xs: list[np.ndarray]) -> None:
    """Equal where Keras is finite, NaN where Keras is NaN, the same infinities."""
    compiled = compile_with_random_weights(tmp_path, spec)
    ref = run_keras(keras_model(compiled.spec, compiled.weights), xs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN and inf inputs warn in NumPy, as they should
        got = backend_outputs(compiled, xs)
    for name, r in zip(compiled.graph.output_names, ref, strict=True):
        for backend, outs in got.items():
            np.testing.assert_allclose(
                outs[name], r, atol=ATOL, rtol=RTOL, equal_nan=True, err_msg=backend
            )


LAYERS = [
    {"type": "ReLU"},
    {"type": "ReLU", "max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5},
    {"type": "LeakyReLU"},
    {"type": "ELU", "alpha": 0.5},
    {"type": "Softmax"},
]


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_extreme_inputs_activation(tmp_path, act):
    spec = model([None, len(EXTREMES)], {"type": "Activation", "activation": act})
    _assert_like_keras(tmp_path, spec, [_extreme_grid()])


@pytest.mark.parametrize("layer", LAYERS, ids=lambda d: "-".join(map(str, d.values())))
def test_extreme_inputs_activation_layer(tmp_path, layer):
    _assert_like_keras(tmp_path, model([None, len(EXTREMES)], layer), [_extreme_grid()])


@pytest.mark.parametrize("layer", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("act", ["tanh", "sigmoid", "softsign", "hard_sigmoid"])
@pytest.mark.parametrize("magnitude", [1e4, 1e30])
def test_extreme_finite_inputs_rnn(tmp_path, layer, act, magnitude):
    """Large finite inputs into bounded RNNs: the gates saturate exactly as in Keras."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, (6, 5, 3)).astype(np.float32)
    for n in range(1, 6):  # one extreme entry per row, row 0 untouched
        x[n, rng.integers(0, 5), rng.integers(0, 3)] = magnitude * (-1) ** n
    rnn = {"type": layer, "units": 3, "activation": act, "return_sequences": True}
    _assert_like_keras(tmp_path, model([None, 3], rnn), [x])


@pytest.mark.parametrize("layer", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("opts", [{"return_sequences": True}, {"go_backwards": True}, {}])
def test_nan_input_rnn(tmp_path, layer, opts):
    """A NaN in a step makes Keras's state NaN from that step on (and the last output NaN);
    the ONNX native ops would drop it, so the lowering marks those steps itself."""
    x = np.random.default_rng(6).normal(0.0, 1.0, (3, 5, 3)).astype(np.float32)
    x[0, 1, 0] = np.nan  # sample 0 from step 1 on; sample 1 clean
    x[2, 4, 2] = np.nan  # sample 2 at the last step only
    spec = model([None, 3], {"type": layer, "units": 2, **opts})
    _assert_like_keras(tmp_path, spec, [x])


@pytest.mark.parametrize("layer", ["LSTM", "GRU"])
@pytest.mark.parametrize("embedded", [False, True])
def test_nan_guard_only_where_a_nan_can_arrive(tmp_path, layer, embedded):
    """An RNN reading an Embedding lookup (weights are finite: the weights file refuses
    NaN) gets no NaN guard, as nothing could trip it; a float input keeps it. The outputs
    follow Keras either way."""
    rnn = {"type": layer, "units": 2, "return_sequences": True}
    if embedded:
        emb = {"type": "Embedding", "input_dim": 6, "output_dim": 3, "mask_zero": True}
        spec = model([None], emb, rnn, dtype="int32")
        xs = [np.array([[1, 2, 3, 4], [5, 0, 2, 1], [3, 3, 5, 0]], np.int32)]
    else:
        spec = model([None, 3], rnn)
        xs = [np.random.default_rng(8).normal(0.0, 1.0, (3, 4, 3)).astype(np.float32)]
    compiled = compile_with_random_weights(tmp_path, spec)
    kinds = onnx_ops(compiled.onnx())
    assert ("IsNaN" in kinds) != embedded, kinds
    ref = run_keras(keras_model(compiled.spec, compiled.weights), xs)
    assert_matches(compiled.graph.output_names, ref, backend_outputs(compiled, xs))


@pytest.mark.parametrize("layer", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("opts", [{"return_sequences": True}, {"go_backwards": True}, {}])
def test_nan_input_masked_rnn(tmp_path, layer, opts):
    """With a mask the RNN runs over each sample's valid steps: a NaN in a valid step
    poisons the state from there on, as in Keras, whichever steps are masked around it."""
    x = np.random.default_rng(9).normal(0.0, 1.0, (4, 6, 3)).astype(np.float32)
    x[0, 1] = 0.0  # masked, then a NaN at a later valid step
    x[0, 3, 1] = np.nan
    x[1, 4:] = 0.0  # a NaN before the trailing padding
    x[1, 2, 0] = np.nan
    x[2] = 0.0  # every step masked
    x[3, 0, 2] = np.nan  # a NaN at the first step, nothing masked
    spec = model([None, 3], {"type": "Masking"}, {"type": layer, "units": 2, **opts})
    _assert_like_keras(tmp_path, spec, [x])


# -- ONNX external data ---------------------------------------------------------------------------


def test_threshold_is_protobuf_limit_less_headroom():
    assert 2**31 - 2**28 <= THRESHOLD < 2**31


def _big_model(tmp_path: Path):
    spec = model(
        [None, 6, 2], CONV, POOL, {"type": "LSTM", "units": 16}, {"type": "Dense", "units": 32}
    )
    return compile_with_random_weights(tmp_path, spec)


def test_external_data_past_threshold(tmp_path):
    """A tiny threshold forces external data: onnxruntime loads it and gives the same
    outputs, the model file keeps no large tensor, and rewriting gives the same bytes."""
    compiled = _big_model(tmp_path)
    out = tmp_path / "out" / "m.onnx"
    written = write_onnx(compiled.onnx(), out, threshold=0)
    assert written == [out, data_path(out)] and data_path(out).name == "m.onnx.data"
    loaded = onnx.load(str(out), load_external_data=False)
    external = [t for t in loaded.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert external and all(len(t.raw_data) == 0 for t in external)

    import onnxruntime as ort

    x = np.random.default_rng(7).normal(0.0, 1.0, (2, 5, 6, 2)).astype(np.float32)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"x": x})[0]
    ref = run_keras(keras_model(compiled.spec, compiled.weights), [x])[0]
    np.testing.assert_allclose(got, ref, atol=ATOL, rtol=RTOL)
    inline = onnx_run(compiled.onnx(), {"x": x})
    np.testing.assert_array_equal(got, next(iter(inline.values())))

    again = tmp_path / "again" / "m.onnx"
    write_onnx(compiled.onnx(), again, threshold=0)
    assert again.read_bytes() == out.read_bytes()
    assert data_path(again).read_bytes() == data_path(out).read_bytes()
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.onnx", "m.onnx.data"]


def test_below_threshold_is_one_file(tmp_path):
    compiled = _big_model(tmp_path)
    out = tmp_path / "out" / "m.onnx"
    assert write_onnx(compiled.onnx(), out) == [out]
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.onnx"]
    assert out.read_bytes() == compiled.onnx().SerializeToString(deterministic=True)


def test_external_data_failed_check_writes_nothing(tmp_path):
    """An invalid model is refused before either file exists."""
    proto = _big_model(tmp_path).onnx()
    proto.graph.node[0].op_type = "NoSuchOp"
    out = tmp_path / "out" / "m.onnx"
    with pytest.raises(onnx.checker.ValidationError):
        write_onnx(proto, out, threshold=0)
    assert not out.exists() and not data_path(out).exists()


@pytest.mark.parametrize("act", ["linear", "relu", "elu"])
def test_extreme_inputs_gru_unbounded_candidate(tmp_path, act):
    """A GRU whose candidate is unbounded: with z rounding to 1 and a huge candidate, the
    update z * h + (1 - z) * hh keeps h, as in Keras (a rearranged form gives 0 or NaN)."""
    rng = np.random.default_rng(8)
    x = rng.normal(0.0, 1.0, (4, 5, 3)).astype(np.float32)
    x[1, 2, 0], x[2, 1, 1], x[3, 3, 2] = 1e30, -1e30, 1e30
    rnn = {"type": "GRU", "units": 3, "activation": act, "return_sequences": True}
    _assert_like_keras(tmp_path, model([None, 3], rnn), [x])


def test_session_past_threshold_runs_from_external_data(tmp_path, monkeypatch):
    """``tdc run``/``verify`` sessions of a model past the threshold load it from a scratch
    file pair (protobuf cannot hold it in memory) and give the same outputs."""
    import compiler.backends.onnx.save as onnx_save
    from compiler.backends.onnx.session import session

    compiled = _big_model(tmp_path)
    x = np.random.default_rng(9).normal(0.0, 1.0, (2, 5, 6, 2)).astype(np.float32)
    whole = session(compiled.onnx()).run(None, {"x": x})[0]
    monkeypatch.setattr(onnx_save, "THRESHOLD", 0)
    proto = compiled.onnx()
    split = session(proto).run(None, {"x": x})[0]
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    np.testing.assert_array_equal(split, whole)


def test_single_tensor_past_protobuf_limit_is_refused(tmp_path, monkeypatch):
    """One weight array over 2 GiB cannot be an ONNX tensor: exit 2 naming the layer and
    the NumPy target, nothing written (the limit is lowered here to stay small)."""
    import compiler.backends.onnx.build as onnx_backend
    from cli_util import tdc

    monkeypatch.setattr(onnx_backend, "MAX_TENSOR_BYTES", 1000)
    spec = model([None, 4], {"name": "wide", "type": "Dense", "units": 300})
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "m.onnx"
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", out)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "wide" in t)
    assert code == 2 and "layer 'wide'" in err and f"line {line}:" in err and "numpy" in err
    assert not out.exists() and not data_path(out).exists()
