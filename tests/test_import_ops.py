"""``tdc import`` of Keras operations in a functional model (``x * 0.5``,
``keras.ops.relu6(x + 3)``, ``x[:, :, :4]``, ``keras.ops.concatenate``...): each becomes an
``ops.<name>`` entry, and the compiled model matches the saved model's own predictions."""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_import import import_and_compare, normal, perturb, save

from cli_util import tdc
from compiler.keras.oracle import import_keras

keras = import_keras()
L, K = keras.layers, keras.ops


@pytest.mark.slow
def test_mobilenet_v3_hard_swish_head(tmp_path):
    """hard-swish as MobileNetV3 writes it, a mean over space, x[:, :, :4], a concat."""
    inp = keras.Input((8, 8, 3), name="image")
    x = L.Conv2D(6, 3, padding="same", name="conv")(inp)
    x = x * K.relu6(x + 3.0) * (1.0 / 6.0)
    pooled = K.mean(x, axis=[1, 2], keepdims=True)
    rows = K.concatenate([x[:, :, :4], x[:, :, 4:]], axis=2)
    channels = K.concatenate([x[..., 4:], x[..., :4]], axis=-1)
    model = keras.Model(inp, [L.Flatten(name="flat")(pooled), rows, channels], name="mnv3")
    perturb(model)
    import_and_compare(tmp_path, model, [normal(2, 8, 8, 3)])
    text = (tmp_path / "out" / "model.yaml").read_text()
    assert "type: ops.relu6" in text and "type: ops.multiply" in text
    assert "key: '[:, :, :4]'" in text and "key: '[..., 4:]'" in text
    assert "type: ops.concatenate" in text and "type: ops.mean" in text


@pytest.mark.slow
def test_shape_operations(tmp_path):
    inp = keras.Input((None, 6), name="x")
    x = L.Dense(8, name="d")(inp)
    halves = K.split(x, 2, axis=-1)
    outs = [
        K.stack([halves[0], halves[1]], axis=2),
        K.transpose(K.expand_dims(x, -1), (0, 1, 3, 2)),
        K.squeeze(K.expand_dims(x, 2), axis=2),
        K.reshape(x[:, 0], (-1, 2, 4)),
        x[:, None, ::2, -1],
        x[:, ::-1, 1:-1:2],
        halves[1],
    ]
    model = keras.Model(inp, outs)
    perturb(model)
    import_and_compare(tmp_path, model, [normal(2, 5, 6)])
    text = (tmp_path / "out" / "model.yaml").read_text()
    assert re.search(r"'split(_\d+)?:1'", text), text  # the second part: name:1


@pytest.mark.slow
def test_mask_position_and_linear_algebra_operations(tmp_path):
    ids = keras.Input((None,), dtype="int32", name="ids")
    e = L.Embedding(12, 8, name="emb")(ids)
    mask = K.not_equal(ids, 0)
    pos = K.cumsum(K.ones_like(ids), axis=1) - 1
    x = e + L.Embedding(32, 8, name="pos_emb")(pos)
    x = K.where(K.expand_dims(mask, -1), x, 0.0)
    scores = K.einsum("btf,bsf->bts", x, x) / 8.0
    attn = K.matmul(K.softmax(scores, axis=-1), x)
    proj = K.matmul(attn, np.linspace(-1.0, 1.0, 24, dtype="float32").reshape(8, 3))
    lengths = K.sum(K.cast(mask, "float32"), axis=1, keepdims=True)
    both = K.logical_and(mask, K.greater(ids, 2))
    out = K.clip(proj, -0.5, 0.5) + K.full_like(proj, 0.25) * K.max(proj, axis=1, keepdims=True)
    model = keras.Model(ids, [out, lengths, K.cast(both, "int32")])
    perturb(model)
    x_ids = np.random.default_rng(3).integers(0, 12, (2, 7)).astype("int32")
    x_ids[:, -2:] = 0
    import_and_compare(tmp_path, model, [x_ids])


@pytest.mark.slow
def test_constants_of_every_form(tmp_path):
    """Python ints and floats either side, NumPy arrays, a constant first."""
    inp = keras.Input((4,), name="x")
    x = L.Dense(4, name="d")(inp)
    y = 1.0 - x
    y = K.add(y, np.array([1.0, 2.0, 3.0, 4.0], "float32"))
    y = K.maximum(y, 0) / 3 + K.power(x, 2)
    y = K.minimum(K.multiply(np.float32(2.0), y), np.full((1, 4), 5.0, "float32"))
    model = keras.Model(inp, y)
    perturb(model)
    import_and_compare(tmp_path, model, [normal(3, 4)])


@pytest.mark.slow
def test_unknown_operation_is_refused_by_name(tmp_path):
    inp = keras.Input((4,), name="x")
    x = L.Dense(4, name="d")(inp)
    model = keras.Model(inp, [K.sin(x), K.sort(x, axis=-1)])
    code, _, err = tdc("import", save(tmp_path, model), "-o", tmp_path / "m.yaml")
    assert code == 2
    assert "Keras operation not supported" in err
    assert "Sin" in err and "Sort" in err and "'sin'" in err
    assert not (tmp_path / "m.yaml").exists()


@pytest.mark.slow
def test_unsupported_uses_are_refused(tmp_path):
    """A tensor as an index, and an axis tdc refuses (the batch axis)."""
    inp = keras.Input((4,), name="x")
    x = L.Dense(4, name="d")(inp)
    model = keras.Model(inp, [K.take(x, 0, axis=1), K.cumsum(x, axis=0)])
    code, _, err = tdc("import", save(tmp_path, model), "-o", tmp_path / "m.yaml")
    assert code == 2
    assert "Take" in err
