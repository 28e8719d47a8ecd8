"""No text of a model runs: every template rendered with hostile strings in every slot.

The model's ``name:`` (any printable text), its file name (any character but ``/`` and
NUL), layer, input and output names at the limits of what the loader accepts, and a
Keras model's name through ``tdc import`` reach the generated module only through
``code_text``. Each module must parse, keep the strings as data (its docstring holds them
as written), import and run without the payloads (which aim at a marker file) running.
The hostile strings and the models that carry them are in ``hostile_models.py``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hostile_models import FILES, MARK, NAMES, compiled_modules

from cli_util import tdc
from compiler.api import compile_file
from compiler.backends.numpy import codegen as numpy_backend
from compiler.backends.numpy.codegen import templates_root
from compiler.backends.numpy.text import MAX_TEXT, UnescapedText, code_text

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

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
