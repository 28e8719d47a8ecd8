"""The generated NumPy module's form: vectorised convolutions and pooling, float32 values,
RNN input projections outside the time loop, no floating-point warnings on extreme inputs
(checked against live Keras); values named after their layers, functions that take their
arguments by name and their weights prepared once, folded layers named in comments."""

import ast
import re
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from compiler.backends.numpy.codegen import load_module
from compiler.frontend.params import ACTIVATIONS
from compiler.keras.oracle import keras_model, run_keras
from oracle import ATOL, RTOL, compile_with_random_weights, model, random_inputs, td

SLOW = pytest.mark.slow  # the Keras comparisons: left out of the fast tier
RNN_SUFFIXES = ("_lstm", "_gru", "_simplernn")


def layer(kind, **kw):
    return {"type": kind, **kw}


def op_functions(text):
    """The op functions ``Model.predict`` calls, by name."""
    return {fn.name: fn for fn, _ in op_calls(text, ("predict",))}


def loops(fn):
    kinds = (ast.For, ast.While, ast.comprehension)
    return [n for n in ast.walk(fn) if isinstance(n, kinds)]


def over_taps(fn, loop):
    """A loop over a window's taps (``np.ndindex`` of sizes fixed in the code, directly or
    through a name bound to it), as the depthwise convolution's one whole-tensor
    multiply-add per tap: not a loop over positions."""
    it = loop.iter
    if isinstance(it, ast.Name):
        bound = [
            a.value
            for a in ast.walk(fn)
            if isinstance(a, ast.Assign) and [getattr(t, "id", "") for t in a.targets] == [it.id]
        ]
        it = bound[0] if len(bound) == 1 else it
    sizes = [c for c in calls(it, "ndindex") if c.args]
    return bool(sizes) and all(isinstance(a, ast.Constant) for c in sizes for a in c.args)


def calls(node, name):
    """Calls of ``np.<name>`` anywhere under ``node``."""
    return [
        n
        for n in ast.walk(node)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == name
    ]


def source(tmp_path, spec):
    compiled = compile_with_random_weights(tmp_path, spec)
    return compiled, compiled.numpy_source()


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
        over_positions = [n for n in loops(fn) if not (isinstance(n, ast.For) and over_taps(fn, n))]
        assert not over_positions, f"{fname} loops in Python:\n{ast.unparse(fn)}"


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


LAYOUTS = {  # with and without the step section, with and without activation helpers
    "causal": model([None, 4], td(layer("Dense", units=3)), layer("GRU", units=2)),
    "not-causal": model([None, 4], layer("Bidirectional", layer=layer("LSTM", units=2))),
    "helpers": model([6, 4], layer("Dense", units=3, activation="softmax"), layer("PReLU")),
}


@SLOW
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_sections_are_two_blank_lines_apart(tmp_path, name):
    """The module's sections and functions are separated by exactly two blank lines."""
    _, (text, _) = source(tmp_path, LAYOUTS[name])
    assert "\n\n\n\n" not in text
    assert text.count("\n\n\n# ---") == text.count("# ---")


VIDEO = Path(__file__).resolve().parents[1] / "examples" / "video_classifier.yaml"


def every_template_modules(tmp_path, monkeypatch):
    """The texts of modules that use every op template (names at the loader's limits)."""
    from test_codegen_safety import compiled_modules

    return [text for *_, text, _ in compiled_modules(tmp_path, monkeypatch)[0]]


def op_calls(text, methods=("predict", "step")):
    """(function, call) for each op function call of ``Model``'s ``methods``."""
    tree = ast.parse(text)
    fns = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    (model_class,) = [c for c in tree.body if isinstance(c, ast.ClassDef) and c.name == "Model"]
    for method in model_class.body:
        for n in ast.walk(method) if getattr(method, "name", "") in methods else ():
            name = getattr(n.func, "id", "_") if isinstance(n, ast.Call) else "_"
            if name in fns and not name.startswith("_"):
                yield fns[name], n


def names_in(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


RNN_INPUTS = {("x",), ("x", "mask"), ("x", "h0"), ("x", "h0", "c0")}


def test_op_functions_take_named_arguments_and_prepared_weights(tmp_path, monkeypatch):
    """Parameters named for what they are (an RNN's: x, mask, h0, c0), never renamed in
    the body; nothing computed from the weights alone (done once, when the model is built)."""
    rnn_inputs = set()
    for text in every_template_modules(tmp_path, monkeypatch):
        for fn, call in op_calls(text):
            params = [a.arg for a in fn.args.args]
            n_in = sum(not isinstance(a, ast.Starred) for a in call.args)
            inputs, weights = params[:n_in], set(params[n_in:])
            numbered = [bool(re.fullmatch(r"x\d+", p)) for p in inputs]
            assert not any(numbered) or all(numbered), fn.name  # x0, x1: inputs of one kind
            if fn.name.endswith(RNN_SUFFIXES):
                rnn_inputs.add(tuple(inputs))
            for st in ast.walk(fn):
                if isinstance(st, ast.Assign) and isinstance(st.value, ast.Tuple):
                    assert {getattr(e, "id", "") for e in st.value.elts} - set(params), fn.name
            fixed = weights | {"np"}  # and the locals made from them and constants alone
            for st in fn.body:
                if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                    if names_in(st.value) <= fixed:
                        fixed.add(st.targets[0].id)
            for e in ast.walk(fn):
                if isinstance(e, (ast.Call, ast.BinOp, ast.UnaryOp, ast.Subscript)):
                    only = names_in(e) & weights and names_in(e) <= fixed
                    assert not only, f"{fn.name} computes {ast.unparse(e)} on every call"
    assert {("x", "mask"), ("x", "h0", "c0")} <= rnn_inputs <= RNN_INPUTS, rnn_inputs


@cache
def video():
    from compiler.api import compile_file

    return compile_file(VIDEO).numpy_source()[0]


def assigned(method):
    """The names ``method`` assigns, in order."""
    tuples = [t for n in method.body if isinstance(n, ast.Assign) for t in n.targets]
    return [e.id for t in tuples for e in (t.elts if isinstance(t, ast.Tuple) else [t])]


def test_values_are_named_after_their_layers_alike_in_predict_and_step():
    (model,) = [c for c in ast.parse(video()).body if getattr(c, "name", "") == "Model"]
    methods = {f.name: f for f in model.body if isinstance(f, ast.FunctionDef)}
    layers = ["frames", "conv1", "pool1", "conv2", "pool2", "flat", "lstm", "probs"]
    for method in ("predict", "step"):
        assert [v for v in assigned(methods[method]) if v in layers] == layers
    assert "        frames_folded = conv1_fold(frames)\n" in video()
    assert "        flat = flat_unfold(flat_folded, frames)\n" in video()
    assert "lstm, lstm_h, lstm_c = step_lstm_lstm(lstm_reshaped, lstm_h0, lstm_c0, " in video()


def test_folded_layers_are_named_in_comments():
    """bn2 and relu2, folded into conv2 by the passes: in conv2's function and at its calls
    in predict and step (conv1's own relu is no news)."""
    for note in ("# bn2 folded into conv2's kernel\n", "# relu2 fused into conv2\n"):
        assert video().count(note) == 3, note
    assert "conv1 fused" not in video()


def test_convolutions_share_one_template():
    from compiler.backends.numpy.codegen import template_path, templates_root

    assert {template_path(op) for op in ("Conv1D", "Conv2D", "Conv3D")} == {"ops/conv.py.j2"}
    assert not list((templates_root() / "ops").glob("Conv[123]D.py.j2"))
