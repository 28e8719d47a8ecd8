"""Core layers and activations against live Keras: one row per layer and option."""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.backends.numpy.codegen import load_module, to_numpy
from compiler.backends.onnx.build import to_onnx
from compiler.backends.onnx.save import check as onnx_check
from compiler.backends.onnx.session import run as onnx_run
from compiler.errors import TdcError
from compiler.frontend.params import ACTIVATIONS
from compiler.ir.graph import Graph, Node, Value
from compiler.keras.oracle import import_keras
from oracle import ATOL, RTOL, check, model, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"


def dense(units=5, **kw):
    return {"type": "Dense", "units": units, **kw}


def layer(kind, **kw):
    return {"type": kind, **kw}


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense_activation(tmp_path, act):
    check(tmp_path, model([4, 6], dense(activation=act)))


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_layer(tmp_path, act):
    check(tmp_path, model([3, 5], layer("Activation", activation=act)))


CORE = {
    "dense_rank2": model([6], dense()),
    "dense_rank3": model([4, 6], dense()),
    "dense_rank4": model([3, 4, 6], dense()),
    "dense_dynamic_time": model([None, 6], dense()),
    "dense_no_bias": model([4, 6], dense(use_bias=False)),
    "dense_no_bias_relu": model([6], dense(use_bias=False, activation="relu")),
    "dense_null_activation": model([6], dense(activation=None)),
    "dense_training_args": model(
        [6], dense(kernel_regularizer="l2", bias_constraint="non_neg", activity_regularizer="l1")
    ),
    "leaky_relu_default": model([4, 6], layer("LeakyReLU")),
    "leaky_relu_0": model([4, 6], layer("LeakyReLU", negative_slope=0.0)),
    "leaky_relu_0.1": model([4, 6], layer("LeakyReLU", negative_slope=0.1)),
    "leaky_relu_1.5": model([4, 6], layer("LeakyReLU", negative_slope=1.5)),
    "elu_default": model([4, 6], layer("ELU")),
    "elu_0.5": model([4, 6], layer("ELU", alpha=0.5)),
    "elu_2": model([4, 6], layer("ELU", alpha=2.0)),
    "elu_negative": model([4, 6], layer("ELU", alpha=-0.5)),
    "prelu_default": model([4, 6], layer("PReLU")),
    "prelu_rank2": model([6], layer("PReLU")),
    "prelu_shared_1": model([4, 6], layer("PReLU", shared_axes=[1])),
    "prelu_shared_int": model([4, 6], layer("PReLU", shared_axes=1)),
    "prelu_shared_12": model([3, 4, 6], layer("PReLU", shared_axes=[1, 2])),
    "prelu_dynamic_time": model([None, 6], layer("PReLU", shared_axes=[1])),
    "prelu_ones": model([6], layer("PReLU", alpha_initializer="ones")),
    "softmax_default": model([4, 6], layer("Softmax")),
    "softmax_axis1": model([4, 6], layer("Softmax", axis=1)),
    "softmax_axis2_rank4": model([3, 4, 5], layer("Softmax", axis=2)),
    "softmax_axis-2": model([3, 4, 5], layer("Softmax", axis=-2)),
    "softmax_axis-3": model([3, 4, 5], layer("Softmax", axis=-3)),
    "dropout": model([6], dense(), layer("Dropout", rate=0.5)),
    "dropout_noise_shape": model([4, 6], layer("Dropout", rate=0.3, noise_shape=[1, 6], seed=3)),
    "alpha_dropout": model([6], layer("AlphaDropout", rate=0.2)),
    "spatial_dropout1d": model([4, 6], layer("SpatialDropout1D", rate=0.5)),
    "spatial_dropout2d": model([3, 4, 5], layer("SpatialDropout2D", rate=0.5)),
    "spatial_dropout3d": model([2, 3, 4, 5], layer("SpatialDropout3D", rate=0.5)),
    "gaussian_noise": model([6], layer("GaussianNoise", stddev=0.3)),
    "gaussian_dropout": model([6], layer("GaussianDropout", rate=0.4)),
    "identity": model([6], layer("Identity")),
    "flatten_rank2": model([6], layer("Flatten")),
    "flatten_rank3": model([4, 6], layer("Flatten")),
    "flatten_rank4": model([3, 4, 5], layer("Flatten"), dense(3)),
    "reshape": model([24], layer("Reshape", target_shape=[2, 3, 4])),
    "reshape_minus1_first": model([4, 6], layer("Reshape", target_shape=[-1, 3])),
    "reshape_minus1_middle": model([4, 6], layer("Reshape", target_shape=[2, -1, 3])),
    "reshape_minus1_flat": model([3, 4, 5], layer("Reshape", target_shape=[-1])),
    "permute_21": model([4, 6], layer("Permute", dims=[2, 1])),
    "permute_312": model([3, 4, 5], layer("Permute", dims=[3, 1, 2]), dense(2)),
    "td_dense": model([5, 6], td(dense(activation="tanh"))),
    "td_dense_dynamic": model([None, 6], td(dense()), td(dense(3))),
    "td_flatten": model([5, 3, 4], td(layer("Flatten")), td(dense(2))),
    "td_reshape": model([5, 12], td(layer("Reshape", target_shape=[-1, 4]))),
    "td_reshape_permute": model(
        [5, 12],
        td(layer("Reshape", target_shape=[3, 4])),
        td(layer("Permute", dims=[2, 1])),
        td(layer("Flatten")),
    ),
    "td_softmax_axis1": model([5, 3, 4], td(layer("Softmax", axis=1))),
    "td_prelu": model([5, 3, 4], td(layer("PReLU", shared_axes=[1]))),
    "td_td_dense": model([3, 4, 6], td(td(dense(activation="relu")))),
    "td_td_dense_dynamic": model([None, 4, 6], td(td(dense())), td(td(dense(2)))),
    "td_td_flatten": model([3, 4, 2, 3], td(td(layer("Flatten"))), td(td(dense(2)))),
}


@pytest.mark.parametrize("case", sorted(CORE))
def test_core(tmp_path, case):
    check(tmp_path, CORE[case])


RELU = {  # (max_value, negative_slope, threshold)
    "plain": (None, 0.0, 0.0),
    "max6": (6.0, 0.0, 0.0),
    "max0.5": (0.5, 0.0, 0.0),
    "max0": (0.0, 0.0, 0.0),
    "slope": (None, 0.1, 0.0),
    "threshold": (None, 0.0, 0.5),
    "slope_threshold": (None, 0.2, 0.5),
    "max_slope": (1.0, 0.1, 0.0),
    "max_threshold": (6.0, 0.0, 0.5),
    "max_slope_threshold": (1.5, 0.3, 0.5),
    "max_below_threshold": (0.3, 0.2, 1.0),
}


@pytest.mark.parametrize("case", sorted(RELU))
def test_relu(tmp_path, case):
    max_value, slope, thr = RELU[case]
    relu = layer("ReLU", max_value=max_value, negative_slope=slope, threshold=thr)
    check(tmp_path, model([4, 6], relu))


@pytest.mark.parametrize(
    "entry, words",
    [
        (layer("ReLU", threshold=-0.5), "threshold"),
        (layer("ReLU", max_value=-1), "max_value"),
        (layer("LeakyReLU", negative_slope=-0.1), "negative_slope"),
        (layer("Reshape", target_shape=[-1, -1]), "at most once"),
        (layer("Reshape", target_shape=[5, 5]), "cannot reshape"),
        (layer("Permute", dims=[1, 1]), "permutation"),
        (layer("Softmax", axis=3), "out of range"),
    ],
    ids=["relu_neg_threshold", "relu_neg_max", "leaky_neg", "reshape_two", "reshape_size",
         "permute_dup", "softmax_axis"],
)  # fmt: skip
def test_refused(tmp_path, entry, words):
    with pytest.raises(TdcError, match=words):
        compile_file(write_model(tmp_path, model([4, 6], entry)))


# -- the ``act`` op's two backend forms against keras.activations, on a wide input range --


def _act_graph(kind: str, params: dict) -> Graph:
    g = Graph("act")
    x = g.add_input("x", ("N", 7, 9))
    node = Node("act", [x], [], {"kind": kind, **params}, layer="a", label=kind)
    node.outputs.append(Value(g.fresh("a"), x.shape))
    g.add_node(node)
    g.outputs, g.output_names = [node.output], ["y"]
    return g


DIRECT = {
    **{a: (a, {}, {}) for a in ACTIVATIONS},
    "gelu_approximate": ("gelu", {"approximate": True}, {"approximate": True}),
    "gelu_exact": ("gelu", {"approximate": False}, {"approximate": False}),
    "elu_alpha": ("elu", {"alpha": 0.4}, {"alpha": 0.4}),
    "leaky_relu_slope": ("leaky_relu", {"negative_slope": 0.05}, {"negative_slope": 0.05}),
    "softmax_axis1": ("softmax", {"axis": 1}, {"axis": 1}),
    "log_softmax_axis1": ("log_softmax", {"axis": 1}, {"axis": 1}),
}


@pytest.mark.parametrize("case", sorted(DIRECT))
def test_act_forms(case):
    kind, params, kwargs = DIRECT[case]
    keras = import_keras()
    x = np.linspace(-7, 7, 2 * 7 * 9, dtype=np.float32).reshape(2, 7, 9)
    want = np.asarray(keras.activations.get(kind)(x, **kwargs))
    graph = _act_graph(kind, params)
    proto = to_onnx(graph)
    onnx_check(proto)
    got_onnx = onnx_run(proto, {"x": x})["y"]
    got_np = load_module(*to_numpy(graph, "act")).predict(x)
    for got in (got_onnx, got_np):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)
