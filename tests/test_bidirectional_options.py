"""Bidirectional's return_state, merge_mode: null and backward_layer against live Keras.

Keras 3 returns ``[merged, *forward_states, *backward_states]`` with ``return_state``
(``[forward, backward, *states]`` with ``merge_mode: null``); the model file names output
k ``bi:k``. Every comparison runs both backends (ONNX and NumPy) against Keras.
"""

import numpy as np
import pytest

from cli_util import tdc
from compiler.api import compile_file
from compiler.errors import TdcError
from oracle import check, check_inputs, model, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

LAYERS = ("SimpleRNN", "LSTM", "GRU")


def bi(layer: str, units: int = 3, mode: str | None = "concat", backward=None, **kw) -> dict:
    """A Bidirectional entry named ``bi`` (extra arguments go to the wrapped layer)."""
    out = {"name": "bi", "type": "Bidirectional", "merge_mode": mode}
    out["layer"] = {"type": layer, "units": units, **kw}
    return out | ({"backward_layer": backward} if backward else {})


def n_outputs(layer: str, mode: str | None, state: bool) -> int:
    states = (2 if layer == "LSTM" else 1) * 2 if state else 0
    return (2 if mode is None else 1) + states


def every_output(m: dict, name: str, n: int) -> dict:
    return {**m, "outputs": [name] + [f"{name}:{k}" for k in range(1, n)]}


def padded(batch: int = 3, time: int = 6, features: int = 4) -> np.ndarray:
    """Inputs with all-zero (masked) steps: trailing, inside and leading ones."""
    x = np.random.default_rng(3).normal(0.0, 1.0, (batch, time, features)).astype(np.float32)
    x[0, -2:] = 0.0
    x[1, 2] = 0.0
    x[2, :2] = 0.0
    return x


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("mode", ["concat", "ave", None], ids=["concat", "ave", "null"])
def test_return_state(tmp_path, mode, layer, sequences):
    entry = bi(layer, 4, mode, return_sequences=sequences, return_state=True)
    m = every_output(model([None, 5], entry), "bi", n_outputs(layer, mode, True))
    check(tmp_path, m, batch=3, time=6)


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("layer", LAYERS)
def test_merge_mode_null(tmp_path, layer, sequences):
    """Two outputs [forward, backward]; the backward sequence is back in input order."""
    m = every_output(model([None, 5], bi(layer, 4, None, return_sequences=sequences)), "bi", 2)
    check(tmp_path, m, batch=2, time=5)


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
@pytest.mark.parametrize("layer", LAYERS)
def test_masked_null_with_states(tmp_path, layer, sequences):
    """Masked steps: zero in both sequences; each direction's state skips them."""
    entry = bi(layer, 3, None, return_sequences=sequences, return_state=True)
    m = model([None, 4], {"type": "Masking"}, entry)
    check_inputs(tmp_path, every_output(m, "bi", n_outputs(layer, None, True)), [padded()])


@pytest.mark.parametrize("mode", ["mul", "concat"])
def test_masked_merged_with_states(tmp_path, mode):
    entry = bi("LSTM", 3, mode, return_sequences=True, return_state=True)
    m = model([None, 4], {"type": "Masking"}, entry)
    check_inputs(tmp_path, every_output(m, "bi", 5), [padded()])


@pytest.mark.parametrize("layer", LAYERS)
def test_embedding_mask_zero(tmp_path, layer):
    """Ids with padding anywhere, and one sample that is padding only."""
    emb = {"type": "Embedding", "input_dim": 10, "output_dim": 4, "mask_zero": True}
    entry = bi(layer, 3, None, return_sequences=True, return_state=True)
    m = every_output(model([None], emb, entry, dtype="int32"), "bi", n_outputs(layer, None, True))
    ids = np.array([[1, 2, 0, 3, 0], [0, 0, 5, 6, 7], [4, 5, 6, 0, 0], [0, 0, 0, 0, 0]], np.int32)
    check_inputs(tmp_path, m, [ids])


def test_states_and_outputs_feed_later_layers(tmp_path):
    """States as values (Concatenate), the two masked sequences merged (mask OR) into a GRU."""
    m = model(
        [None, 4],
        {"type": "Masking"},
        bi("LSTM", 3, None, return_sequences=True, return_state=True),
        {"name": "h", "type": "Concatenate", "inputs": ["bi:2", "bi:4"]},
        {"name": "add", "type": "Add", "inputs": ["bi", "bi:1"]},
        {"name": "gru", "type": "GRU", "units": 2, "inputs": "add"},
    )
    check_inputs(tmp_path, {**m, "outputs": ["h", "gru"]}, [padded()])


def test_encoder_states_start_a_decoder(tmp_path):
    m = {
        "inputs": {"src": {"shape": [None, 5]}, "tgt": {"shape": [None, 3]}},
        "layers": [
            {**bi("GRU", 4, "sum", return_state=True), "inputs": "src"},
            {"name": "h0", "type": "Average", "inputs": ["bi:1", "bi:2"]},
            {"name": "dec", "type": "GRU", "units": 4, "return_sequences": True,
             "inputs": ["tgt", "h0"]},
        ],
        "outputs": ["dec", "bi"],
    }  # fmt: skip
    check(tmp_path, m, batch=2, time=6)


# -- backward_layer ------------------------------------------------------------------------


@pytest.mark.parametrize("sequences", [True, False], ids=["sequences", "last"])
def test_backward_layer_own_arguments(tmp_path, sequences):
    back = {"type": "LSTM", "units": 4, "go_backwards": True, "activation": "relu",
            "use_bias": False, "return_sequences": sequences}  # fmt: skip
    entry = bi("LSTM", 4, backward=back, return_sequences=sequences)
    check(tmp_path, model([None, 5], entry), batch=3, time=5)


@pytest.mark.parametrize("mode", ["concat", None], ids=["concat", "null"])
def test_backward_layer_other_type_masked_states(tmp_path, mode):
    back = {"type": "SimpleRNN", "units": 3, "go_backwards": True, "return_sequences": True,
            "return_state": True}  # fmt: skip
    entry = bi("GRU", 3, mode, back, return_sequences=True, return_state=True)
    m = model([None, 4], {"type": "Masking"}, entry)
    check_inputs(tmp_path, every_output(m, "bi", n_outputs("GRU", mode, True)), [padded()])


def test_backward_layer_lstm_forward_gru_backward(tmp_path):
    back = {"type": "GRU", "units": 3, "go_backwards": True, "reset_after": False}
    check(tmp_path, model([None, 4], bi("LSTM", 3, "sum", back)), batch=2, time=6)


def test_backward_layer_inside_time_distributed(tmp_path):
    back = {"type": "GRU", "units": 2, "go_backwards": True, "return_sequences": True,
            "activation": "sigmoid"}  # fmt: skip
    entry = td(bi("GRU", 2, backward=back, return_sequences=True), "tdbi")
    check(tmp_path, model([3, None, 4], entry), batch=2, time=3)


def test_backward_layer_weight_keys(tmp_path):
    back = {"type": "SimpleRNN", "units": 4, "go_backwards": True}
    compiled = compile_file(write_model(tmp_path, model([None, 6], bi("GRU", 4, backward=back))))
    shapes = {k: v.shape for k, v in compiled.weights.items()}
    assert shapes == {
        "bi/forward/kernel": (6, 12),
        "bi/forward/recurrent_kernel": (4, 12),
        "bi/forward/bias": (2, 12),
        "bi/backward/kernel": (6, 4),
        "bi/backward/recurrent_kernel": (4, 4),
        "bi/backward/bias": (4,),
    }
    ops = [(n.op, n.attrs["go_backwards"]) for n in compiled.graph.nodes if "units" in n.attrs]
    assert ops == [("GRU", False), ("SimpleRNN", True)]


# -- refusals ------------------------------------------------------------------------------

LSTM_BACK = {"type": "LSTM", "units": 3, "go_backwards": True}
REFUSALS = {
    "backward_forwards": (bi("LSTM", backward={"type": "LSTM", "units": 3}),
                          "must set go_backwards: true"),
    "backward_sequences": (bi("LSTM", backward=LSTM_BACK, return_sequences=True),
                           "return_sequences must be true"),
    "backward_state": (bi("LSTM", backward={**LSTM_BACK, "return_state": True}),
                       "return_state must be false"),
    "backward_units": (bi("LSTM", backward={**LSTM_BACK, "units": 4}), "units 4 differ"),
    "backward_states_differ": (
        bi("LSTM", backward={**LSTM_BACK, "type": "GRU", "return_state": True},
           return_state=True),
        "GRU returns 1 state(s), the wrapped LSTM 2"),
    "backward_swapped": (bi("LSTM", backward={"type": "LSTM", "units": 3}, go_backwards=True),
                         "swapped directions are not supported"),
    "backward_dense": (bi("LSTM", backward={"type": "Dense", "units": 3}), "cannot be Dense"),
    "backward_not_mapping": (bi("LSTM", backward="lstm"), "a nested layer entry"),
    "backward_bad_argument": (bi("LSTM", backward={**LSTM_BACK, "colour": 1}),
                              "LSTM: unknown argument 'colour'"),
    "backward_no_type": (bi("LSTM", backward={"units": 3}), "unknown layer type"),
    "td_null": (td(bi("GRU", mode=None)), "merge_mode: null"),
    "td_state": (td(bi("GRU", return_state=True)), "return_state: true on the wrapped layer"),
    "td_rnn_state": (td({"type": "GRU", "units": 2, "return_state": True}),
                     "return_state: true on the wrapped layer"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusal(tmp_path, case):
    entry, needle = REFUSALS[case]
    shape = [None, None, 4] if case.startswith("td") else [None, 4]
    with pytest.raises(TdcError) as err:
        compile_file(write_model(tmp_path, model(shape, entry)))
    assert needle in str(err.value)


def test_refusal_exit_2_names_layer_and_line(tmp_path):
    entry = bi("GRU", backward={"type": "GRU", "units": 3, "go_backwards": False})
    path = write_model(tmp_path, model([None, 4], {"type": "Masking"}, entry))
    out = tmp_path / "m.onnx"
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", out)
    assert code == 2 and "Traceback" not in err and not out.exists()
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "name: bi" in t)
    assert f"line {line}:" in err and "layer 'bi'" in err
    assert "go_backwards: true" in err and "accepted: backward_layer:" in err


def test_state_reference_out_of_range(tmp_path):
    m = every_output(model([None, 4], bi("GRU", return_state=True)), "bi", 4)
    with pytest.raises(TdcError, match=r"'bi' has 3 output\(s\): bi, bi:1, bi:2"):
        compile_file(write_model(tmp_path, m))


def test_streaming_still_refused(tmp_path):
    entry = bi("LSTM", 2, None, return_sequences=True, return_state=True)
    path = write_model(tmp_path, every_output(model([None, 4], entry), "bi", 6))
    code, _, err = tdc(
        "compile", path, "--target", "onnx", "--streaming", "-o", tmp_path / "s.onnx"
    )
    assert code == 2 and "layer 'bi'" in err and "backwards" in err
