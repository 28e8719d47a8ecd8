"""MultiHeadAttention's call arguments ``attention_mask`` and ``return_attention_scores``
against live Keras, both targets, from a model file and through ``tdc import``.

``attention_mask: true`` makes the last ``inputs:`` entry Keras's ``attention_mask``
(batch, Tq, Tv) of any dtype; ``return_attention_scores: true`` gives the scores as the
layer's second output ``<layer>:1``.
"""

import numpy as np
import pytest
from test_import import import_and_compare, keras, normal, perturb

from cli_util import tdc
from oracle import check, check_inputs, write_model

L = keras.layers


def mha(**kw):
    return {"type": "MultiHeadAttention", "name": "mha", "num_heads": 2, "key_dim": 3, **kw}


def masked(layers, dtype="int32", tq=5, tv=4, outputs=None):
    """Inputs q (tq, 6), v (tv, 4) and m (tq, tv) of ``dtype``."""
    doc = {
        "inputs": {
            "q": {"shape": [tq, 6]},
            "v": {"shape": [tv, 4]},
            "m": {"shape": [tq, tv], "dtype": dtype},
        },
        "layers": layers,
    }
    return {**doc, "outputs": outputs} if outputs else doc


def arrays(dtype="int32", batch=3, tq=5, tv=4, seed=3):
    rng = np.random.default_rng(seed)
    m = rng.integers(0, 2, (batch, tq, tv))
    m[0, 1, :] = 0  # a query step that sees no key
    return [normal(batch, tq, 6), normal(batch, tv, 4, seed=2), m.astype(dtype)]


def test_attention_mask_quick(tmp_path):
    check_inputs(tmp_path, masked([mha(inputs=["q", "v", "m"], attention_mask=True)]), arrays())


def test_attention_scores_quick(tmp_path):
    m = masked([mha(inputs=["q", "v"], return_attention_scores=True)], outputs=["mha", "mha:1"])
    del m["inputs"]["m"]
    check(tmp_path, m)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_mask_with_causal_and_scores(tmp_path, dtype, causal):
    entry = mha(
        inputs=["q", "v", "m"],
        attention_mask=True,
        use_causal_mask=causal,
        return_attention_scores=True,
    )
    m = masked([entry], dtype, outputs=["mha", "mha:1"])
    check_inputs(tmp_path, m, arrays(dtype))


@pytest.mark.slow
def test_attention_mask_with_keras_masks(tmp_path):
    """A padded self-attention: Embedding mask_zero AND the explicit mask AND causal."""
    doc = {
        "inputs": {"ids": {"shape": [5], "dtype": "int32"}, "m": {"shape": [5, 5]}},
        "layers": [
            {"name": "emb", "type": "Embedding", "input_dim": 10, "output_dim": 6,
             "mask_zero": True, "inputs": "ids"},
            mha(inputs=["emb", "m"], attention_mask=True, use_causal_mask=True),
            {"type": "GlobalAveragePooling1D"},
        ],
    }  # fmt: skip
    ids = np.random.default_rng(0).integers(1, 10, (3, 5)).astype(np.int32)
    ids[0, 3:] = 0
    m = (np.random.default_rng(1).random((3, 5, 5)) > 0.3).astype(np.float32)
    check_inputs(tmp_path, doc, [ids, m])


@pytest.mark.slow
def test_attention_mask_import(tmp_path):
    q, v = keras.Input((5, 6), name="q"), keras.Input((4, 4), name="v")
    m = keras.Input((5, 4), name="m", dtype="int32")
    y, s = L.MultiHeadAttention(2, 3, name="mha")(
        q, v, attention_mask=m, return_attention_scores=True, use_causal_mask=True
    )
    a, w = L.Attention(name="att")([y, q], return_attention_scores=True)
    model = keras.Model([q, v, m], [L.Dense(3, name="head")(y), s, a, w])
    perturb(model)
    import_and_compare(tmp_path, model, arrays())
    text = (tmp_path / "out" / "model.yaml").read_text()
    assert "attention_mask: true" in text and text.count("return_attention_scores: true") == 2


@pytest.mark.parametrize(
    ("mask", "words"),
    [
        ({"shape": [5]}, "attention_mask has shape (N, 5)"),
        ({"shape": [5, 3]}, "attention_mask has shape (N, 5, 3)"),
    ],
)
def test_bad_attention_mask_is_refused(tmp_path, mask, words):
    m = masked([mha(inputs=["q", "v", "m"], attention_mask=True)])
    m["inputs"]["m"] = mask
    code, _, err = tdc("compile", write_model(tmp_path, m), "--target", "onnx",
                       "-o", tmp_path / "m.onnx")  # fmt: skip
    assert code == 2 and "mha" in err and words in err, err


def test_attention_axes_beyond_time_are_refused(tmp_path):
    m = {"inputs": {"x": {"shape": [4, 5, 6]}}, "layers": [mha(attention_axes=[1, 2])]}
    code, _, err = tdc("compile", write_model(tmp_path, m), "--target", "onnx",
                       "-o", tmp_path / "m.onnx")  # fmt: skip
    assert code == 2 and "attention_axes" in err and "mha" in err, err


@pytest.mark.slow
def test_dropout_zeroes_rows_that_see_no_key(tmp_path):
    """With dropout (Keras's explicit path, not its fused kernel) a fully padded row's
    probabilities are zeros, not a uniform average."""
    doc = {
        "inputs": {"ids": {"shape": [5], "dtype": "int32"}},
        "layers": [
            {"type": "Embedding", "input_dim": 10, "output_dim": 6, "mask_zero": True},
            mha(dropout=0.2),
        ],
    }
    ids = np.random.default_rng(0).integers(1, 10, (3, 5)).astype(np.int32)
    ids[0, 3:] = 0
    ids[2, :] = 0
    check_inputs(tmp_path, doc, [ids])


def test_streaming_refuses_an_attention_mask(tmp_path):
    m = {
        "inputs": {"x": {"shape": [None, 4]}, "m": {"shape": [None, None]}},
        "layers": [mha(inputs=["x", "m"], attention_mask=True, use_causal_mask=True)],
    }
    code, _, err = tdc("compile", write_model(tmp_path, m), "--target", "onnx", "--streaming",
                       "-o", tmp_path / "s.onnx")  # fmt: skip
    assert code == 2 and "mha" in err and "attention_mask over the whole sequence" in err, err


@pytest.mark.parametrize("typ", ["Attention", "AdditiveAttention"])
def test_score_attention_returns_scores(tmp_path, typ):
    """Attention and AdditiveAttention's return_attention_scores: the softmax weights,
    with a masked value and the causal mask."""
    doc = {
        "inputs": {"ids": {"shape": [5], "dtype": "int32"}, "q": {"shape": [5, 6]}},
        "layers": [
            {"name": "emb", "type": "Embedding", "input_dim": 10, "output_dim": 6,
             "mask_zero": True, "inputs": "ids"},
            {"name": "att", "type": typ, "inputs": ["q", "emb"], "use_causal_mask": True,
             "return_attention_scores": True},
        ],
        "outputs": ["att", "att:1"],
    }  # fmt: skip
    ids = np.random.default_rng(0).integers(1, 10, (3, 5)).astype(np.int32)
    ids[0, 3:] = 0
    check_inputs(tmp_path, doc, [ids, normal(3, 5, 6)])
