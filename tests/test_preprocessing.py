"""Rescaling, Normalization, Resizing, CenterCrop and LayerScale against live Keras, and the
values each refuses."""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.frontend.arrays import write_npz
from oracle import check, check_inputs, compare, model, random_inputs, write_model


def layer(kind, **kw):
    return {"type": kind, **kw}


def resize(h, w, **kw):
    return layer("Resizing", height=h, width=w, **kw)


QUICK = {
    "normalization_adapted": model([4, 4, 3], layer("Normalization", axis=3)),
    "resizing_bilinear_down": model([9, 7, 2], resize(4, 5)),
    "layer_scale": model([3, 3, 6], layer("LayerScale", init_values=1e-6, projection_dim=6)),
}

CASES = {
    "rescaling_scalar": model([4, 4, 3], layer("Rescaling", scale=1 / 127.5, offset=-1.0)),
    "normalization_given": model(
        [4, 4, 3], layer("Normalization", mean=[0.5, -0.2, 1.0], variance=[2.0, 0.5, 0.0])
    ),
    "center_crop": model([7, 8, 2], layer("CenterCrop", height=4, width=5)),
    "rescaling_default_offset": model([5, 3], layer("Rescaling", scale=0.5)),
    "rescaling_per_channel": model(
        [4, 4, 3], layer("Rescaling", scale=[0.5, 2.0, -1.0], offset=[1.0, 0.0, -3.0])
    ),
    "rescaling_per_channel_scale_only": model([4, 3], layer("Rescaling", scale=[1.0, 2.0, 3.0])),
    "rescaling_nested": model([2, 3], layer("Rescaling", scale=[[1.0, 2.0, 3.0], [4.0, 5, 6]])),
    "rescaling_dynamic": model([None, 3], layer("Rescaling", scale=[1.0, 2.0, 3.0])),
    "normalization_scalar_given": model([4, 3], layer("Normalization", mean=2.0, variance=4.0)),
    "normalization_axis_none": model([4, 3], layer("Normalization", axis=None)),
    "normalization_axis_none_given": model(
        [4, 3], layer("Normalization", axis=None, mean=1.0, variance=3.0)
    ),
    "normalization_axes_12": model([3, 4, 2], layer("Normalization", axis=[1, 2])),
    "normalization_axes_-1_-2_given": model(
        [3, 2], layer("Normalization", axis=[-2, -1], mean=[1.0, 2.0], variance=[0.5, 1.5])
    ),
    "normalization_axis1": model([3, 4], layer("Normalization", axis=1)),
    "normalization_invert": model(
        [4, 3], layer("Normalization", mean=[1.0, 2.0, 3.0], variance=[4.0, 1.0, 9.0], invert=True)
    ),
    "normalization_invert_adapted": model([4, 3], layer("Normalization", invert=True)),
    "normalization_dynamic_time": model([None, 3], layer("Normalization")),
    "resizing_bilinear_up": model([3, 4, 2], resize(7, 9)),
    "resizing_bilinear_down_antialias": model([12, 10, 2], resize(5, 3, antialias=True)),
    "resizing_nearest_up": model([3, 4, 2], resize(7, 9, interpolation="nearest")),
    "resizing_nearest_down": model([11, 13, 2], resize(4, 6, interpolation="nearest")),
    "resizing_nearest_odd": model([7, 3, 1], resize(3, 7, interpolation="nearest")),
    "resizing_bicubic_up": model([4, 5, 2], resize(9, 7, interpolation="bicubic")),
    "resizing_bicubic_down": model([10, 9, 2], resize(4, 5, interpolation="bicubic")),
    "resizing_bicubic_antialias": model(
        [10, 9, 2], resize(4, 5, interpolation="bicubic", antialias=True)
    ),
    "resizing_lanczos3": model([6, 5, 2], resize(9, 3, interpolation="lanczos3")),
    "resizing_lanczos5_antialias": model(
        [12, 5, 2], resize(5, 8, interpolation="lanczos5", antialias=True)
    ),
    "resizing_same_size": model([4, 5, 2], resize(4, 5)),
    "resizing_one_axis": model([4, 5, 2], resize(4, 9)),
    "resizing_crop_to_aspect": model([9, 5, 2], resize(4, 4, crop_to_aspect_ratio=True)),
    "resizing_crop_to_aspect_wide": model([5, 12, 2], resize(6, 4, crop_to_aspect_ratio=True)),
    "resizing_pad_to_aspect": model([9, 5, 2], resize(4, 4, pad_to_aspect_ratio=True)),
    "resizing_pad_to_aspect_fill": model(
        [5, 12, 2], resize(6, 6, pad_to_aspect_ratio=True, fill_value=2.5)
    ),
    "resizing_pad_to_aspect_nearest": model(
        [5, 8, 1], resize(7, 7, pad_to_aspect_ratio=True, interpolation="nearest")
    ),
    "resizing_dynamic_channels": model([6, 6, None], resize(3, 4)),
    "resizing_then_conv": model([9, 9, 3], resize(5, 5), layer("Conv2D", filters=2, kernel_size=3)),
    "center_crop_exact": model([4, 5, 2], layer("CenterCrop", height=4, width=5)),
    "center_crop_odd_margin": model([9, 6, 1], layer("CenterCrop", height=4, width=3)),
    "center_crop_upsize": model([3, 4, 2], layer("CenterCrop", height=6, width=5)),
    "center_crop_one_axis_small": model([8, 3, 2], layer("CenterCrop", height=5, width=6)),
    "layer_scale_dense": model(
        [5, 4], layer("Dense", units=8), layer("LayerScale", init_values=0.5, projection_dim=8)
    ),
    "dropout_noise_shape_nulls": model(
        [4, 4, 3], layer("Dropout", rate=0.2, noise_shape=[None, 1, 1, 1])
    ),
    "dropout_noise_shape_all_null": model(
        [4, 3], layer("Dropout", rate=0.5, noise_shape=[None, None, 3])
    ),
}


def check_positive_variance(tmp_path, spec):
    """``check``, with an adapted Normalization's variance drawn positive (a negative one
    is NaN in Keras and here alike: ``test_adapted_negative_variance``)."""
    drawn = compile_file(write_model(tmp_path, spec))
    rng = np.random.default_rng(0)
    weights = {}
    for key, w in sorted(drawn.weights.items()):
        if key.endswith("/variance"):
            weights[key] = rng.uniform(0.2, 3.0, w.shape).astype(np.float32)
        elif key.endswith("/count"):
            weights[key] = np.asarray(np.float32(100.0))
        else:
            weights[key] = rng.normal(0.0, 0.6, w.shape).astype(np.float32)
    if weights:
        write_npz(tmp_path / "model.npz", weights)
        spec = {**spec, "weights": "model.npz"}
    compiled = compile_file(write_model(tmp_path, spec))
    return compare(compiled, random_inputs(compiled, 2, 5, 1))


@pytest.mark.parametrize("name", QUICK)
def test_quick(tmp_path, name):
    check_positive_variance(tmp_path, QUICK[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_case(tmp_path, name):
    check_positive_variance(tmp_path, CASES[name])


@pytest.mark.slow
def test_adapted_negative_variance(tmp_path):
    """A negative variance in the weights file: NaN where Keras has NaN."""
    with np.errstate(invalid="ignore"):
        check(tmp_path, model([4, 3], layer("Normalization")))


@pytest.mark.slow
def test_rescaling_extreme_inputs(tmp_path):
    x = np.array([[0.0, 1e30, -1e30, np.inf, -np.inf, 255.0]], np.float32)
    spec = model([6], layer("Rescaling", scale=1 / 255, offset=-0.5))
    with np.errstate(invalid="ignore"):
        check_inputs(tmp_path, spec, [x])


@pytest.mark.slow
def test_resizing_large_ratio(tmp_path):
    """A big shrink with antialias: wide kernels, many taps per output."""
    check(tmp_path, model([40, 32, 1], resize(3, 5, antialias=True)))


def refused(tmp_path, spec) -> str:
    with pytest.raises(TdcError) as err:
        compile_file(write_model(tmp_path, spec))
    return str(err.value)


REFUSED = {
    "rescaling_bad_list": (
        model([4, 3], layer("Rescaling", scale=[1.0, 2.0])),
        "does not fit",
    ),
    "rescaling_ragged": (model([3], layer("Rescaling", scale=[[1.0], [1.0, 2.0]])), "rectangular"),
    "rescaling_text": (model([3], layer("Rescaling", scale="half")), "finite number"),
    "normalization_mean_only": (
        model([3], layer("Normalization", mean=[1.0, 2.0, 3.0])),
        "both mean and variance",
    ),
    "normalization_shapes_differ": (
        model([3], layer("Normalization", mean=[1.0, 2.0, 3.0], variance=[1.0])),
        "same shape",
    ),
    "normalization_batch_axis": (model([3], layer("Normalization", axis=0)), "batch axis"),
    "normalization_axis_range": (model([3], layer("Normalization", axis=4)), "out of range"),
    "normalization_dynamic_kept": (
        model([None, 3], layer("Normalization", axis=1)),
        "static size",
    ),
    "normalization_mean_misfit": (
        model([4], layer("Normalization", mean=[1.0, 2.0], variance=[1.0, 2.0])),
        "do not fit",
    ),
    "resizing_area": (model([4, 4, 1], resize(2, 2, interpolation="area")), "JAX backend"),
    "resizing_unknown": (model([4, 4, 1], resize(2, 2, interpolation="cubic")), "bilinear"),
    "resizing_both_aspects": (
        model([4, 4, 1], resize(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)),
        "only one of",
    ),
    "resizing_fill_mode": (model([4, 4, 1], resize(2, 2, fill_mode="reflect")), "constant"),
    "resizing_rank3": (model([4, 4], resize(2, 2)), "(batch, height, width, channels)"),
    "resizing_dynamic": (model([None, 4, 1], resize(2, 2)), "static height and width"),
    "resizing_int": (model([4, 4, 1], resize(2, 2), dtype="int32"), "float32"),
    "resizing_zero": (model([4, 4, 1], resize(0, 2)), "integer in [1, 65536]"),
    "center_crop_channels_first": (
        model([4, 4, 1], layer("CenterCrop", height=2, width=2, data_format="channels_first")),
        "channels_last",
    ),
    "layer_scale_misfit": (
        model([4, 5], layer("LayerScale", init_values=0.1, projection_dim=4)),
        "last axis is 4",
    ),
    "dropout_noise_shape_zero": (
        model([4], layer("Dropout", rate=0.5, noise_shape=[None, 0])),
        "integers >= 1",
    ),
}


@pytest.mark.parametrize("name", REFUSED)
def test_refused(tmp_path, name):
    spec, words = REFUSED[name]
    assert words in refused(tmp_path, spec)


def test_layer_scale_seeded_gamma_is_its_init_value(tmp_path):
    """Without a weights file, gamma is Keras's Constant(init_values)."""
    spec = model([2, 4], layer("LayerScale", name="ls", init_values=0.25, projection_dim=4))
    compiled = compile_file(write_model(tmp_path, spec))
    np.testing.assert_array_equal(compiled.weights["ls/gamma"], np.full(4, 0.25, np.float32))


def test_adapted_normalization_weights_are_keras_variables(tmp_path):
    spec = model([4, 3], layer("Normalization", name="norm", axis=[-1]))
    compiled = compile_file(write_model(tmp_path, spec))
    shapes = {k: v.shape for k, v in compiled.weights.items()}
    assert shapes == {"norm/mean": (3,), "norm/variance": (3,), "norm/count": ()}


@pytest.mark.slow
def test_streaming_step_by_step(tmp_path):
    """Rescaling, Normalization, a new activation and glu run one time step at a time."""
    from cli_util import tdc

    spec = model(
        [None, 3],
        layer("Rescaling", scale=[0.5, 2.0, 1.0], offset=1.0),
        layer("Normalization", mean=[1.0, 0.0, 2.0], variance=[1.0, 4.0, 2.0]),
        layer("Activation", activation="sparsemax"),
        layer("LSTM", units=4, return_sequences=True, activation="celu"),
        layer("Dense", units=6, activation="glu"),
    )
    path = write_model(tmp_path, spec)
    code, out, err = tdc("verify", path, "--streaming", "--time", "5")
    assert code == 0, err
    assert "all outputs match Keras" in out


def test_normalization_over_time_has_no_step_form(tmp_path):
    """Means per time step span the time axis: refused for streaming, naming the layer."""
    from cli_util import tdc

    spec = model([4, 3], layer("Normalization", name="per_step", axis=[1, 2]))
    code, _, err = tdc(
        "compile",
        write_model(tmp_path, spec),
        "--target",
        "onnx",
        "--streaming",
        "-o",
        tmp_path / "s.onnx",
    )
    assert code == 2 and "per_step" in err
