"""Reading generated NumPy modules, for the tests of their form (test_numpy_quality.py,
test_numpy_layout.py): a model row compiled to module text, the op functions that
``Model``'s methods call and the calls themselves, as ``ast`` nodes."""

import ast

from oracle import compile_with_random_weights

RNN_SUFFIXES = ("_lstm", "_gru", "_simplernn")


def layer(kind, **kw):
    return {"type": kind, **kw}


def op_functions(text):
    """The op functions ``Model.predict`` calls, by name."""
    return {fn.name: fn for fn, _ in op_calls(text, ("predict",))}


def source(tmp_path, spec):
    compiled = compile_with_random_weights(tmp_path, spec)
    return compiled, compiled.numpy_source()


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
