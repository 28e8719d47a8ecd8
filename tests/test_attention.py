"""MultiHeadAttention, Attention and AdditiveAttention against live Keras, both targets.

Keras's call argument ``use_causal_mask`` is a layer key of the model file.
"""

import numpy as np
import pytest
from test_import import import_and_compare, keras, normal, perturb

from cli_util import tdc
from oracle import check, check_inputs, compile_with_random_weights, model, onnx_ops, td

L = keras.layers


def mha(**kw):
    return {"type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3, **kw}


def two(layers, q=(5, 6), v=(7, 4), k=None, dtype="float32"):
    """A model with inputs q and v (and k): cross-attention of different lengths."""
    inputs = {"q": {"shape": list(q), "dtype": dtype}, "v": {"shape": list(v)}}
    if k is not None:
        inputs["k"] = {"shape": list(k)}
    return {"inputs": inputs, "layers": layers}


def ids(batch=3, time=6, seed=2):
    """Token ids with padding (0) at the end of some rows and one fully padded row."""
    x = np.random.default_rng(seed).integers(1, 10, (batch, time)).astype(np.int32)
    x[0, 4:] = 0
    x[1, 2] = 0
    x[2, :] = 0
    return x


def emb(**kw):
    return {"type": "Embedding", "input_dim": 10, "output_dim": 6, "mask_zero": True, **kw}


def test_mha_self_attention_quick(tmp_path):
    check(tmp_path, model([5, 6], mha()))


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [
        {"value_dim": 4, "dropout": 0.1},  # Keras on JAX needs dropout here (its fused path fails)
        {"use_bias": False},
        {"output_shape": 3},
        {"output_shape": [5], "attention_axes": [1]},
        {"use_causal_mask": True},
        {"use_causal_mask": True, "dropout": 0.2},
        {"num_heads": 1, "key_dim": 8, "dropout": 0.3, "attention_axes": -2},
        {"kernel_initializer": "he_normal", "bias_initializer": "ones", "seed": 3},
    ],
)
def test_mha_options(tmp_path, kw):
    check(tmp_path, model([5, 6], mha(**kw)))


@pytest.mark.slow
def test_mha_dynamic_time_and_explicit_self(tmp_path):
    m = model([None, 6], {"type": "Dense", "units": 4}, mha(inputs=["dense", "dense"]))
    m["layers"][0]["name"] = "dense"
    check(tmp_path, m, time=7)


@pytest.mark.slow
@pytest.mark.parametrize("causal", [False, True])
def test_mha_cross_attention_lengths(tmp_path, causal):
    check(tmp_path, two([mha(inputs=["q", "v"], use_causal_mask=causal, value_dim=3)]))


@pytest.mark.slow
def test_mha_query_value_key(tmp_path):
    m = two([mha(inputs=["q", "v", "k"], value_dim=3, use_bias=False)], k=(7, 5))
    check(tmp_path, m)


@pytest.mark.slow
@pytest.mark.parametrize("causal", [False, True])
def test_mha_masked_self_attention(tmp_path, causal):
    m = model(
        [6], emb(), mha(use_causal_mask=causal), {"type": "GlobalAveragePooling1D"}, dtype="int32"
    )
    check_inputs(tmp_path, m, [ids()])


@pytest.mark.slow
def test_mha_masked_output_keeps_query_mask(tmp_path):
    # the LSTM reads the mask MHA passes on: masked steps keep its state
    m = model([6], emb(), mha(), {"type": "LSTM", "units": 3}, dtype="int32")
    check_inputs(tmp_path, m, [ids()])


@pytest.mark.slow
def test_mha_masked_value_only(tmp_path):
    m = two([{"type": "Masking", "name": "vm", "inputs": "v"}, mha(inputs=["q", "vm"])])
    v = normal(2, 7, 4)
    v[0, 3:] = 0.0
    check_inputs(tmp_path, m, [normal(2, 5, 6), v])


@pytest.mark.slow
def test_transformer_encoder_block(tmp_path):
    m = {
        "inputs": {"tokens": {"shape": [None], "dtype": "int32"}},
        "layers": [
            {
                "name": "emb",
                "type": "Embedding",
                "input_dim": 10,
                "output_dim": 8,
                "mask_zero": True,
            },
            {
                "name": "att",
                "type": "MultiHeadAttention",
                "num_heads": 2,
                "key_dim": 4,
                "dropout": 0.1,
                "inputs": ["emb", "emb"],
            },
            {"name": "res1", "type": "Add", "inputs": ["emb", "att"]},
            {"name": "ln1", "type": "LayerNormalization", "epsilon": 1e-6},
            td({"type": "Dense", "units": 16, "activation": "relu"}, "ff1"),
            td({"type": "Dense", "units": 8}, "ff2"),
            {"name": "res2", "type": "Add", "inputs": ["ln1", "ff2"]},
            {"name": "ln2", "type": "LayerNormalization", "epsilon": 1e-6},
            {"name": "pool", "type": "GlobalAveragePooling1D"},
            {"name": "out", "type": "Dense", "units": 3, "activation": "softmax"},
        ],
    }
    check_inputs(tmp_path, m, [ids(time=6)])


def test_self_attention_projects_qkv_with_one_matmul(tmp_path):
    compiled = compile_with_random_weights(tmp_path, model([5, 6], mha()))
    ops = onnx_ops(compiled.onnx())
    assert ops.count("MatMul") == 4  # qkv, scores, weighted values, output
    (tmp_path / "c").mkdir()
    cross = compile_with_random_weights(tmp_path / "c", two([mha(inputs=["q", "v"])]))
    assert onnx_ops(cross.onnx()).count("MatMul") == 6


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"use_scale": True},
        {"score_mode": "concat"},
        {"score_mode": "concat", "use_scale": True, "dropout": 0.5},
        {"use_causal_mask": True},
        {"use_causal_mask": True, "score_mode": "concat", "seed": 1},
    ],
)
def test_attention_options(tmp_path, kw):
    check(tmp_path, two([{"type": "Attention", "inputs": ["q", "v"], **kw}], v=(7, 6)))


@pytest.mark.slow
@pytest.mark.parametrize("kw", [{}, {"use_scale": False}, {"use_causal_mask": True}])
def test_additive_attention_options(tmp_path, kw):
    m = two([{"type": "AdditiveAttention", "inputs": ["q", "v", "k"], **kw}], k=(7, 6))
    check(tmp_path, m)


@pytest.mark.slow
@pytest.mark.parametrize("typ", ["Attention", "AdditiveAttention"])
@pytest.mark.parametrize("causal", [False, True])
def test_score_attention_masks(tmp_path, typ, causal):
    # query and value masked: hidden keys, zeroed query rows, the mask passed on to an LSTM
    layers = [
        {"type": "Embedding", "name": "e", "input_dim": 10, "output_dim": 6, "mask_zero": True},
        {"type": typ, "name": "att", "inputs": ["e", "e"], "use_causal_mask": causal},
        {"type": "LSTM", "units": 3, "return_sequences": True},
    ]
    m = {"inputs": {"x": {"shape": [6], "dtype": "int32"}}, "layers": layers}
    check_inputs(tmp_path, m, [ids()])


@pytest.mark.parametrize(
    "entry, words",
    [
        (mha(attention_axes=2), "attention_axes"),
        (mha(use_gate=True), "use_gate"),
        (mha(sliding_window=2), "sliding_window"),
        ({"type": "Attention", "inputs": ["x"]}, "2 or 3 inputs"),
        ({"type": "Attention", "score_mode": "general", "inputs": ["x", "x"]}, "score_mode"),
        ({"type": "AdditiveAttention", "inputs": ["x", "y"]}, "same features"),
    ],
)
def test_refused(tmp_path, entry, words):
    m = {"inputs": {"x": {"shape": [5, 6]}, "y": {"shape": [5, 4]}}, "layers": [entry]}
    path = tmp_path / "m.yaml"
    import yaml

    path.write_text(yaml.safe_dump(m))
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", tmp_path / "m.onnx")
    assert code == 2 and words in err and "Traceback" not in err, err


@pytest.mark.slow
def test_import_round_trip(tmp_path):
    x = keras.Input((6,), dtype="int32", name="tokens")
    v = keras.Input((4, 5), name="memory")
    e = L.Embedding(10, 8, mask_zero=True, name="emb")(x)
    s = L.MultiHeadAttention(2, 4, name="self_att")(e, e, use_causal_mask=True)
    c = L.MultiHeadAttention(2, 3, value_dim=2, dropout=0.1, name="cross")(s, v)
    k = L.Dense(8, name="keys")(v)
    a = L.Attention(use_scale=True, name="luong")([c, v, k], use_causal_mask=True)
    y = L.AdditiveAttention(name="bahdanau")([a, v])
    m = keras.Model([x, v], y)
    perturb(m)
    import_and_compare(tmp_path, m, [ids(time=6), normal(3, 4, 5)])
    text = (tmp_path / "out" / "model.yaml").read_text()
    assert text.count("use_causal_mask: true") == 2
