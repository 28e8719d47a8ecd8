"""Depthwise/separable/transposed/3D convolutions, 3D pooling, up-sampling, padding and
cropping against live Keras, bare and under TimeDistributed (video clips included)."""

from __future__ import annotations

from typing import Any

import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.ops import get_op
from oracle import check, model, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"


def layer(type_: str, **kw: Any) -> dict[str, Any]:
    return {"type": type_, **kw}


def dw(**kw: Any) -> dict[str, Any]:
    return layer("DepthwiseConv2D", **{"kernel_size": 3, **kw})


def sep1(**kw: Any) -> dict[str, Any]:
    return layer("SeparableConv1D", **{"filters": 5, "kernel_size": 3, **kw})


def sep2(**kw: Any) -> dict[str, Any]:
    return layer("SeparableConv2D", **{"filters": 5, "kernel_size": 3, **kw})


def convt(**kw: Any) -> dict[str, Any]:
    return layer("Conv2DTranspose", **{"filters": 5, "kernel_size": 3, **kw})


def conv3(**kw: Any) -> dict[str, Any]:
    return layer("Conv3D", **{"filters": 4, "kernel_size": 2, **kw})


SEQ, IMG, VOL = [12, 4], [9, 8, 4], [5, 6, 7, 4]
VID, CLIP = [3, 9, 8, 4], [2, 4, 6, 5, 3]

CASES = {
    # DepthwiseConv2D on (N, H, W, C); variable "kernel" (kh, kw, cin, mult)
    "dw-inert-args": (IMG, dw(depthwise_regularizer="l2", data_format="channels_last")),
    "dw-mult-same-strides": (IMG, dw(depth_multiplier=2, padding="same", strides=2)),
    "dw-rect-strides": (IMG, dw(kernel_size=[3, 2], strides=[2, 1], depth_multiplier=3)),
    "dw-dilation-relu-no-bias": (IMG, dw(dilation_rate=2, activation="relu", use_bias=False)),
    # SeparableConv1D/2D: depthwise_kernel, pointwise_kernel, bias
    "sep1d-tanh": (SEQ, sep1(activation="tanh")),
    "sep1d-same-strides-mult": (SEQ, sep1(padding="same", strides=2, depth_multiplier=2)),
    "sep1d-dynamic-length": ([None, 4], sep1(padding="same", use_bias=False)),
    "sep2d": (IMG, sep2()),
    "sep2d-same-strides": (IMG, sep2(padding="same", strides=2, depth_multiplier=2)),
    "sep2d-dilation-no-bias": (IMG, sep2(dilation_rate=2, use_bias=False, activation="relu")),
    # Conv2DTranspose: kernel (kh, kw, filters, cin)
    "convt": (IMG, convt()),
    "convt-strides": (IMG, convt(strides=2)),
    "convt-stride-gt-kernel": (IMG, convt(kernel_size=2, strides=3)),
    "convt-same": (IMG, convt(padding="same")),
    "convt-same-strides": (IMG, convt(padding="same", strides=[2, 3])),
    "convt-same-even-kernel": (IMG, convt(kernel_size=4, padding="same", strides=2)),
    "convt-same-stride-gt-kernel": (IMG, convt(kernel_size=2, padding="same", strides=3)),
    "convt-output-padding": (IMG, convt(strides=2, output_padding=1)),
    "convt-same-output-padding": (IMG, convt(padding="same", strides=3, output_padding=[2, 0])),
    "convt-dilation-no-bias": (IMG, convt(dilation_rate=2, activation="relu", use_bias=False)),
    # Conv3D on (N, D, H, W, C)
    "conv3d-rect": (VOL, conv3(kernel_size=[2, 3, 1])),
    "conv3d-same-strides": (VOL, conv3(kernel_size=3, strides=2, padding="same")),
    "conv3d-dilation": (VOL, conv3(dilation_rate=[2, 1, 2], activation="sigmoid")),
    "conv3d-groups-no-bias": (VOL, conv3(filters=6, groups=2, use_bias=False)),
}

TD_CASES = {
    # video clips (N, T, D, H, W, C)
    "td-conv3d-clip": (CLIP, [conv3(padding="same", activation="relu")]),
    "td-conv3d-clip-dynamic-time-groups": (
        [None, 4, 6, 5, 3],
        [conv3(filters=6, groups=3, strides=2)],
    ),
    "td-conv3d-clip-maxpool3d-gap3d": (
        CLIP,
        [
            conv3(padding="same"),
            layer("MaxPooling3D", pool_size=2),
            layer("GlobalAveragePooling3D"),
        ],
    ),
    # frames (N, T, H, W, C)
    "td-dw-dilation": (VID, [dw(dilation_rate=[1, 2], depth_multiplier=2, padding="same")]),
    "td-dw-same-strides-relu": (VID, [dw(padding="same", strides=2, activation="relu")]),
    "td-sep2d-same-dilation": (VID, [sep2(padding="same", dilation_rate=2)]),
    "td-sep1d-dynamic-time": ([None, 10, 3], [sep1(dilation_rate=3, depth_multiplier=2)]),
    "td-convt-same-strides": (VID, [convt(padding="same", strides=2)]),
    "td-up2d-bilinear": (VID, [layer("UpSampling2D", interpolation="bilinear")]),
    "td-pad2d-crop2d": (VID, [layer("ZeroPadding2D", padding=2), layer("Cropping2D", cropping=1)]),
    "td-up1d-crop1d": ([None, 6, 3], [layer("UpSampling1D"), layer("Cropping1D")]),
}


@pytest.mark.parametrize("shape,entry", CASES.values(), ids=CASES.keys())
def test_layer(tmp_path, shape, entry):
    check(tmp_path, model(shape, entry))


@pytest.mark.parametrize("shape,entries", TD_CASES.values(), ids=TD_CASES.keys())
def test_time_distributed(tmp_path, shape, entries):
    check(tmp_path, model(shape, *[td(e) for e in entries]))


RESHAPE_CASES = {
    "up1d": (SEQ, layer("UpSampling1D", size=3)),
    "up1d-default-dynamic": ([None, 4], layer("UpSampling1D")),
    "up2d": (IMG, layer("UpSampling2D", size=[2, 3])),
    "up2d-bilinear": ([4, 5, 3], layer("UpSampling2D", size=[2, 3], interpolation="bilinear")),
    "up2d-bilinear-default": (IMG, layer("UpSampling2D", interpolation="bilinear")),
    "pad1d-default": (SEQ, layer("ZeroPadding1D")),
    "pad1d-pair-dynamic": ([None, 4], layer("ZeroPadding1D", padding=[1, 3])),
    "pad2d-int": (IMG, layer("ZeroPadding2D", padding=2)),
    "pad2d-sym": (IMG, layer("ZeroPadding2D", padding=[0, 3])),
    "pad2d-pairs": (IMG, layer("ZeroPadding2D", padding=[[1, 0], [2, 3]])),
    "crop1d-default": (SEQ, layer("Cropping1D")),
    "crop1d-pair-dynamic": ([None, 4], layer("Cropping1D", cropping=[2, 0])),
    "crop2d-default": (IMG, layer("Cropping2D")),
    "crop2d-int": (IMG, layer("Cropping2D", cropping=2)),
    "crop2d-sym": (IMG, layer("Cropping2D", cropping=[1, 2])),
    "crop2d-pairs": (IMG, layer("Cropping2D", cropping=[[0, 3], [2, 1]])),
    # 3D pooling on (N, D, H, W, C)
    "maxpool3d": (VOL, layer("MaxPooling3D")),
    "maxpool3d-same-strides": (VOL, layer("MaxPooling3D", pool_size=3, strides=2, padding="same")),
    "avgpool3d": (VOL, layer("AveragePooling3D", pool_size=[2, 3, 2])),
    "avgpool3d-same": (VOL, layer("AveragePooling3D", pool_size=2, strides=1, padding="same")),
    "gap3d": (VOL, layer("GlobalAveragePooling3D")),
    "gap3d-keepdims": (VOL, layer("GlobalAveragePooling3D", keepdims=True)),
    "gmp3d": (VOL, layer("GlobalMaxPooling3D")),
}


@pytest.mark.parametrize("shape,entry", RESHAPE_CASES.values(), ids=RESHAPE_CASES.keys())
def test_reshaping_and_pooling(tmp_path, shape, entry):
    check(tmp_path, model(shape, entry))


def test_chain_into_dense(tmp_path):
    check(
        tmp_path,
        model(
            IMG,
            sep2(padding="same", activation="relu"),
            convt(filters=3, strides=2),
            layer("Cropping2D", cropping=1),
            dw(activation="relu"),
            layer("GlobalMaxPooling2D"),
            {"type": "Dense", "units": 2},
        ),
    )


REFUSED = {
    "dw-strides-and-dilation": (IMG, dw(strides=2, dilation_rate=2), "dilation_rate"),
    "dw-rank": (SEQ, dw(), "rank"),
    "dw-too-large": ([2, 5, 4], dw(), "is larger than"),
    "sep1d-channels-first": (SEQ, sep1(data_format="channels_first"), "data_format"),
    "sep2d-causal": (IMG, sep2(padding="causal"), "padding"),
    "convt-output-padding-ge-strides": (IMG, convt(strides=2, output_padding=2), "output_padding"),
    "convt-strides-and-dilation": (IMG, convt(strides=2, dilation_rate=2), "dilation_rate"),
    "convt-dynamic": ([None, 8, 4], convt(), "static"),
    "conv3d-rank": (IMG, conv3(), "rank"),
    "conv3d-too-large": ([1, 6, 7, 4], conv3(), "is larger than"),
    "td-conv3d-rank": (VOL, td(conv3()), "rank"),
    "maxpool3d-rank": (IMG, layer("MaxPooling3D"), "rank"),
    "avgpool3d-needs-size": (VOL, layer("AveragePooling3D"), "pool_size"),
    "up2d-bicubic": (IMG, layer("UpSampling2D", interpolation="bicubic"), "bicubic"),
    "up2d-unknown": (IMG, layer("UpSampling2D", interpolation="area"), "interpolation"),
    "up2d-bilinear-dynamic": (
        [None, 8, 4],
        layer("UpSampling2D", interpolation="bilinear"),
        "static",
    ),
    "up1d-list-too-long": (SEQ, layer("UpSampling1D", size=[2, 2]), "size"),
    "pad2d-negative": (IMG, layer("ZeroPadding2D", padding=-1), "padding"),
    "pad2d-three-pairs": (IMG, layer("ZeroPadding2D", padding=[[1, 1]] * 3), "padding"),
    "crop1d-everything": (SEQ, layer("Cropping1D", cropping=6), "leaves nothing"),
    "crop2d-everything": (IMG, layer("Cropping2D", cropping=[[0, 0], [4, 4]]), "leaves nothing"),
}


@pytest.mark.parametrize("shape,entry,needle", REFUSED.values(), ids=REFUSED.keys())
def test_refused(tmp_path, shape, entry, needle):
    path = write_model(tmp_path, model(shape, entry))
    with pytest.raises(TdcError, match=needle):
        compile_file(path)


def _node(tmp_path, shape: list[Any], entry: dict[str, Any], op: str) -> Any:
    compiled = compile_file(write_model(tmp_path, model(shape, entry)))
    (node,) = [n for n in compiled.graph.nodes if n.op == op]
    return node


def test_flops(tmp_path):
    node = _node(tmp_path, IMG, sep2(depth_multiplier=2), "depthwise_conv")
    assert node.output.shape == ("N", 7, 6, 5)
    assert get_op("depthwise_conv").flops(node) == 2 * 7 * 6 * (3 * 3 * 4 * 2 + 8 * 5)
    node = _node(tmp_path, IMG, convt(strides=2), "Conv2DTranspose")
    assert node.output.shape == ("N", 19, 17, 5)
    assert get_op("Conv2DTranspose").flops(node) == 2 * 9 * 8 * (3 * 3 * 5 * 4)
    node = _node(tmp_path, VOL, conv3(), "Conv3D")
    assert get_op("Conv3D").flops(node) == 2 * 4 * 5 * 6 * (2 * 2 * 2 * 4 * 4)
