"""Conv1D/Conv2D and the pooling layers against live Keras, bare and under TimeDistributed."""

from __future__ import annotations

from typing import Any

import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.ops import get_op
from oracle import check, model, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"


def conv1(**kw: Any) -> dict[str, Any]:
    return {"type": "Conv1D", "filters": 6, "kernel_size": 3, **kw}


def conv2(**kw: Any) -> dict[str, Any]:
    return {"type": "Conv2D", "filters": 6, "kernel_size": 3, **kw}


def layer(type_: str, **kw: Any) -> dict[str, Any]:
    return {"type": type_, **kw}


SEQ, IMG, VID = [12, 4], [9, 8, 4], [3, 9, 8, 4]

CASES = {
    # Conv1D on (N, T, C)
    "conv1d": (SEQ, conv1()),
    "conv1d-strides": (SEQ, conv1(strides=2)),
    "conv1d-same": (SEQ, conv1(padding="same")),
    "conv1d-same-even-strides": (SEQ, conv1(kernel_size=4, strides=3, padding="same")),
    "conv1d-causal": (SEQ, conv1(padding="causal")),
    "conv1d-causal-dilation": (SEQ, conv1(padding="causal", dilation_rate=2)),
    "conv1d-causal-strides": (SEQ, conv1(padding="causal", strides=2)),
    "conv1d-dilation": (SEQ, conv1(dilation_rate=[3])),
    "conv1d-same-dilation": (SEQ, conv1(kernel_size=2, padding="same", dilation_rate=3)),
    "conv1d-groups": (SEQ, conv1(groups=2)),
    "conv1d-no-bias": (SEQ, conv1(use_bias=False)),
    "conv1d-activation": (SEQ, conv1(activation="tanh")),
    "conv1d-lora": (SEQ, conv1(lora_rank=2, lora_alpha=3.0)),
    "conv1d-inert-args": (
        SEQ,
        conv1(kernel_regularizer="l2", bias_constraint="non_neg", data_format="channels_last"),
    ),
    "conv1d-dynamic-length": ([None, 4], conv1(padding="causal")),
    "conv1d-dynamic-valid-strides": ([None, 4], conv1(kernel_size=2, strides=2)),
    # Conv2D on (N, H, W, C)
    "conv2d": (IMG, conv2()),
    "conv2d-rect-strides": (IMG, conv2(kernel_size=[3, 2], strides=[2, 1])),
    "conv2d-same": (IMG, conv2(padding="same")),
    "conv2d-same-even-strides": (IMG, conv2(kernel_size=2, strides=2, padding="same")),
    "conv2d-dilation": (IMG, conv2(dilation_rate=[2, 1])),
    "conv2d-same-dilation": (IMG, conv2(padding="same", dilation_rate=2)),
    "conv2d-groups": (IMG, conv2(groups=2, padding="same")),
    "conv2d-depthwise-groups": (IMG, conv2(filters=8, groups=4, strides=2)),
    "conv2d-no-bias-activation": (IMG, conv2(use_bias=False, activation="relu")),
    "conv2d-lora": (IMG, conv2(lora_rank=3)),
    "conv2d-1x1": (IMG, conv2(kernel_size=1, activation="sigmoid")),
    # Pooling
    "maxpool1d": (SEQ, layer("MaxPooling1D")),
    "maxpool1d-odd": ([11, 4], layer("MaxPooling1D", pool_size=3)),
    "maxpool1d-strides": (SEQ, layer("MaxPooling1D", pool_size=3, strides=1)),
    "maxpool1d-same-strides": (
        [11, 4],
        layer("MaxPooling1D", pool_size=3, strides=2, padding="same"),
    ),
    "maxpool1d-dynamic": ([None, 4], layer("MaxPooling1D", pool_size=2, strides=1)),
    "maxpool2d": (IMG, layer("MaxPooling2D")),
    "maxpool2d-rect-strides": (IMG, layer("MaxPooling2D", pool_size=[3, 2], strides=[1, 2])),
    "maxpool2d-same": (IMG, layer("MaxPooling2D", pool_size=3, strides=2, padding="same")),
    "avgpool1d": (SEQ, layer("AveragePooling1D", pool_size=3)),
    "avgpool1d-same": (SEQ, layer("AveragePooling1D", pool_size=4, strides=1, padding="same")),
    "avgpool1d-same-strides": ([11, 4], layer("AveragePooling1D", pool_size=2, padding="same")),
    "avgpool2d": (IMG, layer("AveragePooling2D", pool_size=2)),
    "avgpool2d-strides": (IMG, layer("AveragePooling2D", pool_size=[2, 3], strides=1)),
    "avgpool2d-same": (IMG, layer("AveragePooling2D", pool_size=3, strides=2, padding="same")),
    "avgpool2d-stride-gt-pool": (
        IMG,
        layer("AveragePooling2D", pool_size=1, strides=3, padding="same"),
    ),
    "gap1d": (SEQ, layer("GlobalAveragePooling1D")),
    "gap1d-keepdims-dynamic": ([None, 4], layer("GlobalAveragePooling1D", keepdims=True)),
    "gmp1d": (SEQ, layer("GlobalMaxPooling1D")),
    "gmp1d-keepdims": (SEQ, layer("GlobalMaxPooling1D", keepdims=True)),
    "gap2d": (IMG, layer("GlobalAveragePooling2D")),
    "gap2d-keepdims": (IMG, layer("GlobalAveragePooling2D", keepdims=True)),
    "gmp2d": (IMG, layer("GlobalMaxPooling2D")),
    "gmp2d-keepdims": (IMG, layer("GlobalMaxPooling2D", keepdims=True)),
}

TD_CASES = {
    "td-conv1d-causal": ([None, 10, 3], [conv1(padding="causal", dilation_rate=2)]),
    "td-conv2d-same-relu": (VID, [conv2(padding="same", activation="relu")]),
    "td-conv2d-groups-strides": (VID, [conv2(groups=2, strides=2, use_bias=False)]),
    "td-maxpool1d": ([3, 10, 3], [layer("MaxPooling1D", padding="same", pool_size=3)]),
    "td-avgpool2d-same": (VID, [layer("AveragePooling2D", pool_size=2, padding="same")]),
    "td-gap2d": (VID, [layer("GlobalAveragePooling2D")]),
    "td-gmp1d-keepdims": ([None, 10, 3], [layer("GlobalMaxPooling1D", keepdims=True)]),
    "td-conv2d-no-bias-batchnorm-relu": (
        VID,
        [conv2(use_bias=False), layer("BatchNormalization"), layer("ReLU")],
    ),
    "td-conv2d-maxpool-flatten": (
        VID,
        [conv2(padding="same", activation="relu"), layer("MaxPooling2D"), layer("Flatten")],
    ),
}


@pytest.mark.parametrize("shape,entry", CASES.values(), ids=CASES.keys())
def test_layer(tmp_path, shape, entry):
    check(tmp_path, model(shape, entry))


@pytest.mark.parametrize("shape,entries", TD_CASES.values(), ids=TD_CASES.keys())
def test_time_distributed(tmp_path, shape, entries):
    check(tmp_path, model(shape, *[td(e) for e in entries]))


def test_conv_pool_chain_into_dense(tmp_path):
    check(
        tmp_path,
        model(
            [16, 3],
            conv1(padding="causal", activation="relu"),
            layer("MaxPooling1D"),
            conv1(filters=4, kernel_size=2, groups=2),
            layer("GlobalAveragePooling1D"),
            {"type": "Dense", "units": 2},
        ),
    )


REFUSED = {
    "conv1d-kernel-too-large": ([3, 4], conv1(kernel_size=5), "is larger than"),
    "conv2d-kernel-too-large": ([3, 3, 4], conv2(kernel_size=[2, 4]), "is larger than"),
    "conv1d-dilated-too-large": ([6, 4], conv1(dilation_rate=3), "is larger than"),
    "maxpool2d-too-large": ([2, 2, 4], layer("MaxPooling2D", pool_size=3), "is larger than"),
    "avgpool1d-too-large": ([2, 4], layer("AveragePooling1D", pool_size=3), "is larger than"),
    "td-conv2d-too-large": ([2, 2, 2, 4], td(conv2()), "is larger than"),
    "strides-and-dilation": (SEQ, conv1(strides=2, dilation_rate=2), "dilation_rate"),
    "filters-not-divisible": (SEQ, conv1(filters=5, groups=2), "divisible"),
    "channels-not-divisible": ([12, 3], conv1(groups=2), "divisible"),
    "conv2d-causal": (IMG, conv2(padding="causal"), "padding"),
    "channels-first": (IMG, conv2(data_format="channels_first"), "data_format"),
    "lora-with-constraint": (SEQ, conv1(lora_rank=2, kernel_constraint="max_norm"), "lora"),
    "conv2d-rank": (SEQ, conv2(), "rank"),
    "pool-rank": (IMG, layer("MaxPooling1D"), "rank"),
    "kernel-size-count": (IMG, conv2(kernel_size=[3, 3, 3]), "kernel_size"),
    "same-strides-dynamic": ([None, 4], conv1(strides=2, padding="same"), "static"),
}


@pytest.mark.parametrize("shape,entry,needle", REFUSED.values(), ids=REFUSED.keys())
def test_refused(tmp_path, shape, entry, needle):
    path = write_model(tmp_path, model(shape, entry))
    with pytest.raises(TdcError, match=needle):
        compile_file(path)


def test_conv_flops(tmp_path):
    compiled = compile_file(write_model(tmp_path, model(IMG, conv2(strides=2))))
    (node,) = [n for n in compiled.graph.nodes if n.op == "Conv2D"]
    assert node.output.shape == ("N", 4, 3, 6)
    assert get_op("Conv2D").flops(node) == 2 * 4 * 3 * (3 * 3 * 4 * 6)
