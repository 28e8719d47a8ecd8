"""``tdc import`` of Bidirectional with return_state, merge_mode=None and backward_layer.

Each saved Keras model is imported, compiled, and both backends are compared with the
ORIGINAL model; several outputs of one layer come back as ``name:k`` references.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from test_import import L, import_and_compare, keras, normal, perturb

from compiler.frontend.loader import load_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"


def imported(tmp_path) -> dict:
    return yaml.safe_load((tmp_path / "out" / "model.yaml").read_text())


def test_null_merge_with_states_and_state_wiring(tmp_path):
    inp = keras.Input((None, 4), name="x")
    masked = L.Masking(name="mask")(inp)
    fwd, bwd, fh, fc, bh, bc = L.Bidirectional(
        L.LSTM(3, return_sequences=True, return_state=True), merge_mode=None, name="bi"
    )(masked)
    both = L.Concatenate(name="h")([fh, bh])
    model = keras.Model(inp, [fwd, bwd, both, bc], name="bi_states")
    perturb(model, seed=2)
    x = normal(3, 6, 4)
    x[0, -2:] = 0.0
    x[1, 2] = 0.0
    import_and_compare(tmp_path, model, [x])
    doc = imported(tmp_path)
    assert doc["outputs"] == ["bi", "bi:1", "h", "bi:5"]
    assert doc["layers"][1]["merge_mode"] is None
    assert load_model(tmp_path / "out" / "model.yaml").layer("h").inputs == ["bi:2", "bi:4"]


def test_backward_layer(tmp_path):
    inp = keras.Input((None,), dtype="int32", name="tok")
    x = L.Embedding(12, 5, mask_zero=True, name="emb")(inp)
    back = L.GRU(4, go_backwards=True, activation="relu", return_sequences=True, name="mine")
    x = L.Bidirectional(
        L.GRU(4, return_sequences=True), backward_layer=back, merge_mode="sum", name="bi"
    )(x)
    model = keras.Model(inp, L.Dense(2, name="out")(x))
    perturb(model, seed=4)
    tokens = np.random.default_rng(0).integers(1, 12, (3, 6)).astype("int32")
    tokens[0, 4:] = 0
    tokens[2, :2] = 0
    import_and_compare(tmp_path, model, [tokens])
    entry = imported(tmp_path)["layers"][1]
    assert entry["backward_layer"] == {
        "type": "GRU",
        "units": 4,
        "activation": "relu",
        "return_sequences": True,
        "go_backwards": True,
    }
