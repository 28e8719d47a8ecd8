"""Streaming (SPEC section 4): the step form, run frame by frame, against live Keras.

Every model is stepped through a random sequence on both backends. An output with a time
axis must equal Keras's whole-sequence output at that step; an output without one must
equal Keras run on the prefix seen so far.
"""

from pathlib import Path

import numpy as np
import pytest

from cli_util import tdc
from compiler.backends.numpy.codegen import load_module
from compiler.backends.onnx.save import check as onnx_check
from compiler.keras.oracle import keras_model, run_keras
from compiler.tools.stream_verify import steps
from oracle import (
    ATOL,
    RTOL,
    compile_with_random_weights,
    model,
    onnx_ops,
    random_inputs,
    record_errors,
    td,
    write_model,
)

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

RNNS = ("SimpleRNN", "LSTM", "GRU")


def keras_refs(compiled, xs: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Keras's output at every step: a slice of the whole sequence, or the prefix's output."""
    names = compiled.graph.output_names
    km = keras_model(compiled.spec, compiled.weights)
    whole = run_keras(km, xs)
    prefixes = [run_keras(km, [x[:, : t + 1] for x in xs]) for t in range(xs[0].shape[1])]
    # an output with a time axis is the one whose shape changes with the sequence's length
    timed = [w.shape != p.shape for w, p in zip(whole, prefixes[0], strict=True)]
    return [
        {n: w[:, t] if tm else p for n, w, p, tm in zip(names, whole, prefix, timed, strict=True)}
        for t, prefix in enumerate(prefixes)
    ]


def stream_check(compiled, xs: list[np.ndarray]) -> dict[str, float]:
    """Both backends' steps equal Keras's at every step; returns the worst abs errors."""
    refs = keras_refs(compiled, xs)
    worst = {"onnx": 0.0, "numpy": 0.0}
    for backend in ("onnx", "numpy"):
        got = list(steps(compiled, backend, xs))
        assert len(got) == len(refs)
        for t, (g, r) in enumerate(zip(got, refs, strict=True)):
            for name, want in r.items():
                out = np.asarray(g[name])
                assert out.shape == want.shape, f"{backend} {name} step {t}: {out.shape}"
                np.testing.assert_allclose(
                    out, want, atol=ATOL, rtol=RTOL, err_msg=f"{backend} {name} step {t}"
                )
                worst[backend] = max(worst[backend], float(np.max(np.abs(out - want))))
    record_errors(worst)
    return worst


def run(tmp: Path, m: dict, time: int = 6, batch: int = 2, xs=None) -> dict[str, float]:
    compiled = compile_with_random_weights(tmp, m)
    return stream_check(compiled, xs if xs is not None else random_inputs(compiled, batch, time))


# -- causal models ------------------------------------------------------------------------


def test_td_cnn_lstm_per_step_outputs(tmp_path):
    m = model(
        [None, 8, 8, 2],
        td({"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}),
        td({"type": "BatchNormalization"}),
        td({"type": "ReLU"}),
        td({"type": "MaxPooling2D", "pool_size": 2}),
        td({"type": "Flatten"}),
        {"type": "LSTM", "units": 5, "return_sequences": True},
        td({"type": "Dense", "units": 3, "activation": "softmax"}),
    )
    run(tmp_path, m)


def test_td_dense_gru_dense_last_step(tmp_path):
    m = model(
        [None, 4],
        td({"type": "Dense", "units": 6, "activation": "tanh"}),
        {"type": "GRU", "units": 5},
        {"type": "Dense", "units": 2},
    )
    run(tmp_path, m, time=7)


@pytest.mark.parametrize("rnn", RNNS)
def test_each_rnn_sequence_and_last(tmp_path, rnn):
    m = model(
        [None, 3],
        {"type": rnn, "units": 4, "return_sequences": True},
        {"type": rnn, "units": 3},
    )
    run(tmp_path, m)


@pytest.mark.parametrize("rnn", RNNS)
def test_masking_keeps_state_on_masked_steps(tmp_path, rnn):
    m = model(
        [None, 3],
        {"type": "Masking", "mask_value": 0.0},
        {"type": rnn, "units": 4, "return_sequences": True},
        {"type": rnn, "units": 3},
    )
    x = np.random.default_rng(3).normal(size=(3, 7, 3)).astype(np.float32)
    x[0, [2, 3, 5]] = 0.0  # masked mid-sequence
    x[1, 0] = 0.0  # masked first step
    x[2, :] = 0.0  # every step masked
    compiled = compile_with_random_weights(tmp_path, m)
    stream_check(compiled, [x])


def test_embedding_mask_zero_gru(tmp_path):
    m = model(
        [None],
        {"type": "Embedding", "input_dim": 10, "output_dim": 4, "mask_zero": True},
        {"type": "GRU", "units": 5, "return_sequences": True},
        td({"type": "Dense", "units": 2}),
        dtype="int32",
    )
    ids = np.array([[3, 0, 0, 7, 1, 0], [0, 4, 9, 1, 0, 6]], dtype=np.int32)
    compiled = compile_with_random_weights(tmp_path, m)
    stream_check(compiled, [ids])


def test_graph_two_inputs_merge_norm_states(tmp_path):
    m = {
        "inputs": {"a": {"shape": [None, 3]}, "b": {"shape": [None, 3]}},
        "layers": [
            {"name": "da", "inputs": ["a"], **td({"type": "Dense", "units": 4})},
            {"name": "db", "inputs": ["b"], **td({"type": "Dense", "units": 4})},
            {"name": "add", "type": "Add", "inputs": ["da", "db"]},
            {"name": "ln", "type": "LayerNormalization", "inputs": ["add"]},
            {"name": "cat", "type": "Concatenate", "inputs": ["ln", "a"]},
            {"name": "rnn", "type": "LSTM", "units": 3, "return_sequences": True,
             "return_state": True, "inputs": ["cat"]},
            {"name": "soft", "type": "Softmax", "inputs": ["rnn"]},
        ],
        "outputs": ["soft", "rnn:1", "rnn:2"],
    }  # fmt: skip
    run(tmp_path, m, time=5)


def test_repeat_vector_after_last_output_is_static(tmp_path):
    """An encoder's last state repeated into a decoder: the decoder re-runs every step."""
    m = model(
        [None, 3],
        {"type": "GRU", "units": 4},
        {"type": "RepeatVector", "n": 3},
        {"type": "SimpleRNN", "units": 2, "return_sequences": True},
    )
    run(tmp_path, m, time=4)


def test_fixed_time_axis_streams(tmp_path):
    m = model([6, 4], td({"type": "Dense", "units": 3}), {"type": "SimpleRNN", "units": 2})
    compiled = compile_with_random_weights(tmp_path, m)
    xs = random_inputs(compiled, 2, 6)
    refs = run_keras(keras_model(compiled.spec, compiled.weights), xs)
    got = list(steps(compiled, "numpy", xs))
    np.testing.assert_allclose(got[-1]["simple_rnn"], refs[0], atol=ATOL, rtol=RTOL)


# -- the step form's interface -------------------------------------------------------------


def test_onnx_step_model_interface(tmp_path):
    m = model([None, 5, 5, 1], td({"type": "Conv2D", "filters": 2, "kernel_size": 3}),
              td({"type": "Flatten"}), {"type": "LSTM", "units": 4})  # fmt: skip
    compiled = compile_with_random_weights(tmp_path, m)
    proto = compiled.step_onnx()
    onnx_check(proto)
    ins = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
           for i in proto.graph.input}  # fmt: skip
    outs = [o.name for o in proto.graph.output]
    assert ins == {"x": ["N", 5, 5, 1], "state_in_0": ["N", 4], "state_in_1": ["N", 4]}
    assert outs == ["lstm", "state_out_0", "state_out_1"]
    assert "Scan" not in onnx_ops(proto) and "LSTM" in onnx_ops(proto)


def test_numpy_step_api(tmp_path):
    m = {
        "inputs": {"a": {"shape": [None, 2]}, "b": {"shape": [None, 2]}},
        "layers": [
            {"name": "add", "type": "Add", "inputs": ["a", "b"]},
            {"name": "gru", "type": "GRU", "units": 3, "inputs": ["add"]},
        ],
        "outputs": ["gru"],
    }
    compiled = compile_with_random_weights(tmp_path, m)
    mod = load_module(*compiled.numpy_source())
    state = mod.init_state(4)
    assert sorted(state) == ["state_0"] and state["state_0"].shape == (4, 3)
    a, b = np.ones((4, 2), np.float32), np.zeros((4, 2), np.float32)
    y1, s1 = mod.step([a, b], state)
    y2, s2 = mod.step({"b": b, "a": a}, state)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(s1["state_0"], y1)
    with pytest.raises(ValueError, match="expected shape"):
        mod.step([a[:, :1], b], state)
    with pytest.raises(TypeError, match="state"):
        mod.step([a, b], {})


def test_non_causal_numpy_module_says_why(tmp_path):
    m = model([None, 3], {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 2}})
    compiled = compile_with_random_weights(tmp_path, m)
    mod = load_module(*compiled.numpy_source())
    with pytest.raises(NotImplementedError, match="Bidirectional"):
        mod.init_state(1)
    assert mod.predict(np.zeros((1, 4, 3), np.float32)).shape == (1, 4)


# -- refusals ----------------------------------------------------------------------------

NOT_CAUSAL = {
    "bidirectional": ({"type": "Bidirectional", "layer": {"type": "GRU", "units": 2}},
                      "Bidirectional"),
    "go_backwards": ({"type": "LSTM", "units": 2, "go_backwards": True}, "go_backwards"),
    "conv1d_over_time": ({"type": "Conv1D", "filters": 2, "kernel_size": 2}, "time axis"),
    "pool_over_time": ({"type": "MaxPooling1D", "pool_size": 2}, "time axis"),
    "global_pool": ({"type": "GlobalAveragePooling1D"}, "time axis"),
    "permute": ({"type": "Permute", "dims": [2, 1]}, "time axis"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(NOT_CAUSAL))
def test_not_causal_is_refused_naming_the_layer(tmp_path, case):
    layer, why = NOT_CAUSAL[case]
    m = model([None, 4], {"name": "culprit", **layer})
    path = write_model(tmp_path, m)
    out = tmp_path / "step.onnx"
    code, _, err = tdc("compile", path, "--target", "onnx", "--streaming", "-o", out)
    assert code == 2, err
    assert "layer 'culprit'" in err and why in err
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "culprit" in t)
    assert f"line {line}:" in err and "Traceback" not in err
    assert not out.exists()
    numpy_out = tmp_path / "m.py"
    code, _, err = tdc("compile", path, "--target", "numpy", "--streaming", "-o", numpy_out)
    assert code == 2 and "layer 'culprit'" in err and not numpy_out.exists()
    # the whole-sequence model still compiles, and its module says why it cannot step
    assert tdc("compile", path, "--target", "numpy", "-o", numpy_out)[0] == 0
    assert "culprit" in numpy_out.read_text().split("NOT_CAUSAL = ", 1)[1].splitlines()[0]


def test_flatten_over_a_fixed_time_axis_is_refused(tmp_path):
    m = model([4, 3], {"name": "flat", "type": "Flatten"}, {"type": "Dense", "units": 2})
    code, _, err = tdc("verify", write_model(tmp_path, m), "--streaming")
    assert code == 2 and "layer 'flat'" in err


# -- tdc verify --streaming ------------------------------------------------------------------


def test_verify_streaming_cli(tmp_path):
    m = model([None, 3], td({"type": "Dense", "units": 4}), {"type": "LSTM", "units": 3})
    compile_with_random_weights(tmp_path, m)
    code, out, err = tdc("verify", tmp_path / "model.yaml", "--streaming", "--time", "5")
    assert code == 0, err
    assert "all outputs match Keras" in out


def test_verify_streaming_catches_a_wrong_step(tmp_path, monkeypatch):
    """The streaming check can fail: a step form that drifts at step 3 is reported."""
    import compiler.tools.stream_verify as sv

    m = model([None, 3], {"type": "GRU", "units": 3, "return_sequences": True})
    compile_with_random_weights(tmp_path, m)
    real = sv.steps

    def drifting(compiled, backend, xs):
        for t, out in enumerate(real(compiled, backend, xs)):
            yield {k: v + (0.01 if t == 3 else 0.0) for k, v in out.items()}

    monkeypatch.setattr(sv, "steps", drifting)
    code, out, err = tdc("verify", tmp_path / "model.yaml", "--streaming", "--time", "6")
    assert code == 1, out + err
    assert "at step 3" in err and "MISMATCH" in out


def test_verify_streaming_exercises_masking(tmp_path):
    """verify's seeded inputs give a Masking layer whole masked steps (mid-sequence and
    first), and the step form still matches Keras on them."""
    from compiler.api import compile_file
    from compiler.tools.verify import MASKED_STEPS, seeded_inputs

    m = model(
        [None, 3],
        {"type": "Masking", "mask_value": 0.5},
        {"type": "LSTM", "units": 3, "return_sequences": True},
    )
    path = write_model(tmp_path, m)
    (x,) = seeded_inputs(compile_file(path).spec, 2, 6)
    assert all((x[b, t] == 0.5).all() for b, t in MASKED_STEPS)
    code, out, err = tdc("verify", path, "--streaming", "--time", "6")
    assert code == 0 and "all outputs match Keras" in out, err
