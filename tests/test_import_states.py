"""``tdc import`` of RNNs called with ``initial_state=``.

Each saved Keras model is imported, both backends are compared with the ORIGINAL model on
the same inputs, and ``tdc verify`` checks the imported file against a Keras model rebuilt
from it. The states come out as further inputs after the sequence (``[x, enc:1, enc:2]``).
Calls the model file cannot express are refused with exit 2 and one message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from test_import import L, assert_refused, import_and_compare, keras, normal, perturb, save

from cli_util import tdc

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

UNITS = 4


def import_verify(tmp: Path, model: Any, inputs: list[np.ndarray]) -> dict[str, Any]:
    """Import and compare with the original, then ``tdc verify``; the imported document."""
    import_and_compare(tmp, model, inputs)
    dst = tmp / "out" / "model.yaml"
    code, out, err = tdc("verify", dst)
    assert code == 0, out + err
    return yaml.safe_load(dst.read_text())


def entry(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in doc["layers"] if e["name"] == name)


def test_seq2seq_lstm_encoder_decoder(tmp_path):
    src = keras.Input((None, 5), name="src")
    tgt = keras.Input((None, 3), name="tgt")
    _, h, c = L.LSTM(UNITS, return_state=True, name="enc")(src)
    dec = L.LSTM(UNITS, return_sequences=True, name="dec")(tgt, initial_state=[h, c])
    probs = L.TimeDistributed(L.Dense(4, activation="softmax"), name="proj")(dec)
    model = keras.Model([src, tgt], [probs, c], name="seq2seq")
    perturb(model, seed=11)
    doc = import_verify(tmp_path, model, [normal(3, 6, 5, seed=1), normal(3, 4, 3, seed=2)])
    assert entry(doc, "dec")["inputs"] == ["tgt", "enc:1", "enc:2"]
    assert doc["outputs"] == ["proj", "enc:2"]


@pytest.mark.parametrize("layer", ["GRU", "SimpleRNN"])
@pytest.mark.parametrize("form", ["list", "tensor", "positional"])
def test_one_state_from_encoder(tmp_path, layer, form):
    rnn = getattr(L, layer)
    x = keras.Input((None, 3), name="x")
    _, h = rnn(UNITS, return_state=True, activation="tanh", name="enc")(x)
    dec = rnn(UNITS, return_sequences=True, return_state=True, name="dec")
    if form == "positional":
        seq, last = dec(x, [h])
    else:
        seq, last = dec(x, initial_state=[h] if form == "list" else h)
    model = keras.Model(x, [seq, L.Dense(2, name="head")(last)])
    perturb(model, seed=12)
    doc = import_verify(tmp_path, model, [normal(2, 5, 3)])
    assert entry(doc, "dec")["inputs"] == ["x", "enc:1"]


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "SimpleRNN"])
def test_states_from_dense_on_an_input(tmp_path, layer):
    x = keras.Input((None, 3), name="x")
    ctx = keras.Input((7,), name="ctx")
    h = L.Dense(UNITS, activation="tanh", name="to_h")(ctx)
    states = [h, L.Dense(UNITS, name="to_c")(ctx)] if layer == "LSTM" else [h]
    y = getattr(L, layer)(UNITS, go_backwards=True, name="rnn")(x, initial_state=states)
    model = keras.Model([x, ctx], L.Dense(2, name="head")(y))
    perturb(model, seed=13)
    doc = import_verify(tmp_path, model, [normal(3, 5, 3, seed=3), normal(3, 7, seed=4)])
    want = ["x", "to_h", "to_c"] if layer == "LSTM" else ["x", "to_h"]
    assert entry(doc, "rnn")["inputs"] == want


def test_state_is_a_model_input(tmp_path):
    x = keras.Input((None, 3), name="x")
    h0 = keras.Input((UNITS,), name="h0")
    c0 = keras.Input((UNITS,), name="c0")
    seq, h, c = L.LSTM(UNITS, return_sequences=True, return_state=True, name="lstm")(
        x, initial_state=[h0, c0]
    )
    model = keras.Model([x, h0, c0], [seq, h, c])
    perturb(model, seed=14)
    xs = [normal(2, 6, 3, seed=5), normal(2, UNITS, seed=6), normal(2, UNITS, seed=7)]
    doc = import_verify(tmp_path, model, xs)
    assert entry(doc, "lstm")["inputs"] == ["x", "h0", "c0"]
    assert doc["outputs"] == ["lstm", "lstm:1", "lstm:2"]


def test_states_from_bidirectional_into_masked_decoder(tmp_path):
    """A Bidirectional's final states start a decoder; with initial_state= Keras reads no
    mask from the (masked) embedded sequence."""
    ids = keras.Input((None,), dtype="int32", name="ids")
    emb = L.Embedding(12, 5, mask_zero=True, name="emb")(ids)
    _, fh, fc, bh, bc = L.Bidirectional(L.LSTM(UNITS, return_state=True), name="bi")(emb)
    h = L.Add(name="h")([fh, bh])
    dec = L.LSTM(UNITS, return_sequences=True, name="dec")(emb, initial_state=[h, bc])
    model = keras.Model(ids, L.Dense(3, name="out")(dec))
    perturb(model, seed=15)
    tokens = np.random.default_rng(0).integers(1, 12, (3, 6)).astype("int32")
    tokens[0, 4:] = 0
    tokens[2, 1] = 0
    doc = import_verify(tmp_path, model, [tokens])
    assert entry(doc, "dec")["inputs"] == ["emb", "h", "bi:4"]


def bidirectional_states() -> Any:
    x = keras.Input((None, 3), name="x")
    h = keras.Input((UNITS,), name="h")
    y = L.Bidirectional(L.GRU(UNITS), name="bi")(x, initial_state=[h, h])
    return keras.Model([x, h], y)


def two_gru_states() -> Any:
    x = keras.Input((None, 3), name="x")
    h = keras.Input((UNITS,), name="h")
    return keras.Model([x, h], L.GRU(UNITS, name="gru")(x, initial_state=[h, h]))


def constant_state() -> Any:
    x = keras.Input((None, 3), name="x")
    zeros = np.zeros((1, UNITS), np.float32)
    return keras.Model(x, L.SimpleRNN(UNITS, name="rnn")(x, initial_state=[zeros]))


def mask_and_state() -> Any:
    ids = keras.Input((None,), dtype="int32", name="ids")
    h = keras.Input((UNITS,), name="h")
    emb = L.Embedding(10, 3, mask_zero=True, name="emb")
    seq = emb(ids)
    y = L.GRU(UNITS, name="gru")(seq, initial_state=[h], mask=emb.compute_mask(ids))
    return keras.Model([ids, h], y)


REFUSALS = [
    ("bidirectional", bidirectional_states, "'bi' (Bidirectional): initial_state= on Bidir"),
    ("gru_two_states", two_gru_states, "'gru' (GRU): initial_state has 2 tensor(s), GRU takes 1"),
    ("constant", constant_state, "'rnn' (SimpleRNN): initial_state holds constants"),
    ("mask_and_state", mask_and_state, "'gru' (GRU): called with both mask= and initial_state="),
]


@pytest.mark.parametrize(
    ("build", "needle"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refusal(tmp_path, build, needle):
    err = assert_refused(tmp_path, save(tmp_path, build()))
    assert needle in err
    assert "(accepted: initial_state= on LSTM ([h, c]), GRU or SimpleRNN ([h])" in err
    assert err.count("\n") == 1  # one message
