"""The generated NumPy module's layout and naming: sections two blank lines apart, values
named after their layers, functions that take their arguments by name and their weights
prepared once, folded layers named in comments, one template for the convolutions."""

import ast
import re
from functools import cache
from pathlib import Path

import pytest
from hostile_models import compiled_modules
from module_ast import RNN_SUFFIXES, layer, op_calls, source

from oracle import model, td

LAYOUTS = {  # with and without the step section, with and without activation helpers
    "causal": model([None, 4], td(layer("Dense", units=3)), layer("GRU", units=2)),
    "not-causal": model([None, 4], layer("Bidirectional", layer=layer("LSTM", units=2))),
    "helpers": model([6, 4], layer("Dense", units=3, activation="softmax"), layer("PReLU")),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(LAYOUTS))
def test_sections_are_two_blank_lines_apart(tmp_path, name):
    """The module's sections and functions are separated by exactly two blank lines."""
    _, (text, _) = source(tmp_path, LAYOUTS[name])
    assert "\n\n\n\n" not in text
    assert text.count("\n\n\n# ---") == text.count("# ---")


VIDEO = Path(__file__).resolve().parents[1] / "examples" / "video_classifier.yaml"


def every_template_modules(tmp_path, monkeypatch):
    """The texts of modules that use every op template (names at the loader's limits)."""
    return [text for *_, text, _ in compiled_modules(tmp_path, monkeypatch)[0]]


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
