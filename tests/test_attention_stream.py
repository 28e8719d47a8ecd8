"""Causal self-attention streamed: the step form carries the key/value cache.

Each step appends its keys and values to the cache and attends over it; stepped through a
sequence on both backends, it must equal Keras's whole-sequence output at every step.
"""

import numpy as np
import pytest
from test_streaming import run

from cli_util import tdc
from compiler.backends.numpy.codegen import load_module
from oracle import compile_with_random_weights, model, td, write_model


def mha(**kw):
    return {
        "type": "MultiHeadAttention",
        "num_heads": 2,
        "key_dim": 3,
        "use_causal_mask": True,
        **kw,
    }


def test_causal_self_attention_streams_quick(tmp_path):
    run(tmp_path, model([None, 4], td({"type": "Dense", "units": 6}), mha()), time=4)


@pytest.mark.slow
def test_causal_decoder_block_step_by_step(tmp_path):
    m = {
        "inputs": {"x": {"shape": [None, 5]}},
        "layers": [
            {"name": "proj", **td({"type": "Dense", "units": 8})},
            {"name": "att", **mha(num_heads=2, key_dim=4, value_dim=3, dropout=0.1)},
            {"name": "res", "type": "Add", "inputs": ["proj", "att"]},
            {"name": "ln", "type": "LayerNormalization"},
            {"name": "att2", **mha(num_heads=1, key_dim=5, use_bias=False, dropout=0.1)},
            {"name": "ff", **td({"type": "Dense", "units": 3, "activation": "softmax"})},
        ],
    }
    run(tmp_path, m, time=6)


@pytest.mark.slow
def test_causal_cross_attention_of_two_streams_and_last_state(tmp_path):
    # query and value are different timed values; an LSTM's last state has no time axis
    m = {
        "inputs": {"a": {"shape": [None, 3]}, "b": {"shape": [None, 4]}},
        "layers": [
            {"name": "att", **mha(output_shape=5, inputs=["a", "b"])},
            {"name": "att3", **mha(inputs=["att", "b", "a"], num_heads=1, key_dim=2)},
            {"name": "lstm", "type": "LSTM", "units": 3, "inputs": ["att3"]},
        ],
        "outputs": ["att", "lstm"],
    }
    run(tmp_path, m, time=5)


@pytest.mark.slow
@pytest.mark.parametrize(
    "entry",
    [
        {"type": "Attention", "use_scale": True},
        {"type": "Attention", "score_mode": "concat"},
        {"type": "AdditiveAttention"},
    ],
)
def test_causal_score_attention_streams(tmp_path, entry):
    m = {
        "inputs": {"a": {"shape": [None, 3]}, "b": {"shape": [None, 4]}},
        "layers": [
            {"name": "q", **td({"type": "Dense", "units": 4}), "inputs": ["a"]},
            {"name": "att", "inputs": ["q", "b", "q"], "use_causal_mask": True, **entry},
            {"name": "self", "inputs": ["att", "att"], "use_causal_mask": True, **entry},
        ],
        "outputs": ["att", "self"],
    }
    run(tmp_path, m, time=5)


def test_init_state_is_empty_caches(tmp_path):
    compiled = compile_with_random_weights(tmp_path, model([None, 4], mha(value_dim=5)))
    mod = load_module(*compiled.numpy_source())
    state = mod.init_state(3)
    assert sorted(state) == ["state_0", "state_1"]
    assert state["state_0"].shape == (3, 0, 6) and state["state_1"].shape == (3, 0, 10)
    x = np.ones((3, 4), np.float32)
    for t in range(1, 4):
        _, state = mod.step(x, state)
        assert state["state_0"].shape == (3, t, 6)
    step = compiled.step()
    feeds = step.zero_feeds(3)
    assert feeds["state_in_1"].shape == (3, 0, 10)
    onnx_in = {i.name: i for i in compiled.step_onnx().graph.input}
    dims = onnx_in["state_in_0"].type.tensor_type.shape.dim
    assert dims[1].dim_param and dims[2].dim_value == 6  # the cache length is dynamic


@pytest.mark.parametrize(
    "entry, why",
    [
        (mha(use_causal_mask=False), "attends across time steps"),
        ({"type": "Attention", "score_mode": "concat", "inputs": ["x", "x"]}, "across time"),
        ({"type": "AdditiveAttention", "inputs": ["x", "x"]}, "across time"),
    ],
)
def test_not_causal_is_refused_naming_the_layer(tmp_path, entry, why):
    path = write_model(tmp_path, model([None, 4], {"name": "culprit", **entry}))
    out = tmp_path / "step.onnx"
    code, _, err = tdc("compile", path, "--target", "onnx", "--streaming", "-o", out)
    assert code == 2 and "layer 'culprit'" in err and why in err, err
    assert "Traceback" not in err and not out.exists()
    numpy_out = tmp_path / "m.py"
    assert tdc("compile", path, "--target", "numpy", "-o", numpy_out)[0] == 0
    assert "culprit" in numpy_out.read_text().split("NOT_CAUSAL = ", 1)[1].splitlines()[0]


def test_masked_causal_attention_is_refused(tmp_path):
    m = model(
        [None],
        {"type": "Embedding", "input_dim": 10, "output_dim": 4, "mask_zero": True},
        {"name": "culprit", **mha()},
        dtype="int32",
    )
    path = write_model(tmp_path, m)
    code, _, err = tdc(
        "compile", path, "--target", "onnx", "--streaming", "-o", tmp_path / "s.onnx"
    )
    assert code == 2 and "layer 'culprit'" in err and "masked" in err, err


def convlstm_then_attention():
    """ConvLSTM1D (a (batch, width, filters) state) under causal self-attention (caches)."""
    return model(
        [None, 6, 2],
        {"type": "ConvLSTM1D", "filters": 3, "kernel_size": 3, "padding": "same",
         "return_sequences": True},
        td({"type": "Flatten"}),
        mha(),
        td({"type": "Dense", "units": 2}),
    )  # fmt: skip


@pytest.mark.slow
def test_convlstm_and_causal_attention_stream_together(tmp_path):
    """Each carried state has its own shape: the ConvLSTM's (6, 3) per sample beside the
    caches' (None, 6), in the module's STATES, init_state and the ONNX step model."""
    run(tmp_path, convlstm_then_attention(), time=4)
    compiled = compile_with_random_weights(tmp_path, convlstm_then_attention())
    text, weights = compiled.numpy_source()
    assert '"state_0": ((6, 3), "conv_lstm1d", "h")' in text
    assert '"state_3": ((None, 6), "multi_head_attention", "values")' in text
    mod = load_module(text, weights)
    state = mod.init_state(2)
    assert [v.shape for v in state.values()] == [(2, 6, 3), (2, 6, 3), (2, 0, 6), (2, 0, 6)]
    feeds = compiled.step().zero_feeds(2)
    assert [feeds[f"state_in_{k}"].shape for k in range(4)] == [
        (2, 6, 3), (2, 6, 3), (2, 0, 6), (2, 0, 6),
    ]  # fmt: skip
