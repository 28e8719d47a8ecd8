"""Bidirectional(SimpleRNN | LSTM | GRU) against live Keras (ONNX and NumPy backends)."""

import numpy as np
import pytest

import oracle
from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.frontend.arrays import write_npz
from oracle import check, model, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

LAYERS = ("SimpleRNN", "LSTM", "GRU")
MODES = ("concat", "sum", "mul", "ave")


def bi(layer: str, units: int = 4, name: str | None = None, mode: str | None = None, **kw):
    """A Bidirectional entry wrapping ``layer`` (extra arguments go to the wrapped layer)."""
    out: dict = {"type": "Bidirectional", "layer": {"type": layer, "units": units, **kw}}
    if name:
        out["name"] = name
    if mode:
        out["merge_mode"] = mode
    return out


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("mode", MODES)
def test_merge_modes(tmp_path, mode, layer, sequences):
    entry = bi(layer, 5, mode=mode, return_sequences=sequences)
    check(tmp_path, model([None, 6], entry), batch=3, time=5)


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
def test_gru_reset_before(tmp_path, sequences):
    entry = bi("GRU", 5, reset_after=False, return_sequences=sequences)
    check(tmp_path, model([None, 6], entry), batch=2, time=6)


@pytest.mark.parametrize(
    ("layer", "extra"),
    [
        ("LSTM", {"use_bias": False}),
        ("GRU", {"use_bias": False, "return_sequences": True}),
        ("SimpleRNN", {"activation": "relu", "return_sequences": True}),
        ("LSTM", {"activation": "softsign", "recurrent_activation": "hard_sigmoid"}),
        ("LSTM", {"unit_forget_bias": False, "unroll": True, "return_sequences": True}),
        ("GRU", {"dropout": 0.3, "recurrent_dropout": 0.2, "kernel_regularizer": "l2"}),
    ],
    ids=["lstm_no_bias", "gru_no_bias", "rnn_relu", "lstm_acts", "lstm_unroll", "gru_training"],
)
def test_wrapped_options(tmp_path, layer, extra):
    check(tmp_path, model([None, 6], bi(layer, 4, **extra)), batch=2, time=5)


def test_tagger(tmp_path):
    """Sequence tagger: (null, 8) -> Bidirectional(LSTM) -> TimeDistributed(Dense softmax)."""
    layers = [
        bi("LSTM", 6, name="bilstm", return_sequences=True),
        td({"type": "Dense", "units": 5, "activation": "softmax"}, "tags"),
    ]
    check(tmp_path, model([None, 8], *layers), batch=3, time=7)


def test_stacked(tmp_path):
    layers = [
        bi("LSTM", 5, name="bi1", return_sequences=True),
        bi("GRU", 4, name="bi2", mode="sum", return_sequences=True),
        bi("SimpleRNN", 3, name="bi3", mode="ave"),
        {"type": "Dense", "units": 2},
    ]
    check(tmp_path, model([None, 6], *layers), batch=2, time=6)


@pytest.mark.parametrize("time", [2, 11])
def test_dynamic_time(tmp_path, time):
    entry = bi("GRU", 4, name="bigru", return_sequences=True)
    check(tmp_path, model([None, 5], entry), batch=2, time=time)


def test_one_step(tmp_path):
    check(tmp_path, model([None, 5], bi("LSTM", 3, return_sequences=True)), batch=2, time=1)


def test_static_time(tmp_path):
    check(tmp_path, model([6, 5], bi("GRU", 3, mode="mul", return_sequences=True)), time=6)


def test_inside_time_distributed(tmp_path):
    entry = td(bi("GRU", 3, return_sequences=True), "tdbi")
    check(tmp_path, model([3, None, 4], entry), batch=2, time=3)


@pytest.fixture
def padded_inputs(monkeypatch):
    """Inputs with all-zero steps (trailing in sample 0, one inside sample 1) for Masking."""
    draw = oracle.random_inputs

    def padded(compiled, batch, time, seed=1):
        xs = draw(compiled, batch, time, seed)
        xs[0][0, -2:] = 0.0
        xs[0][1, 1] = 0.0
        return xs

    monkeypatch.setattr(oracle, "random_inputs", padded)


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("layer", LAYERS)
def test_masked(tmp_path, padded_inputs, layer, sequences):
    """Keras zeroes masked steps of both directions when returning sequences."""
    layers = [{"type": "Masking"}, bi(layer, 3, mode="sum", return_sequences=sequences)]
    check(tmp_path, model([None, 4], *layers), batch=3, time=6)


def test_masked_tagger_keeps_mask(tmp_path, padded_inputs):
    layers = [
        {"type": "Masking"},
        bi("GRU", 3, return_sequences=True),
        bi("LSTM", 2, mode="ave"),
    ]
    check(tmp_path, model([None, 4], *layers), batch=3, time=6)


def test_onnx_time_axis_is_symbolic(tmp_path):
    compiled = compile_file(write_model(tmp_path, model([None, 5], bi("LSTM", 3))))
    dims = compiled.onnx().graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", "T", 5]


def test_weight_keys(tmp_path):
    compiled = compile_file(write_model(tmp_path, model([None, 6], bi("GRU", 4, name="bg"))))
    shapes = {k: v.shape for k, v in compiled.weights.items()}
    assert shapes == {
        f"bg/{d}/{v}": s
        for d in ("forward", "backward")
        for v, s in (("kernel", (6, 12)), ("recurrent_kernel", (4, 12)), ("bias", (2, 12)))
    }
    rnn_nodes = [n for n in compiled.graph.nodes if n.op == "GRU"]
    assert [n.attrs["go_backwards"] for n in rnn_nodes] == [False, True]
    assert all(set(n.weights) == {"kernel", "recurrent_kernel", "bias"} for n in rnn_nodes)


def test_drawn_weights_differ_by_direction(tmp_path):
    w = compile_file(write_model(tmp_path, model([None, 6], bi("LSTM", 3, name="b")))).weights
    assert not np.array_equal(w["b/forward/kernel"], w["b/backward/kernel"])
    assert w["b/backward/bias"][3:6].tolist() == [1.0, 1.0, 1.0]  # unit_forget_bias


def test_numpy_source_names_the_merge(tmp_path):
    entry = bi("SimpleRNN", 3, mode="ave", return_sequences=True)
    text, _ = compile_file(write_model(tmp_path, model([None, 4], entry))).numpy_source()
    assert "merge forward and backward (ave)" in text
    assert "reverse the time axis" in text


def test_missing_backward_weight_is_named(tmp_path):
    entry = bi("SimpleRNN", 3, name="bs")
    arrays = {
        "bs/forward/kernel": np.zeros((4, 3), np.float32),
        "bs/forward/recurrent_kernel": np.zeros((3, 3), np.float32),
        "bs/forward/bias": np.zeros((3,), np.float32),
    }
    write_npz(tmp_path / "w.npz", arrays)
    path = write_model(tmp_path, {**model([None, 4], entry), "weights": "w.npz"})
    with pytest.raises(TdcError, match="bs/backward/kernel"):
        compile_file(path)


def test_layer_named_forward(tmp_path):
    """Regression: a layer named forward_* must still get its backward weights."""
    check(tmp_path, model([None, 4], bi("LSTM", 3, name="forward_bi")), time=4)


REFUSALS = [
    ({**bi("LSTM"), "merge_mode": "max"}, "concat, sum, mul, ave, or null"),
    ({**bi("LSTM"), "weights": [[0.0]]}, "not supported yet"),
    (bi("GRU", go_backwards=True), "go_backwards"),
    ({"type": "Bidirectional", "layer": {"type": "Dense", "units": 3}}, "cannot wrap Dense"),
    ({"type": "Bidirectional", "units": 3}, "under 'layer:'"),
]


@pytest.mark.parametrize(("entry", "needle"), REFUSALS, ids=[str(i) for i in range(5)])
def test_refusal(tmp_path, entry, needle):
    with pytest.raises(TdcError) as err:
        compile_file(write_model(tmp_path, model([None, 4], entry)))
    assert needle in str(err.value) + str(err.value.accepted)


def test_refuses_rank_2_input(tmp_path):
    with pytest.raises(TdcError, match="Bidirectional expects an input of rank 3"):
        compile_file(write_model(tmp_path, model([6], bi("LSTM"))))
