"""No text of a model runs: every template rendered with hostile strings in every slot.

The model's ``name:`` (any printable text), its file name (any character but ``/`` and
NUL), layer, input and output names at the limits of what the loader accepts, and a
Keras model's name through ``tdc import`` reach the generated module only through
``code_text``. Each module must parse, keep the strings as data (its docstring holds them
as written), import and run without the payloads (which aim at a marker file) running.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from cli_util import tdc
from compiler.api import compile_file, compile_spec
from compiler.backends.numpy import codegen as numpy_backend
from compiler.backends.numpy.codegen import templates_root
from compiler.backends.numpy.text import MAX_TEXT, UnescapedText, code_text
from compiler.frontend.loader import load_model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MARK = "PWNED"
#: printable model names (what the loader accepts) that break out of a naive docstring
NAMES = [
    f'x"""+open("{MARK}","w").name+"""',
    f"x'''+open('{MARK}','w').name+'''\\",
    '\\N{x}\\x\\u"\\',
    f"# \"\"\";open('{MARK}','w')#\u00e9 {{{{ x }}}} {{% if %}}",
]
#: file names: everything but '/' and NUL
FILES = [
    f'a"""\nopen(\'{MARK}\',\'w\')\n""".yaml',
    f"b'''\r\nopen('{MARK}','w')#\u2028\u2029\x85\x0b\x0c\x1c.yaml",
    'c\\\\"\\.yaml',
    'd\x1e\x1d""""\\n\u202e.yaml',
]
#: layer names at the loader's limits: 128 characters, '.', '-', keywords, dunders and
#: the module's own names
LONG = "L" + "a-b." * 31 + "xyz"


def lay(kind: str, name: str, **kw: object) -> dict:
    return {"name": name, "type": kind, **kw}


def td(inner: dict, name: str) -> dict:
    return {"name": name, "type": "TimeDistributed", "layer": inner}


CONV = {
    "inputs": {"in.put-1": {"shape": [None, 8, 8, 3]}},
    "layers": [
        lay(
            "ConvLSTM2D",
            "init_state",
            filters=3,
            kernel_size=3,
            padding="same",
            return_sequences=True,
        ),
        td({"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}, LONG),
        td({"type": "BatchNormalization"}, "b.n-1"),
        td({"type": "DepthwiseConv2D", "kernel_size": 3}, "__init__"),
        td({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3}, "Model"),
        td({"type": "MaxPooling2D", "pool_size": 2}, "load"),
        td({"type": "ZeroPadding2D", "padding": 1}, "_check"),
        td({"type": "Cropping2D", "cropping": 1}, "_main"),
        td({"type": "UpSampling2D", "size": 2}, "INPUTS"),
        td({"type": "Resizing", "height": 5, "width": 7}, "resize"),
        td({"type": "Rescaling", "scale": 0.5, "offset": 1.0}, "__file__"),
        td({"type": "GlobalAveragePooling2D"}, "np"),
        lay("PReLU", "import", shared_axes=[1]),
        lay("LayerNormalization", "None"),
        lay("Activation", "w", activation="gelu"),
        lay("Conv1D", "self", filters=3, kernel_size=2, padding="causal"),
        lay("Identity", "x"),
    ],
}
STATIC = {
    "inputs": {"__class__": {"shape": [4, 4, 4, 2]}},
    "layers": [
        lay("Conv3D", "c3", filters=2, kernel_size=2),
        lay("Conv3DTranspose", "sys", filters=2, kernel_size=2, strides=[1, 1, 2]),
        lay("ZeroPadding3D", "__builtins__", padding=1),
        lay("Cropping3D", "__name__", cropping=[1, 1, 2]),
        lay("UpSampling3D", "predict", size=[1, 2, 1]),
        lay("GroupNormalization", "gamma", groups=-1),
        lay("UnitNormalization", "beta", axis=[1, -1]),
        lay("Permute", "os.system", dims=[3, 2, 1, 4]),
        lay("Reshape", "_", target_shape=[-1]),
        lay("RepeatVector", "state", n=2),
        lay("Dropout", "__", rate=0.5),
    ],
}
SEQ = {
    "inputs": {"ids": {"shape": [5], "dtype": "int32"}, "f-2.x": {"shape": [5, 4]}},
    "layers": [
        lay("Embedding", "e", input_dim=10, output_dim=4, mask_zero=True, inputs="ids"),
        lay("Masking", "m.k", mask_value=0.0, inputs="f-2.x"),
        lay("Maximum", "m-x", inputs=["e", "m.k"]),
        lay("Concatenate", "c.t", axis=1, inputs=["e", "f-2.x"]),
        lay("Concatenate", "c-c", inputs=["e", "f-2.x"]),
        lay("LSTM", "STATES", units=4, return_sequences=True, inputs="m-x"),
        lay("GRU", "gru", units=4, return_sequences=True, inputs="STATES"),
        lay("SimpleRNN", "rnn", units=4, return_sequences=True, inputs="gru"),
        lay(
            "Bidirectional",
            "b.i",
            layer={"type": "LSTM", "units": 3, "return_sequences": True},
            inputs="c-c",
        ),
        lay("Add", "a-d", inputs=["rnn", "e"]),
        lay("GlobalAveragePooling1D", "gap", inputs="a-d"),
        lay("Dot", "d.t", axes=2, inputs=["b.i", "b.i"]),
        lay("Dense", "out.1", units=2, activation="softmax", inputs="gap"),
        lay("LSTM", "l-2", units=2, inputs="c.t"),
        # Keras operations: every template of keras_*.py
        lay("ops.not_equal", "o.ne", inputs=["ids", 0]),
        lay("ops.where", "o-w", inputs=["o.ne", 1.0, 0.0]),
        lay("ops.getitem", "__class__", inputs=["f-2.x"], key="[:, ::-1, None, 1:]"),
        lay("ops.squeeze", "o.sq", inputs=["__class__"], axis=2),
        lay("ops.expand_dims", "o.ex", inputs=["o-w"], axis=-1),
        lay("ops.cast", "o.ca", inputs=["o.ne"], dtype="int32"),
        lay("ops.cumsum", "o.cs", inputs=["o.ca"], axis=1),
        lay("ops.full_like", "o.fl", inputs=["o.sq", 0.5]),
        lay("ops.split", "o.sp", inputs=["f-2.x"], indices_or_sections=[1, 3], axis=-1),
        lay("ops.matmul", "o.mm", inputs=["o.sq", [[1.0], [2.0], [3.0]]]),
        lay("ops.einsum", "o.es", inputs=["btf,bsf->bts", "f-2.x", "f-2.x"]),
        lay("ops.arange", "o.ar", start=3),
        lay("ops.add", "o.ad", inputs=["o.fl", "o.ar"]),
        lay("ops.multiply", "o.mu", inputs=["o.mm", "o.ex"]),
        lay("MultiHeadAttention", "m.h-a", num_heads=2, key_dim=2, inputs="e", dropout=0.5),
        lay("Attention", "at.t", inputs=["e", "m.h-a"]),
        lay("AdditiveAttention", "ad.d", inputs=["at.t", "f-2.x"]),
        lay("MultiHeadAttention", "x.a", num_heads=1, key_dim=3, inputs=["ad.d", "f-2.x"]),
    ],
    "outputs": ["out.1", "d.t", "b.i", "l-2", "o.mu", "o.cs", "o.sp:2", "o.es", "o.ad", "x.a"],
}
STREAM = {
    "inputs": {"in.put-1": {"shape": [None, 3]}, "self": {"shape": [None, 3]}},
    "layers": [
        lay("Add", "a.b-c", inputs=["in.put-1", "self"]),
        lay("LSTM", "__init__", units=4, return_sequences=True),
        lay("GRU", "STATES", units=3, return_sequences=True),
        lay("SimpleRNN", "NOT_CAUSAL", units=2),
        lay("Dense", LONG, units=2),
        lay("ops.multiply", "ops.x-1", inputs=["a.b-c", [1.0, -2.0, 3.5]]),
        lay("ops.clip", "None.y", inputs=["ops.x-1", -1.0, 1.0]),
        lay("ops.sum", "__import__", inputs=["None.y"], axis=-1, keepdims=True),
        lay("MultiHeadAttention", "s.elf", num_heads=1, key_dim=2, use_causal_mask=True),
    ],
    "outputs": [LONG, "a.b-c", "__import__", "s.elf"],
}
MODELS = [CONV, STATIC, SEQ, STREAM]

RUN = """\
import sys
import numpy as np
import {mod}
m = {mod}.load()
rng = np.random.default_rng(0)
def arrays(table, time):
    out = []
    for shape, dtype in table.values():
        dims = [2] + [time if d is None else d for d in shape[1:]]
        draw = rng.integers(0, 5, dims) if np.issubdtype(dtype, np.integer) else rng.random(dims)
        out.append(draw.astype(dtype))
    return out
xs = arrays({mod}.INPUTS, 3)
m.predict(*xs)
m.predict(**dict(zip({mod}.INPUTS, xs)))  # by name, "self" among them
if hasattr({mod}, "STATES"):
    m.step(arrays({mod}.STEP_INPUTS, 3), m.init_state(2))
print("ran")
"""


def op_templates() -> set[str]:
    """Every op template, as ``template_path`` names it."""
    found = {f"ops/{p.name}" for p in (templates_root() / "ops").glob("*.py.j2")}
    assert found
    return found


def compiled_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, set]:
    """(model name, file name, module text, weights) of every model, optimised and not,
    and the op templates rendered on the way (their paths under ``templates/``)."""
    seen: set[str] = set()
    real = numpy_backend.template_path

    def spy(op: str) -> str:
        seen.add(real(op))
        return real(op)

    monkeypatch.setattr(numpy_backend, "template_path", spy)
    out = []
    for k, (model, name, fname) in enumerate(zip(MODELS, NAMES, FILES, strict=True)):
        folder = tmp_path / f"m{k}"
        folder.mkdir()
        path = folder / fname
        path.write_text(yaml.safe_dump({"name": name, **model}, sort_keys=False))
        for optimize in (True, False):
            text, weights = compile_spec(load_model(path), optimize).numpy_source()
            out.append((name, fname, text, weights))
    return out, seen


@pytest.mark.slow
def test_every_template_rendered_with_hostile_strings_runs_nothing(tmp_path, monkeypatch):
    modules, seen = compiled_modules(tmp_path, monkeypatch)
    assert op_templates() <= seen, f"op templates never rendered: {op_templates() - seen}"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for k, (name, fname, text, weights) in enumerate(modules):
        (run_dir / f"gen{k}.py").write_text(text, encoding="utf-8")
        np.savez(run_dir / f"gen{k}.npz", **weights)
        proc = subprocess.run(
            [sys.executable, "-c", RUN.format(mod=f"gen{k}")],
            cwd=run_dir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert not (run_dir / MARK).exists(), f"a payload ran in model {k}"
        assert proc.returncode == 0 and proc.stdout.strip() == "ran", proc.stderr
        assert len(text.splitlines()) == text.count("\n"), "a line break other than \\n"
        doc = ast.get_docstring(ast.parse(text), clean=False)
        assert doc.startswith(f"Model '{name}', compiled by tdc ") and f" {fname}." in doc


def test_modules_fit_100_columns_and_lint_clean(tmp_path, monkeypatch):
    """pycodestyle (errors and warnings, E501 at 100 columns included) and pyflakes, run by
    ruff on the examples' modules and on modules using every op template, their names at
    the loader's limits."""
    modules, seen = compiled_modules(tmp_path, monkeypatch)
    assert op_templates() <= seen
    texts = [text for *_, text, _ in modules]
    texts += [compile_file(p).numpy_source()[0] for p in sorted(EXAMPLES.glob("*.yaml"))]
    files = []
    for k, text in enumerate(texts):
        files.append(tmp_path / f"lint{k}.py")
        files[-1].write_text(text, encoding="utf-8")
    ruff = Path(sys.executable).parent / "ruff"
    select = ["--select", "E,W,F", "--line-length", "100", "--output-format", "concise"]
    cmd = [str(ruff), "check", "--no-cache", "--isolated", *select, *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        'a"""b',
        "a'''b\\",
        "\\N{x}\\x",
        "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\t",
        "\u202e\u200b",
        "x" * 500,
    ],
)
def test_code_text_is_safe_in_every_place(text):
    literal = code_text(text)
    assert ast.literal_eval(literal) == text and len(literal.splitlines()) == 1
    comment = code_text(text, "comment")
    assert len(comment.splitlines()) == 1 and "\x00" not in comment
    assert len(comment) <= 6 * MAX_TEXT and all(c.isprintable() for c in comment)
    module = f'"""{code_text(text, "docstring")}"""\n# {comment}\nx = {literal}\n'
    tree = ast.parse(module)
    assert len(tree.body) == 2  # the docstring and x: the comment stayed a comment
    doc = ast.get_docstring(tree, clean=False)
    assert doc == text if len(text) <= MAX_TEXT else doc.endswith("...")


def test_raw_text_in_a_template_fails_loudly():
    env = numpy_backend._env()
    template = env.from_string("x = {{ v }}  # {{ c }}\n")
    with pytest.raises(UnescapedText):
        template.render(v="1", c="a\nimport os")
    with pytest.raises(UnescapedText):
        template.render(v="'a' + __import__('os').name", c="")
    text = template.render(v=code_text("a'\n\""), c=code_text("b\nc", "comment"))
    assert ast.literal_eval(ast.parse(text).body[0].value) == "a'\n\""


HOSTILE = "inputs:\n  x: {shape: [null, 3]}\nlayers:\n  - {name: l, type: LSTM, units: 2}\n"


COMMANDS = {
    "run": ("run", "--backend", "numpy", "-i", "x.npy", "-o", "y.npy"),
    "verify": ("verify", "--backend", "numpy"),
    "verify-streaming": ("verify", "--streaming", "--backend", "numpy"),
    "bench": ("bench", "--repeats", "1", "--warmup", "0", "--backend", "numpy"),
    "compile-import": ("compile", "--target", "numpy", "-o", "gen.py"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.slow
def test_cli_commands_run_nothing(tmp_path, monkeypatch, command):
    """run, verify, bench and the compiled module's import, with the name as a payload."""
    monkeypatch.chdir(tmp_path)
    model = tmp_path / FILES[0]
    model.write_text(f"name: {yaml.safe_dump(NAMES[0]).splitlines()[0]}\n" + HOSTILE)
    np.save(tmp_path / "x.npy", np.ones((2, 4, 3), np.float32))
    cmd, *rest = COMMANDS[command]
    code, _, err = tdc(cmd, model, *rest)
    assert not (tmp_path / MARK).exists(), f"tdc {cmd} ran the payload"
    assert code == 0, err
    if command == "compile-import":
        script = "import gen, numpy as np; print(gen.load().predict(np.load('x.npy')).shape)"
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert not (tmp_path / MARK).exists(), "importing the module ran the payload"
        assert proc.stdout.strip() == "(2, 2)", proc.stderr


@pytest.mark.slow
def test_import_of_a_hostile_keras_model_name_runs_nothing(tmp_path, monkeypatch):
    """Keras refuses only '/' in a name: a payload name imports (the model file keeps it
    as data); a name that is not printable is refused, and nothing is written."""
    from compiler.keras.oracle import import_keras

    keras = import_keras()
    monkeypatch.chdir(tmp_path)
    for k, name in enumerate([NAMES[0], NAMES[1], "a\n\"\"\"\nopen('PWNED','w')"]):
        x = keras.Input((None, 3), name="x")
        model = keras.Model(x, keras.layers.LSTM(2, name="l")(x), name=name)
        model.save(tmp_path / f"k{k}.keras")
        code, _, err = tdc("import", tmp_path / f"k{k}.keras", "-o", tmp_path / f"imp{k}.yaml")
        if not name.isprintable():
            assert (
                code == 2 and "bad model name" in err and not (tmp_path / f"imp{k}.yaml").exists()
            )
            continue
        assert code == 0, err
        assert yaml.safe_load((tmp_path / f"imp{k}.yaml").read_text())["name"] == name
        assert tdc("compile", f"imp{k}.yaml", "--target", "numpy", "-o", f"gen{k}.py")[0] == 0
        proc = subprocess.run([sys.executable, "-c", f"import gen{k}; gen{k}.load()"])
        assert not (tmp_path / MARK).exists(), "the imported model's name ran"
        assert proc.returncode == 0
