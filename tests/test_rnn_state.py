"""return_state, ``name:k`` references and initial states against live Keras."""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from oracle import check, check_inputs, write_model


def two_inputs(x_shape: list, h_shape: list, *layers: dict, outputs=None) -> dict:
    m = {
        "inputs": {"x": {"shape": x_shape}, "h": {"shape": h_shape}},
        "layers": list(layers),
    }
    return m | ({"outputs": outputs} if outputs else {})


@pytest.mark.slow
def test_seq2seq_encoder_decoder(tmp_path):
    m = {
        "inputs": {"src": {"shape": [None, 5]}, "tgt": {"shape": [None, 3]}},
        "layers": [
            {"name": "enc", "type": "LSTM", "units": 6, "return_state": True, "inputs": "src"},
            {
                "name": "dec",
                "type": "LSTM",
                "units": 6,
                "return_sequences": True,
                "inputs": ["tgt", "enc:1", "enc:2"],
            },
            {
                "name": "proj",
                "type": "TimeDistributed",
                "layer": {"type": "Dense", "units": 4, "activation": "softmax"},
            },
        ],
        "outputs": ["proj", "enc:2"],
    }
    check(tmp_path, m, batch=3, time=6)


@pytest.mark.parametrize("sequences", [False, True])
def test_gru_state_as_output(tmp_path, sequences):
    m = {
        "inputs": {"x": {"shape": [None, 4]}},
        "layers": [
            {"name": "gru", "type": "GRU", "units": 5, "return_state": True,
             "return_sequences": sequences},
            {"name": "head", "type": "Dense", "units": 2, "inputs": "gru:1"},
        ],
        "outputs": ["gru", "gru:1", "head"],
    }  # fmt: skip
    check(tmp_path, m, batch=2, time=5)


@pytest.mark.parametrize("layer", ["SimpleRNN", "GRU"])
@pytest.mark.parametrize("act", ["tanh", "gelu"])
def test_initial_state(tmp_path, layer, act):
    rnn = {"name": "rnn", "type": layer, "units": 4, "activation": act, "inputs": ["x", "h"]}
    check(
        tmp_path,
        two_inputs([None, 3], [4], {**rnn, "return_state": True}, outputs=["rnn", "rnn:1"]),
    )


def test_lstm_initial_state_backwards_no_bias(tmp_path):
    m = {
        "inputs": {"x": {"shape": [None, 3]}, "h": {"shape": [4]}, "c": {"shape": [4]}},
        "layers": [
            {"name": "lstm", "type": "LSTM", "units": 4, "use_bias": False, "go_backwards": True,
             "return_sequences": True, "return_state": True, "inputs": ["x", "h", "c"]},
        ],
        "outputs": ["lstm", "lstm:1", "lstm:2"],
    }  # fmt: skip
    check(tmp_path, m, batch=2, time=4)


@pytest.mark.parametrize("layer", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.slow
def test_masked_with_initial_state(tmp_path, layer):
    units = 3
    states = ["enc:1", "enc:2"] if layer == "LSTM" else ["enc:1"]
    m = {
        "inputs": {"ids": {"shape": [None], "dtype": "int32"}},
        "layers": [
            {"name": "emb", "type": "Embedding", "input_dim": 10, "output_dim": 4,
             "mask_zero": True},
            {"name": "enc", "type": layer, "units": units, "return_state": True,
             "activation": "selu"},
            {"name": "dec", "type": layer, "units": units, "return_sequences": True,
             "return_state": True, "inputs": ["emb", *states]},
        ],
        "outputs": ["dec", "dec:1"],
    }  # fmt: skip
    ids = np.array([[1, 2, 0, 3, 0], [0, 4, 5, 0, 0], [6, 0, 7, 8, 9]], np.int32)
    check_inputs(tmp_path, m, [ids])


def test_onnx_output_names(tmp_path):
    m = {
        "inputs": {"x": {"shape": [None, 4]}},
        "layers": [{"name": "enc", "type": "LSTM", "units": 3, "return_state": True}],
        "outputs": ["enc", "enc:1", "enc:2"],
    }
    proto = compile_file(write_model(tmp_path, m)).onnx()
    assert [o.name for o in proto.graph.output] == ["enc", "enc:1", "enc:2"]


def lstm_state_model(outputs=None, inputs=None) -> dict:
    return {
        "inputs": {"x": {"shape": [None, 4]}},
        "layers": [
            {"name": "enc", "type": "LSTM", "units": 3, "return_state": True},
            {"name": "d", "type": "Dense", "units": 2, "inputs": inputs or "enc"},
        ],
        "outputs": outputs or ["d"],
    }


REFUSALS = [
    ("bad_k", lstm_state_model(inputs="enc:x"), "bad reference"),
    ("zero_k", lstm_state_model(inputs="enc:0"), "bad reference"),
    ("empty_k", lstm_state_model(outputs=["enc:"]), "bad reference"),
    ("unknown_layer", lstm_state_model(inputs="nope:1"), "not an input or an earlier layer"),
    ("k_out_of_range", lstm_state_model(inputs="enc:3"), "has 3 output(s)"),
    ("output_k_out_of_range", lstm_state_model(outputs=["enc:5"]), "has 3 output(s)"),
    ("dense_has_one_output", lstm_state_model(outputs=["d:1"]), "has 1 output(s)"),
    ("input_has_one_output", lstm_state_model(inputs="x:1"), "has 1 output(s)"),
    (
        "lstm_one_state",
        two_inputs([None, 3], [4], {"type": "LSTM", "units": 4, "inputs": ["x", "h"]}),
        "takes 2 initial state(s)",
    ),
    (
        "gru_two_states",
        two_inputs([None, 3], [4], {"type": "GRU", "units": 4, "inputs": ["x", "h", "h"]}),
        "takes 1 initial state(s)",
    ),
    (
        "wrong_state_width",
        two_inputs([None, 3], [5], {"type": "GRU", "units": 4, "inputs": ["x", "h"]}),
        "initial state h0 must be float32 (batch, 4)",
    ),
    (
        "wrong_state_rank",
        two_inputs([None, 3], [2, 4], {"type": "SimpleRNN", "units": 4, "inputs": ["x", "h"]}),
        "initial state h0",
    ),
    (
        "time_distributed_return_state",
        {
            "inputs": {"x": {"shape": [None, None, 3]}},
            "layers": [
                {
                    "type": "TimeDistributed",
                    "layer": {"type": "LSTM", "units": 2, "return_state": True},
                }
            ],
        },
        "return_state: true on the wrapped layer is not supported",
    ),
]


@pytest.mark.parametrize(("m", "needle"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusal(tmp_path, m, needle):
    with pytest.raises(TdcError) as err:
        compile_file(write_model(tmp_path, m))
    assert needle in str(err.value)
