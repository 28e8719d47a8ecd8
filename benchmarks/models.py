"""The benchmark suite's models (model-file dicts) and their sizes."""

from __future__ import annotations

from typing import Any


def td(layer: dict[str, Any], name: str) -> dict[str, Any]:
    return {"name": name, "type": "TimeDistributed", "layer": layer}


def video(name: str, side: int, filters: tuple[int, ...], rnn: str, units: int) -> dict:
    """Frames -> per-frame Conv2D/MaxPool stack (TimeDistributed) -> LSTM/GRU -> softmax."""
    layers = []
    for i, f in enumerate(filters):
        conv = {"type": "Conv2D", "filters": f, "kernel_size": 3, "padding": "same"}
        layers.append(td({**conv, "activation": "relu"}, f"conv{i}"))
        layers.append(td({"type": "MaxPooling2D", "pool_size": 2}, f"pool{i}"))
    layers.append(td({"type": "Flatten"}, "flat"))
    layers.append({"name": "rnn", "type": rnn, "units": units})
    layers.append({"name": "probs", "type": "Dense", "units": 10, "activation": "softmax"})
    inputs = {"frames": {"shape": [None, side, side, 3], "dtype": "float32"}}
    return {"name": name, "inputs": inputs, "layers": layers, "seed": 0}


def tagger(vocab: int, dim: int, units: int, tags: int) -> dict:
    """Token ids -> Embedding -> Bidirectional(LSTM) -> per-step softmax over tags."""
    lstm = {"type": "LSTM", "units": units, "return_sequences": True}
    layers = [
        {"name": "emb", "type": "Embedding", "input_dim": vocab, "output_dim": dim},
        {"name": "bilstm", "type": "Bidirectional", "layer": lstm},
        td({"type": "Dense", "units": tags, "activation": "softmax"}, "tags"),
    ]
    inputs = {"ids": {"shape": [None], "dtype": "int32"}}
    return {"name": "bilstm_tagger", "inputs": inputs, "layers": layers, "seed": 0}


def sentiment(vocab: int, dim: int, units: int) -> dict:
    """Padded token ids -> Embedding(mask_zero) -> LSTM over the unpadded steps -> softmax."""
    layers = [
        {
            "name": "emb",
            "type": "Embedding",
            "input_dim": vocab,
            "output_dim": dim,
            "mask_zero": True,
        },
        {"name": "lstm", "type": "LSTM", "units": units},
        {"name": "probs", "type": "Dense", "units": 3, "activation": "softmax"},
    ]
    inputs = {"ids": {"shape": [None], "dtype": "int32"}}
    return {"name": "masked_sentiment", "inputs": inputs, "layers": layers, "seed": 0}


def td_mlp(features: int, hidden: int, depth: int) -> dict:
    """A per-step MLP: TimeDistributed(Dense) layers over a (time, features) sequence."""
    layers = [
        td({"type": "Dense", "units": hidden, "activation": "relu"}, f"fc{i}") for i in range(depth)
    ]
    layers.append(td({"type": "Dense", "units": 10}, "head"))
    inputs = {"x": {"shape": [None, features], "dtype": "float32"}}
    return {"name": "td_mlp", "inputs": inputs, "layers": layers, "seed": 0}


def convlstm_next_frame(side: int, filters: int) -> dict:
    """Frames -> ConvLSTM2D -> BatchNormalization -> ConvLSTM2D -> BatchNormalization ->
    Conv3D sigmoid: the next-frame predictor of Keras's ConvLSTM example."""
    clstm = {"type": "ConvLSTM2D", "filters": filters, "padding": "same", "return_sequences": True}
    layers = [
        {"name": "clstm1", **clstm, "kernel_size": 5},
        {"name": "bn1", "type": "BatchNormalization"},
        {"name": "clstm2", **clstm, "kernel_size": 3},
        {"name": "bn2", "type": "BatchNormalization"},
        {"name": "frame", "type": "Conv3D", "filters": 1, "kernel_size": 3, "padding": "same",
         "activation": "sigmoid"},
    ]  # fmt: skip
    inputs = {"frames": {"shape": [None, side, side, 1], "dtype": "float32"}}
    return {"name": "convlstm_next_frame", "inputs": inputs, "layers": layers, "seed": 0}


def encoder_block(i: int, x: str, heads: int, dim: int, ff: int, causal: bool) -> list[dict]:
    """Post-norm Transformer block: self-attention, residual, LayerNorm, feed-forward,
    residual, LayerNorm; its output is ``ln{i}b``."""
    mha = {"type": "MultiHeadAttention", "num_heads": heads, "key_dim": dim // heads}
    return [
        {"name": f"att{i}", **mha, "use_causal_mask": causal, "inputs": [x]},
        {"name": f"res{i}a", "type": "Add", "inputs": [x, f"att{i}"]},
        {"name": f"ln{i}a", "type": "LayerNormalization"},
        {"name": f"ff{i}", "type": "Dense", "units": ff, "activation": "relu"},
        {"name": f"ff{i}o", "type": "Dense", "units": dim},
        {"name": f"res{i}b", "type": "Add", "inputs": [f"ln{i}a", f"ff{i}o"]},
        {"name": f"ln{i}b", "type": "LayerNormalization"},
    ]


def transformer_classifier(vocab: int, dim: int, heads: int, ff: int, blocks: int) -> dict:
    """Token ids -> Embedding -> ``blocks`` Transformer encoder blocks -> average over
    time -> softmax."""
    layers: list[dict] = [{"name": "emb", "type": "Embedding", "input_dim": vocab,
                           "output_dim": dim}]  # fmt: skip
    x = "emb"
    for i in range(blocks):
        layers += encoder_block(i, x, heads, dim, ff, causal=False)
        x = f"ln{i}b"
    layers.append({"name": "pool", "type": "GlobalAveragePooling1D"})
    layers.append({"name": "probs", "type": "Dense", "units": 4, "activation": "softmax"})
    inputs = {"ids": {"shape": [None], "dtype": "int32"}}
    return {"name": "transformer_classifier", "inputs": inputs, "layers": layers, "seed": 0}


def causal_decoder(features: int, dim: int, heads: int, ff: int, blocks: int) -> dict:
    """Frames -> Dense -> ``blocks`` causal Transformer blocks -> per-step softmax: a
    decoder that streams, carrying each block's key/value cache."""
    layers: list[dict] = [{"name": "proj", "type": "Dense", "units": dim}]
    x = "proj"
    for i in range(blocks):
        layers += encoder_block(i, x, heads, dim, ff, causal=True)
        x = f"ln{i}b"
    layers.append({"name": "probs", "type": "Dense", "units": 16, "activation": "softmax"})
    inputs = {"frames": {"shape": [None, features], "dtype": "float32"}}
    return {"name": "causal_decoder", "inputs": inputs, "layers": layers, "seed": 0}


def deep_mlp(depth: int) -> dict:
    """A generated ``depth``-layer model (Dense layers over a sequence) for compile time."""
    acts = ("relu", "tanh", "sigmoid", None)
    layers = [
        {"name": f"d{i}", "type": "Dense", "units": 32, "activation": acts[i % 4]}
        for i in range(depth)
    ]
    inputs = {"x": {"shape": [None, 32], "dtype": "float32"}}
    return {"name": f"deep{depth}", "inputs": inputs, "layers": layers, "seed": 0}


def suite(quick: bool) -> list[tuple[dict, int, int]]:
    """(model, batch, time) for each benchmark; --quick shrinks sizes, not coverage."""
    if quick:
        return [
            (video("video_cnn_lstm_small", 16, (8,), "LSTM", 16), 2, 4),
            (video("video_cnn_gru_small", 16, (8,), "GRU", 16), 2, 4),
            (tagger(100, 16, 16, 5), 4, 10),
            (sentiment(100, 16, 16), 4, 10),
            (td_mlp(16, 32, 2), 4, 10),
            (convlstm_next_frame(8, 4), 2, 4),
            (transformer_classifier(100, 16, 2, 32, 1), 4, 10),
        ]
    return [
        (video("video_cnn_lstm_small", 24, (8,), "LSTM", 32), 4, 8),
        (video("video_cnn_lstm_large", 48, (16, 32), "LSTM", 128), 4, 8),
        (video("video_cnn_gru_small", 24, (8,), "GRU", 32), 4, 8),
        (video("video_cnn_gru_large", 48, (16, 32), "GRU", 128), 4, 8),
        (tagger(2000, 64, 64, 12), 16, 40),
        (sentiment(5000, 64, 128), 16, 40),
        (td_mlp(64, 256, 3), 32, 50),
        (convlstm_next_frame(32, 16), 2, 10),
        (transformer_classifier(5000, 64, 4, 128, 2), 16, 64),
    ]
