"""Conv1DTranspose, Conv3DTranspose, DepthwiseConv1D, causal Conv1D and the 3D padding,
cropping and up-sampling layers against live Keras: bare, under TimeDistributed, stepped
frame by frame where the layer is inside TimeDistributed, refused where Keras or tdc
refuses them; and a functional Keras model mixing them through ``tdc import``."""

from __future__ import annotations

from typing import Any

import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.frontend.loader import load_model
from oracle import (
    assert_steps_match_keras,
    check,
    model,
    td,
    write_model,
)


def layer(type_: str, **kw: Any) -> dict[str, Any]:
    return {"type": type_, **kw}


def convt1(**kw: Any) -> dict[str, Any]:
    return layer("Conv1DTranspose", **{"filters": 4, "kernel_size": 3, **kw})


def convt3(**kw: Any) -> dict[str, Any]:
    return layer("Conv3DTranspose", **{"filters": 3, "kernel_size": 2, **kw})


def dw1(**kw: Any) -> dict[str, Any]:
    return layer("DepthwiseConv1D", **{"kernel_size": 3, **kw})


def causal(**kw: Any) -> dict[str, Any]:
    return layer("Conv1D", **{"filters": 4, "kernel_size": 3, "padding": "causal", **kw})


SEQ, VOL = [10, 3], [3, 4, 5, 2]
FRAMES, CLIP = [None, 8, 3], [3, 3, 4, 4, 2]

CASES = {
    # Conv1DTranspose on (N, L, C): kernel (k, filters, cin)
    "convt1d": (SEQ, convt1()),
    "convt1d-strides": (SEQ, convt1(strides=2)),
    "convt1d-stride-gt-kernel": (SEQ, convt1(kernel_size=2, strides=3)),
    "convt1d-same": (SEQ, convt1(padding="same")),
    "convt1d-same-strides-even-kernel": (SEQ, convt1(kernel_size=4, padding="same", strides=2)),
    "convt1d-output-padding": (SEQ, convt1(strides=3, output_padding=2)),
    "convt1d-same-output-padding": (SEQ, convt1(padding="same", strides=2, output_padding=1)),
    "convt1d-dilation-relu-no-bias": (
        SEQ,
        convt1(dilation_rate=2, activation="relu", use_bias=False),
    ),
    "convt1d-inert-args": (
        SEQ,
        convt1(kernel_regularizer="l2", data_format="channels_last", bias_constraint=None),
    ),
    # Conv3DTranspose on (N, D, H, W, C): kernel (kd, kh, kw, filters, cin)
    "convt3d": (VOL, convt3()),
    "convt3d-rect-strides": (VOL, convt3(kernel_size=[2, 3, 1], strides=[2, 1, 3])),
    "convt3d-same-strides": (VOL, convt3(kernel_size=3, padding="same", strides=2)),
    "convt3d-output-padding": (VOL, convt3(strides=2, output_padding=[1, 0, 1])),
    "convt3d-dilation-tanh-no-bias": (
        VOL,
        convt3(dilation_rate=[2, 1, 2], activation="tanh", use_bias=False),
    ),
    # DepthwiseConv1D on (N, L, C): kernel (k, cin, mult)
    "dw1d": (SEQ, dw1()),
    "dw1d-mult-same-strides": (SEQ, dw1(depth_multiplier=2, padding="same", strides=2)),
    "dw1d-dilation-relu-no-bias": (SEQ, dw1(dilation_rate=2, activation="relu", use_bias=False)),
    "dw1d-strides-and-dilation": (SEQ, dw1(strides=2, dilation_rate=2, depth_multiplier=3)),
    "dw1d-dynamic-length": ([None, 3], dw1(padding="same")),
    "dw1d-inert-args": (SEQ, dw1(depthwise_regularizer="l2", data_format="channels_last")),
    # Conv1D with causal padding: the window ends at the current step
    "causal": (SEQ, causal()),
    "causal-dilation": (SEQ, causal(dilation_rate=2)),
    "causal-dilation-even-kernel": (SEQ, causal(kernel_size=2, dilation_rate=3)),
    "causal-strides": (SEQ, causal(strides=2)),
    "causal-dynamic-length-groups": ([None, 4], causal(filters=6, groups=2, dilation_rate=2)),
    # 3D padding, cropping, up-sampling
    "pad3d-default": (VOL, layer("ZeroPadding3D")),
    "pad3d-int": (VOL, layer("ZeroPadding3D", padding=2)),
    "pad3d-per-axis": (VOL, layer("ZeroPadding3D", padding=[1, 0, 2])),
    "pad3d-pairs": (VOL, layer("ZeroPadding3D", padding=[[0, 1], [2, 0], [1, 3]])),
    "crop3d-default": ([4, 5, 6, 2], layer("Cropping3D")),
    "crop3d-int": ([4, 5, 6, 2], layer("Cropping3D", cropping=1)),
    "crop3d-per-axis": (VOL, layer("Cropping3D", cropping=[0, 1, 2])),
    "crop3d-pairs": (VOL, layer("Cropping3D", cropping=[[1, 0], [0, 2], [1, 1]])),
    "up3d-default": (VOL, layer("UpSampling3D")),
    "up3d-size": (VOL, layer("UpSampling3D", size=[1, 2, 3], data_format="channels_last")),
}

TD_CASES = {
    "td-convt1d-same-strides": (FRAMES, [convt1(padding="same", strides=2)]),
    "td-convt3d-clip": (CLIP, [convt3(strides=2, activation="relu")]),
    "td-dw1d-mult-dilation": (FRAMES, [dw1(depth_multiplier=2, dilation_rate=2)]),
    "td-causal-dilation": (FRAMES, [causal(dilation_rate=2)]),
    "td-pad3d-crop3d": (CLIP, [layer("ZeroPadding3D", padding=[1, 2, 0]), layer("Cropping3D")]),
    "td-up3d": (CLIP, [layer("UpSampling3D", size=[2, 1, 2])]),
}


@pytest.mark.slow
@pytest.mark.parametrize("shape,entry", CASES.values(), ids=CASES.keys())
def test_layer(tmp_path, shape, entry):
    check(tmp_path, model(shape, entry))


@pytest.mark.slow
@pytest.mark.parametrize("shape,entries", TD_CASES.values(), ids=TD_CASES.keys())
def test_time_distributed(tmp_path, shape, entries):
    check(tmp_path, model(shape, *[td(e) for e in entries]))


def test_quick_chain(tmp_path):
    """The fast tier's representative: every new 1D layer in one model."""
    check(
        tmp_path,
        model(
            SEQ,
            causal(dilation_rate=2),
            dw1(depth_multiplier=2, padding="same"),
            convt1(strides=2, padding="same", activation="relu"),
        ),
    )


REFUSED = {
    "convt1d-output-padding-big": (SEQ, convt1(strides=2, output_padding=2), "output_padding"),
    "convt1d-dynamic": ([None, 3], convt1(), "static"),
    "convt1d-causal": (SEQ, convt1(padding="causal"), "padding"),
    "convt1d-rank": (VOL, convt1(), "rank"),
    "convt3d-strides-and-dilation": (VOL, convt3(strides=2, dilation_rate=2), "dilation_rate"),
    "convt3d-channels-first": (VOL, convt3(data_format="channels_first"), "data_format"),
    "dw1d-causal": (SEQ, dw1(padding="causal"), "padding"),
    "dw1d-too-large": ([2, 3], dw1(), "is larger than"),
    "dw1d-zero-multiplier": (SEQ, dw1(depth_multiplier=0), "depth_multiplier"),
    "pad3d-four-ints": (VOL, layer("ZeroPadding3D", padding=[1, 1, 1, 1]), "padding"),
    "pad3d-negative": (VOL, layer("ZeroPadding3D", padding=-1), "padding"),
    "crop3d-everything": (VOL, layer("Cropping3D", cropping=[0, 2, 0]), "leaves nothing"),
    "up3d-two-sizes": (VOL, layer("UpSampling3D", size=[2, 2]), "size"),
    "up3d-interpolation": (VOL, layer("UpSampling3D", interpolation="bilinear"), "interpolation"),
    "td-up3d-rank": (VOL, td(layer("UpSampling3D")), "rank"),
}


@pytest.mark.parametrize("shape,entry,needle", REFUSED.values(), ids=REFUSED.keys())
def test_refused(tmp_path, shape, entry, needle):
    path = write_model(tmp_path, model(shape, entry))
    with pytest.raises(TdcError, match=needle):
        compile_file(path)


# -- streaming -------------------------------------------------------------------------------


@pytest.mark.slow
def test_time_distributed_forms_step_frame_by_frame(tmp_path):
    m = model(
        FRAMES,
        td(causal(dilation_rate=2)),
        td(dw1(depth_multiplier=2, padding="same")),
        td(convt1(filters=2, strides=2)),
    )
    assert_steps_match_keras(tmp_path, m, time=4)


@pytest.mark.slow
def test_time_distributed_3d_forms_step_frame_by_frame(tmp_path):
    m = model(
        [None, 2, 3, 3, 2],
        td(layer("ZeroPadding3D", padding=1)),
        td(convt3(strides=[1, 2, 1])),
        td(layer("Cropping3D", cropping=[1, 0, 1])),
        td(layer("UpSampling3D", size=[1, 1, 2])),
    )
    assert_steps_match_keras(tmp_path, m, time=3)


@pytest.mark.parametrize(
    "entry",
    [convt1(), dw1(), causal(), causal(dilation_rate=2)],
    ids=["convt1d", "dw1d", "causal", "causal-dilation"],
)
def test_bare_forms_over_time_have_no_step_form(tmp_path, entry):
    """Over the stream's time axis these layers read several steps at once: refused."""
    compiled = compile_file(write_model(tmp_path, model(SEQ, {"name": "culprit", **entry})))
    with pytest.raises(TdcError, match="culprit.*time axis"):
        compiled.step()


# -- tdc import ------------------------------------------------------------------------------


@pytest.mark.slow
def test_import_functional_model_mixing_the_new_layers(tmp_path):
    """A saved two-input functional model with every new layer, imported and compiled,
    equals the original Keras model on both backends."""
    from test_import import L, import_and_compare, keras, normal, perturb

    seq = keras.Input((12, 4), name="seq")
    x = L.Conv1D(6, 3, padding="causal", dilation_rate=2, name="causal")(seq)
    x = L.DepthwiseConv1D(3, padding="same", depth_multiplier=2, name="dw")(x)
    x = L.GroupNormalization(groups=3, epsilon=1e-4, name="gn")(x)
    x = L.Conv1DTranspose(5, 3, strides=2, padding="same", output_padding=1, name="up")(x)
    x = L.UnitNormalization(name="unit")(x)
    vol = keras.Input((3, 4, 4, 2), name="vol")
    y = L.ZeroPadding3D(((1, 0), (0, 1), (1, 1)), name="pad")(vol)
    y = L.Conv3DTranspose(3, 2, strides=(1, 2, 1), activation="relu", name="convt3")(y)
    y = L.Cropping3D((1, 2, 0), name="crop")(y)
    y = L.UpSampling3D((2, 1, 1), name="up3")(y)
    y = L.GroupNormalization(groups=-1, center=False, name="inst")(y)
    y = L.UnitNormalization(axis=[1, 2], name="unit3")(y)
    model = keras.Model([seq, vol], [x, y], name="mixed")
    perturb(model, seed=11)
    import_and_compare(tmp_path, model, [normal(2, 12, 4, seed=1), normal(2, 3, 4, 4, 2, seed=2)])
    spec = load_model(tmp_path / "out" / "model.yaml")
    assert spec.layer("gn").attrs["groups"] == 3 and spec.layer("up").type == "Conv1DTranspose"
    assert spec.outputs == ["unit", "unit3"]
