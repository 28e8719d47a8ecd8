"""Acceptance: an attention seq2seq model (encoder LSTM states into a decoder LSTM,
Attention over the encoder outputs, TimeDistributed Dense softmax) against live Keras,
from a model file and through ``tdc import`` of the saved Keras model."""

from __future__ import annotations

import numpy as np
import pytest

from cli_util import tdc
from compiler.api import compile_file
from oracle import assert_matches, backend_outputs, check

pytestmark = pytest.mark.slow

SEQ2SEQ = {
    "inputs": {"src": {"shape": [None, 5]}, "tgt": {"shape": [None, 4]}},
    "layers": [
        {"name": "enc", "type": "LSTM", "units": 6, "return_sequences": True,
         "return_state": True, "inputs": "src"},
        {"name": "dec", "type": "LSTM", "units": 6, "return_sequences": True,
         "inputs": ["tgt", "enc:1", "enc:2"]},
        {"name": "att", "type": "Attention", "inputs": ["dec", "enc"]},
        {"name": "join", "type": "Concatenate", "inputs": ["dec", "att"]},
        {"name": "probs", "type": "TimeDistributed",
         "layer": {"type": "Dense", "units": 7, "activation": "softmax"}},
    ],
}  # fmt: skip


def test_attention_seq2seq_model_file(tmp_path):
    check(tmp_path, SEQ2SEQ, time=6)


def test_attention_seq2seq_import(tmp_path):
    import keras

    src, tgt = keras.Input((None, 5), name="src"), keras.Input((None, 4), name="tgt")
    enc, h, c = keras.layers.LSTM(6, return_sequences=True, return_state=True)(src)
    dec = keras.layers.LSTM(6, return_sequences=True)(tgt, initial_state=[h, c])
    att = keras.layers.Attention()([dec, enc])
    out = keras.layers.TimeDistributed(keras.layers.Dense(7, activation="softmax"))(
        keras.layers.Concatenate()([dec, att])
    )
    model = keras.Model([src, tgt], out)
    rng = np.random.default_rng(0)
    for v in model.weights:
        v.assign(rng.normal(0.0, 0.5, v.shape).astype(np.float32))
    model.save(tmp_path / "s2s.keras")
    code, _, err = tdc("import", str(tmp_path / "s2s.keras"), "-o", str(tmp_path / "s2s.yaml"))
    assert code == 0, err
    compiled = compile_file(tmp_path / "s2s.yaml")
    xs = [rng.normal(size=(2, 6, 5)).astype("f4"), rng.normal(size=(2, 3, 4)).astype("f4")]
    ref = model.predict(xs, verbose=0)
    assert_matches(compiled.graph.output_names, [ref], backend_outputs(compiled, xs))
