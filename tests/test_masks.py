"""Embedding, Masking and Keras mask propagation against live Keras (ONNX and NumPy).

The inputs are explicit so that every masked case is hit: a masked step in the middle of
a sequence, a masked first step, a sample with every step masked, and an unmasked one.
"""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.frontend.params import ACTIVATIONS as KERAS_ACTIVATIONS
from oracle import check, check_inputs, model, td, write_model
from oracle import onnx_ops as all_onnx_ops

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

RNNS = ("SimpleRNN", "LSTM", "GRU")

#: (batch 4, time 7) ids: zeros mid-sequence, at t=0, everywhere, nowhere.
IDS = np.array(
    [
        [3, 5, 0, 0, 7, 0, 2],
        [0, 4, 9, 1, 0, 6, 8],
        [0, 0, 0, 0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6, 7],
    ]
)


def features(masked: dict[int, list[int]], value: float = 0.0, f: int = 3) -> np.ndarray:
    """(4, 7, f) random floats whose steps ``masked[sample]`` are all ``value``."""
    x = np.random.default_rng(5).normal(0.0, 1.0, (4, 7, f)).astype(np.float32)
    x[0, 1, 0] = value  # a single matching feature does not mask the step
    for sample, steps in masked.items():
        x[sample, steps] = value
    return x


MID_FIRST_ALL = {0: [2, 3, 5], 1: [0], 2: list(range(7))}


def emb(mask_zero: bool = True, dim: int = 4) -> dict:
    return {"type": "Embedding", "input_dim": 10, "output_dim": dim, "mask_zero": mask_zero}


def rnn(layer: str, units: int = 3, **kw) -> dict:
    return {"type": layer, "units": units, **kw}


def ids(dtype: str = "int32") -> list[np.ndarray]:
    return [IDS.astype(dtype)]


# -- Embedding ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["int32", "int64"])
@pytest.mark.parametrize("mask_zero", [False, True])
def test_embedding_alone(tmp_path, dtype, mask_zero):
    check(tmp_path, model([None], emb(mask_zero), dtype=dtype), batch=3, time=6)


def test_embedding_static_rank3_ids(tmp_path):
    check(tmp_path, model([5, 2], emb(dim=3), dtype="int64"), batch=2)


def test_embedding_default_initializer(tmp_path):
    layer = {"type": "Embedding", "input_dim": 10, "output_dim": 2, "name": "e"}
    w = compile_file(write_model(tmp_path, model([None], layer, dtype="int32"))).weights
    assert w["e/embeddings"].shape == (10, 2) and np.abs(w["e/embeddings"]).max() <= 0.05


def test_embedding_refuses_float_input(tmp_path):
    with pytest.raises(TdcError, match="int32 or int64"):
        compile_file(write_model(tmp_path, model([None], emb())))


# -- Embedding(mask_zero) -> RNNs -------------------------------------------------------


@pytest.mark.parametrize("layer", RNNS)
@pytest.mark.parametrize("seqs", [True, False], ids=["sequences", "last"])
def test_mask_zero_into_rnn(tmp_path, layer, seqs):
    m = model([None], emb(), rnn(layer, return_sequences=seqs), dtype="int32")
    check_inputs(tmp_path, m, ids())


@pytest.mark.parametrize("layer", RNNS)
def test_masked_go_backwards(tmp_path, layer):
    m = model([None], emb(), rnn(layer, go_backwards=True, return_sequences=True), dtype="int64")
    check_inputs(tmp_path, m, ids("int64"))


@pytest.mark.parametrize("extra", [{"reset_after": False}, {"use_bias": False}])
def test_masked_gru_variants(tmp_path, extra):
    m = model([None], emb(), rnn("GRU", 4, return_sequences=True, **extra), dtype="int32")
    check_inputs(tmp_path, m, ids())


def test_masked_lstm_activations(tmp_path):
    layer = rnn("LSTM", activation="relu", recurrent_activation="hard_sigmoid", unroll=True)
    check_inputs(tmp_path, model([7], emb(), layer, dtype="int32"), ids())


def test_mask_flows_through_stacked_rnns(tmp_path):
    layers = (emb(), rnn("LSTM", 5, return_sequences=True), rnn("GRU", 3))
    check_inputs(tmp_path, model([None], *layers, dtype="int32"), ids())


def test_mask_flows_through_dense_dropout_activation(tmp_path):
    layers = (
        emb(),
        {"type": "Dense", "units": 6},
        {"type": "Dropout", "rate": 0.3},
        {"type": "Activation", "activation": "tanh"},
        rnn("SimpleRNN", 4, return_sequences=True),
    )
    check_inputs(tmp_path, model([None], *layers, dtype="int32"), ids())


# -- Masking ----------------------------------------------------------------------------


def test_masking_alone(tmp_path):
    check_inputs(tmp_path, model([None, 3], {"type": "Masking"}), [features(MID_FIRST_ALL)])


def test_masking_td_dense_lstm(tmp_path):
    layers = (
        {"type": "Masking", "mask_value": 0.0},
        td({"type": "Dense", "units": 5, "activation": "relu"}),
        rnn("LSTM", 4, return_sequences=True),
    )
    check_inputs(tmp_path, model([None, 3], *layers), [features(MID_FIRST_ALL)])


@pytest.mark.parametrize("layer", RNNS)
def test_masking_value_into_rnn(tmp_path, layer):
    layers = ({"type": "Masking", "mask_value": -1.5}, rnn(layer, 4))
    check_inputs(tmp_path, model([None, 3], *layers), [features(MID_FIRST_ALL, -1.5)])


def test_conv1d_drops_the_mask(tmp_path):
    """Conv1D does not support masking in Keras: the LSTM after it sees no mask."""
    layers = (
        {"type": "Masking"},
        {"type": "Conv1D", "filters": 4, "kernel_size": 3, "padding": "same"},
        rnn("LSTM", 3, return_sequences=True),
    )
    compiled = compile_file(write_model(tmp_path, model([None, 3], *layers)))
    assert len(compiled.graph.nodes[-1].inputs) == 1
    check_inputs(tmp_path, model([None, 3], *layers), [features(MID_FIRST_ALL)])


# -- global pooling -----------------------------------------------------------------------


@pytest.mark.parametrize("keepdims", [False, True])
def test_mask_into_global_average_pooling(tmp_path, keepdims):
    pool = {"type": "GlobalAveragePooling1D", "keepdims": keepdims}
    check_inputs(
        tmp_path, model([None], emb(), pool, dtype="int32"), [IDS[[0, 1, 3]].astype("int32")]
    )


def test_rnn_sequence_mask_into_global_average_pooling(tmp_path):
    layers = (
        {"type": "Masking"},
        rnn("GRU", 4, return_sequences=True),
        {"type": "GlobalAveragePooling1D"},
        {"type": "Dense", "units": 2},
    )
    check_inputs(tmp_path, model([None, 3], *layers), [features({0: [2, 3], 1: [0]})])


def test_fully_masked_average_is_nan_like_keras(tmp_path):
    check_inputs(
        tmp_path, model([None], emb(), {"type": "GlobalAveragePooling1D"}, dtype="int32"), ids()
    )


def test_global_max_pooling_ignores_the_mask(tmp_path):
    check_inputs(
        tmp_path, model([None], emb(), {"type": "GlobalMaxPooling1D"}, dtype="int32"), ids()
    )


# -- graph form -----------------------------------------------------------------------------


def onnx_ops(tmp_path, m: dict) -> list[str]:
    return all_onnx_ops(compile_file(write_model(tmp_path, m)).onnx())


def test_masked_rnn_runs_its_valid_steps_on_the_native_op(tmp_path):
    """A masked RNN is the native op over each sample's valid steps (moved to the front,
    ``sequence_lens``); only activations the native op lacks take the Scan form."""
    masked = onnx_ops(tmp_path, model([None], emb(), rnn("LSTM"), dtype="int32"))
    assert "LSTM" in masked and "TopK" in masked and "Scan" not in masked
    plain = onnx_ops(tmp_path, model([None], emb(False), rnn("LSTM"), dtype="int32"))
    assert "LSTM" in plain and "Scan" not in plain and "TopK" not in plain
    odd = {**rnn("LSTM"), "activation": "softplus"}
    assert "Scan" in onnx_ops(tmp_path, model([None], emb(), odd, dtype="int32"))


def test_unused_mask_is_removed(tmp_path):
    compiled = compile_file(write_model(tmp_path, model([None], emb(), dtype="int32")))
    assert compiled.graph.ops() == ["Embedding"]


def test_softmax_on_masked_input_is_refused(tmp_path):
    layers = (emb(), {"type": "Softmax"})
    with pytest.raises(TdcError, match="masked input"):
        compile_file(write_model(tmp_path, model([None], *layers, dtype="int32")))


# -- merge and Bidirectional ---------------------------------------------------------------


def test_add_ors_the_masks(tmp_path):
    m = {
        "inputs": {
            "a": {"shape": [None], "dtype": "int32"},
            "b": {"shape": [None], "dtype": "int32"},
        },
        "layers": [
            {**emb(), "name": "ea", "inputs": "a"},
            {**emb(), "name": "eb", "inputs": "b"},
            {"type": "Add", "name": "add", "inputs": ["ea", "eb"]},
            {**rnn("LSTM", return_sequences=True), "name": "lstm"},
        ],
    }
    other = np.roll(IDS, 2, axis=1).astype("int32")
    check_inputs(tmp_path, m, [IDS.astype("int32"), other])


@pytest.mark.parametrize("seqs", [True, False], ids=["sequences", "last"])
def test_masked_bidirectional(tmp_path, seqs):
    layers = (
        emb(),
        {"type": "Bidirectional", "layer": rnn("GRU", return_sequences=seqs)},
        *([rnn("SimpleRNN", 2)] if seqs else []),
    )
    check_inputs(tmp_path, model([None], *layers, dtype="int32"), ids())


ROLES = [("SimpleRNN", "activation"), ("LSTM", "activation"), ("GRU", "activation")]
ROLES += [("LSTM", "recurrent_activation"), ("GRU", "recurrent_activation")]


@pytest.mark.parametrize(("layer", "role"), ROLES, ids=[f"{lay}-{r}" for lay, r in ROLES])
@pytest.mark.parametrize("act", KERAS_ACTIVATIONS)
def test_masked_rnn_every_activation(tmp_path, layer, role, act):
    """Each Keras activation in each role on a masked RNN (ONNX: the Scan loop)."""
    cell = rnn(layer, return_sequences=True, **{role: act})
    if act == "exponential":  # small inputs (Masking), or exp(exp(...)) overflows
        m = model([None, 3], {"type": "Masking"}, cell)
        worst = check_inputs(tmp_path, m, [features(MID_FIRST_ALL)[:, :3] * np.float32(0.1)])
    else:
        m = model([None], emb(), cell, dtype="int32")
        worst = check_inputs(tmp_path, m, [IDS[:, :4].astype("int32")])
    if act != "exponential":  # exp(exp(...)) in LSTM is large: only the rtol holds
        # tame values, so that the comparison means something: the absolute errors (the
        # relative measure is rounding noise at outputs near zero)
        assert max(v for k, v in worst.items() if not k.endswith("_rel")) < 1e-4
