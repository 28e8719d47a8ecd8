"""SimpleRNN, LSTM and GRU against live Keras (ONNX and NumPy backends)."""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.frontend.params import ACTIVATIONS as KERAS_ACTIVATIONS
from compiler.ops import get_op
from oracle import check, check_inputs, model, onnx_ops, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

LAYERS = ("SimpleRNN", "LSTM", "GRU")
GATED = ("LSTM", "GRU")
#: Every activation Keras accepts (ONNX: native op for some, a Scan loop for the rest).
ACTIVATIONS = tuple(KERAS_ACTIVATIONS)
NATIVE = ("tanh", "sigmoid", "hard_sigmoid", "relu", "leaky_relu", "elu", "softsign")

# (id, extra arguments, time steps)
OPTIONS = [
    ("default", {}, 5),
    ("sequences", {"return_sequences": True}, 4),
    ("no_bias", {"use_bias": False}, 3),
    ("no_bias_sequences", {"use_bias": False, "return_sequences": True}, 6),
    ("backwards", {"go_backwards": True}, 6),
    ("backwards_sequences", {"go_backwards": True, "return_sequences": True}, 7),
    ("unroll", {"unroll": True, "return_sequences": True}, 4),
    ("one_step", {"return_sequences": True}, 1),
    (
        "training_args",
        {
            "dropout": 0.5,
            "recurrent_dropout": 0.25,
            "seed": 3,
            "kernel_regularizer": "l2",
            "recurrent_constraint": "max_norm",
            "activity_regularizer": "l1",
            "stateful": False,
            "return_state": False,
        },
        5,
    ),
]


def rnn(layer: str, units: int = 5, **kw) -> dict:
    return {"type": layer, "units": units, **kw}


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize(("extra", "time"), [o[1:] for o in OPTIONS], ids=[o[0] for o in OPTIONS])
def test_options(tmp_path, layer, extra, time):
    check(tmp_path, model([None, 6], rnn(layer, **extra)), batch=3, time=time)


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation(tmp_path, layer, act):
    layer_dict = rnn(layer, activation=act, return_sequences=True)
    if act == "exponential":  # small inputs and few steps, or exp(exp(...)) overflows
        xs = [np.random.default_rng(1).normal(0.0, 0.1, (2, 2, 6)).astype(np.float32)]
        worst = check_inputs(tmp_path, model([None, 6], layer_dict), xs)
    else:
        worst = check(tmp_path, model([None, 6], layer_dict), batch=2, time=5)
    assert max(worst.values()) < 1e-4  # tame values: the comparison means something


@pytest.mark.parametrize("layer", GATED)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_recurrent_activation(tmp_path, layer, act):
    worst = check(tmp_path, model([None, 4], rnn(layer, 4, recurrent_activation=act)), time=4)
    assert max(worst.values()) < 1e-4  # tame values: the comparison means something


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("act", ["tanh", "gelu", "softplus", "linear"])
def test_onnx_native_op_or_scan(tmp_path, layer, act):
    """The native ONNX op when it has the activations; a Scan loop otherwise."""
    proto = compile_file(write_model(tmp_path, model([None, 6], rnn(layer, activation=act)))).onnx()
    ops = set(onnx_ops(proto))
    native = {"SimpleRNN": "RNN"}.get(layer, layer)
    assert (native in ops, "Scan" in ops) == ((True, False) if act in NATIVE else (False, True))


def test_null_activation_is_linear(tmp_path):
    check(tmp_path, model([None, 6], rnn("SimpleRNN", activation=None)), batch=2, time=3)


def test_mixed_alpha_activations(tmp_path):
    """ONNX consumes activation_alpha/beta in order: hard_sigmoid then leaky_relu's slope."""
    layer = rnn("LSTM", activation="leaky_relu", recurrent_activation="hard_sigmoid")
    check(tmp_path, model([None, 6], {**layer, "return_sequences": True}), batch=3, time=5)


GRU_BEFORE = [
    ("default", {}),
    ("sequences", {"return_sequences": True}),
    ("no_bias", {"use_bias": False}),
    ("backwards_sequences", {"go_backwards": True, "return_sequences": True}),
    ("relu_hard_sigmoid", {"activation": "relu", "recurrent_activation": "hard_sigmoid"}),
]


@pytest.mark.parametrize("extra", [o[1] for o in GRU_BEFORE], ids=[o[0] for o in GRU_BEFORE])
def test_gru_reset_before(tmp_path, extra):
    check(tmp_path, model([None, 6], rnn("GRU", reset_after=False, **extra)), batch=3, time=6)


def test_lstm_without_unit_forget_bias(tmp_path):
    check(tmp_path, model([None, 6], rnn("LSTM", unit_forget_bias=False)), batch=2, time=4)


def test_stacked(tmp_path):
    layers = (
        rnn("LSTM", 8, return_sequences=True),
        rnn("GRU", 6, return_sequences=True, go_backwards=True),
        rnn("SimpleRNN", 4),
        {"type": "Dense", "units": 3},
    )
    check(tmp_path, model([None, 5], *layers), batch=4, time=9)


def test_after_time_distributed_dense(tmp_path):
    layers = (
        td({"type": "Dense", "units": 7, "activation": "relu"}),
        rnn("LSTM", 6, return_sequences=True),
        td({"type": "Dense", "units": 2}),
    )
    check(tmp_path, model([None, 5], *layers), batch=3, time=6)


def test_static_time_axis(tmp_path):
    check(tmp_path, model([6, 5], rnn("GRU", 4, return_sequences=True)), batch=2, time=6)


def test_large_batch(tmp_path):
    check(tmp_path, model([None, 12], rnn("LSTM", 16)), batch=17, time=11)


# -- without a weights file ---------------------------------------------------------


def test_drawn_lstm_bias_has_unit_forget_bias(tmp_path):
    path = write_model(tmp_path, model([None, 6], {**rnn("LSTM", 3), "name": "lstm"}))
    bias = compile_file(path).weights["lstm/bias"]
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_drawn_weight_shapes(tmp_path):
    layers = (
        {**rnn("GRU", 3, return_sequences=True), "name": "after"},
        {**rnn("GRU", 3, reset_after=False), "name": "before"},
    )
    w = compile_file(write_model(tmp_path, model([None, 6], *layers))).weights
    assert w["after/kernel"].shape == (6, 9)
    assert w["after/recurrent_kernel"].shape == (3, 9)
    assert w["after/bias"].shape == (2, 9)
    assert w["before/bias"].shape == (9,)


def test_flops_counts_static_time(tmp_path):
    compiled = compile_file(write_model(tmp_path, model([10, 4], rnn("LSTM", 8))))
    (node,) = compiled.graph.nodes
    per_step = 2 * 32 * (4 + 8) + 2 * 32 + 6 * 8
    assert get_op("LSTM").flops(node) == 10 * per_step


# -- refusals -----------------------------------------------------------------------

REFUSALS = [
    ("unknown_activation", rnn("LSTM", activation="nope"), "gelu, silu"),
    ("unknown_recurrent", rnn("GRU", recurrent_activation="nope"), "hard_silu"),
    ("stateful", rnn("SimpleRNN", stateful=True), "not supported"),
    ("bad_cudnn", rnn("LSTM", use_cudnn="yes"), "auto"),
    ("bad_dropout", rnn("GRU", dropout=1.5), "dropout"),
    ("unknown_argument", rnn("GRU", time_major=True), "unknown argument"),
    ("missing_units", {"type": "LSTM"}, "units"),
]


@pytest.mark.parametrize(
    ("layer", "needle"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusal(tmp_path, layer, needle):
    with pytest.raises(TdcError) as err:
        compile_file(write_model(tmp_path, model([None, 6], layer)))
    assert needle in str(err.value)


@pytest.mark.parametrize("layer", LAYERS)
def test_refuses_rank_2_input(tmp_path, layer):
    with pytest.raises(TdcError, match="rank 3"):
        compile_file(write_model(tmp_path, model([6], rnn(layer))))


def test_refuses_dynamic_features(tmp_path):
    with pytest.raises(TdcError, match="static feature"):
        compile_file(write_model(tmp_path, model([None, None], rnn("LSTM"))))
