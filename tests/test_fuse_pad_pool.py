"""fuse_pad_pool: a ZeroPadding before a max pooling becomes the pooling's own padding when
the padded values are never negative (after ReLU, as in ResNet50's ``pool1_pad``), and
stays otherwise. Every model is compared with live Keras on both backends."""

import pytest
from test_fusions import L, compiled_vs_keras, ops_of

from oracle import model, onnx_ops, td


@pytest.mark.slow
def test_pad_after_relu_into_max_pooling(tmp_path):
    m = model(
        [9, 9, 3],
        L("Conv2D", filters=4, kernel_size=3, padding="same"),
        L("BatchNormalization"),
        L("ReLU"),
        L("ZeroPadding2D", padding=((1, 1), (2, 1))),
        L("MaxPooling2D", pool_size=3, strides=2),
        L("Conv2D", filters=3, kernel_size=1, activation="relu6"),
        L("ZeroPadding2D", padding=1),
        L("MaxPooling2D", pool_size=2),
    )
    compiled = compiled_vs_keras(tmp_path, m)
    assert ops_of(compiled) == ["Conv2D", "pool", "Conv2D", "pool"]
    assert compiled.graph.nodes[1].attrs["padding"] == ((1, 1), (2, 1))
    assert compiled.graph.nodes[3].attrs["padding"] == ((1, 1), (1, 1))
    assert "Pad" not in onnx_ops(compiled.onnx())


def test_pad_into_max_pooling_under_time_distributed(tmp_path):
    m = model(
        [None, 8, 8, 3],
        td(L("Conv2D", filters=4, kernel_size=3, activation="relu"), "conv"),
        td(L("ZeroPadding2D", padding=1), "pad"),
        td(L("MaxPooling2D", pool_size=3, strides=2), "pool"),
    )
    compiled = compiled_vs_keras(tmp_path, m)
    assert "zero_pad" not in ops_of(compiled)
    assert "Pad" not in onnx_ops(compiled.onnx())


@pytest.mark.parametrize(
    "before, pad, pool",
    [
        (L("Conv2D", filters=4, kernel_size=3), 1, L("MaxPooling2D", pool_size=3)),  # linear
        (L("LeakyReLU", negative_slope=0.1), 1, L("MaxPooling2D", pool_size=3)),
        (L("ReLU", threshold=0.5), 2, L("MaxPooling2D", pool_size=2)),  # a window of pad only
        (L("ReLU"), 1, L("AveragePooling2D", pool_size=3)),  # Keras averages the zeros in
        (L("Activation", activation="tanh"), 1, L("MaxPooling2D", pool_size=3)),
    ],
    ids=["linear", "leaky", "pad-wider-than-window", "average", "tanh"],
)
def test_pad_stays(tmp_path, before, pad, pool):
    m = model([8, 8, 3], before, L("ZeroPadding2D", padding=pad), pool)
    compiled = compiled_vs_keras(tmp_path, m)
    assert "zero_pad" in ops_of(compiled)
    assert "Pad" in onnx_ops(compiled.onnx())
