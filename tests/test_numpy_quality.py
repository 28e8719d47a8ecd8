"""The generated NumPy module's numerics: vectorised convolutions and pooling, float32
values, RNN input projections outside the time loop, no floating-point warnings on extreme
inputs (checked against live Keras). Its layout and naming: test_numpy_layout.py."""

import ast
import warnings

import numpy as np
import pytest
from module_ast import RNN_SUFFIXES, layer, op_functions, source

from compiler.backends.numpy.codegen import load_module
from compiler.frontend.params import ACTIVATIONS
from compiler.keras.oracle import keras_model, run_keras
from oracle import ATOL, RTOL, compile_with_random_weights, model, random_inputs, td

SLOW = pytest.mark.slow  # the Keras comparisons: left out of the fast tier


def loops(fn):
    kinds = (ast.For, ast.While, ast.comprehension)
    return [n for n in ast.walk(fn) if isinstance(n, kinds)]


def calls(node, name):
    """Calls of ``np.<name>`` anywhere under ``node``."""
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == name
    ]


SPATIAL = {
    "conv1d": model([9, 3], layer("Conv1D", filters=4, kernel_size=3, padding="causal")),
    "conv1d-dilated": model([12, 3], layer("Conv1D", filters=4, kernel_size=3, dilation_rate=2)),
    "conv2d-same-strides": model(
        [8, 8, 3], layer("Conv2D", filters=4, kernel_size=3, strides=2, padding="same")
    ),
    "conv2d-groups": model([6, 6, 4], layer("Conv2D", filters=4, kernel_size=3, groups=2)),
    "conv3d": model([5, 5, 5, 2], layer("Conv3D", filters=3, kernel_size=2)),
    "depthwise": model([7, 7, 3], layer("DepthwiseConv2D", kernel_size=3, padding="same")),
    "separable": model([7, 7, 3], layer("SeparableConv2D", filters=4, kernel_size=3)),
    "conv2d-transpose": model([5, 5, 3], layer("Conv2DTranspose", filters=2, kernel_size=3)),
    "maxpool2d-same": model(
        [9, 9, 3], layer("MaxPooling2D", pool_size=3, strides=2, padding="same")
    ),
    "avgpool2d-same": model([7, 7, 3], layer("AveragePooling2D", pool_size=2, padding="same")),
    "maxpool1d-dynamic": model([None, 4], layer("MaxPooling1D", pool_size=3, strides=1)),
    "avgpool3d": model([4, 4, 4, 2], layer("AveragePooling3D", pool_size=2)),
    "td-conv-pool": model(
        [None, 8, 8, 3],
        td(layer("Conv2D", filters=4, kernel_size=3, padding="same", activation="relu")),
        td(layer("MaxPooling2D")),
    ),
}


@SLOW
@pytest.mark.parametrize("name", SPATIAL)
def test_no_python_loop_over_positions(tmp_path, name):
    _, (text, _) = source(tmp_path, SPATIAL[name])
    fns = op_functions(text)
    assert fns
    for fname, fn in fns.items():
        assert not loops(fn), f"{fname} loops in Python:\n{ast.unparse(fn)}"


def test_depthwise_is_one_einsum_and_relu6_clips_in_place(tmp_path):
    """The depthwise convolution is one einsum over the window view (no copy of the
    windows, no loop over taps); its fused ReLU6 overwrites the op's own output."""
    spec = model([7, 7, 3], layer("DepthwiseConv2D", kernel_size=3, activation="relu6"))
    _, (text, _) = source(tmp_path, spec)
    (fn,) = op_functions(text).values()
    assert len(calls(fn, "einsum")) == 1 and not loops(fn), ast.unparse(fn)
    (ret,) = [n for n in ast.walk(fn) if isinstance(n, ast.Return)]
    assert ast.unparse(ret.value) == "_relu6(y, out=y)", ast.unparse(fn)


RNNS = {
    "lstm": layer("LSTM", units=5, return_sequences=True),
    "lstm-hard-sigmoid": layer("LSTM", units=5, recurrent_activation="hard_sigmoid"),
    "gru": layer("GRU", units=5),
    "gru-reset-before": layer("GRU", units=5, reset_after=False, go_backwards=True),
    "simple-rnn": layer("SimpleRNN", units=5, return_sequences=True),
}


@SLOW
@pytest.mark.parametrize("name", RNNS)
def test_rnn_input_projection_outside_the_time_loop(tmp_path, name):
    _, (text, _) = source(tmp_path, model([None, 4], RNNS[name]))
    (fn,) = [f for n, f in op_functions(text).items() if n.endswith(RNN_SUFFIXES)]
    (loop,) = loops(fn)
    inside = {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)}
    assert not inside & {"x", "kernel"}, "the time loop reads the input or its kernel"
    gemms_inside = len(calls(loop, "matmul"))
    assert len(calls(fn, "matmul")) - gemms_inside == 1  # x @ kernel, once, for all steps
    # one recurrent GEMM per step (GRU reset_before: z/r, then the candidate's)
    assert gemms_inside == (2 if name == "gru-reset-before" else 1)


FLOAT32_MODELS = {
    "video": model(
        [None, 8, 8, 3],
        td(layer("Conv2D", filters=4, kernel_size=3, padding="same", activation="relu")),
        td(layer("AveragePooling2D", pool_size=3, strides=2, padding="same")),
        td(layer("Flatten")),
        layer("LSTM", units=6, return_sequences=True),
        layer("GRU", units=5, reset_after=False),
        layer("Dense", units=4, activation="softmax"),
    ),
    "tagger": model(
        [None],
        layer("Embedding", input_dim=10, output_dim=4, mask_zero=True),
        layer("Bidirectional", layer=layer("LSTM", units=3, return_sequences=True)),
        layer("LayerNormalization"),
        td(layer("Dense", units=3, activation="gelu")),
        dtype="int32",
    ),
    "activations": model(
        [5, 6],
        *[layer("Activation", activation=a) for a in ACTIVATIONS if a != "exponential"],
        layer("BatchNormalization"),
        layer("SimpleRNN", units=4, activation="relu"),
    ),
}


@SLOW
@pytest.mark.parametrize("name", FLOAT32_MODELS)
def test_every_float_intermediate_is_float32(tmp_path, name):
    compiled, (text, weights) = source(tmp_path, FLOAT32_MODELS[name])
    assert "float64" not in text
    module = load_module(text, weights)
    namespace = type(module).predict.__globals__
    seen = {}

    def recording(fname, fn):
        def wrapper(*args):
            out = fn(*args)
            for k, v in enumerate(out if isinstance(out, tuple) else (out,)):
                seen[f"{fname}[{k}]"] = np.asarray(v).dtype
            return out

        return wrapper

    for fname in op_functions(text):
        namespace[fname] = recording(fname, namespace[fname])
    module.predict(*random_inputs(compiled, 2, 5))
    assert {k.split("[")[0] for k in seen} == set(op_functions(text))
    floats = {k: d for k, d in seen.items() if np.issubdtype(d, np.floating)}
    assert floats and all(d == np.float32 for d in floats.values()), floats


EXTREME = np.array([-1e4, -500.0, -89.0, -30.0, -1.0, 0.0, 1.0, 30.0, 89.0, 500.0, 1e4])


def extreme_inputs(shape):
    """Every value of EXTREME at every position, cycling; float32 (N, *shape)."""
    size = int(np.prod(shape)) * 2
    return [np.resize(EXTREME, size).reshape(2, *shape).astype(np.float32)]


def assert_quiet_and_equal(tmp_path, spec, shape):
    """No NumPy warning or floating-point error (underflow to 0 aside) and Keras's values."""
    compiled = compile_with_random_weights(tmp_path, spec)
    xs = extreme_inputs(shape)
    ref = run_keras(keras_model(compiled.spec, compiled.weights), xs)
    module = load_module(*compiled.numpy_source())
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        got = module.predict(*xs)
    np.testing.assert_allclose(got, ref[0], atol=ATOL, rtol=RTOL)


@SLOW
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_extreme_inputs(tmp_path, act):
    assert_quiet_and_equal(tmp_path, model([11], layer("Activation", activation=act)), [11])


@SLOW
@pytest.mark.parametrize("act", ["sigmoid", "softplus", "elu", "selu", "gelu", "mish"])
def test_dense_activation_extreme_inputs(tmp_path, act):
    spec = model([4, 11], layer("Dense", units=5, activation=act))
    assert_quiet_and_equal(tmp_path, spec, [4, 11])


@SLOW
@pytest.mark.parametrize("name", ["lstm", "gru", "gru-reset-before", "simple-rnn"])
def test_rnn_extreme_inputs(tmp_path, name):
    assert_quiet_and_equal(tmp_path, model([11, 3], RNNS[name]), [11, 3])
