"""The generated NumPy module validates like the command line, as a library and as a script.

As a library, a wrong input (complex, bool, object, masked, out of range) or a wrong
``step`` state is a ValueError naming it; as ``python out.py IN.npy OUT``, bad arguments
give one line on stderr and exit 2, and the output never replaces the module, its weights
or an input, and is written whole or not at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_util import tdc

SEQ = """\
inputs:
  x: {shape: [null, 3]}
layers:
  - {name: l, type: LSTM, units: 4, return_sequences: true}
  - {name: g, type: GRU, units: 2}
"""
IDS = """\
inputs:
  ids: {shape: [null], dtype: int32}
layers:
  - {name: e, type: Embedding, input_dim: 5, output_dim: 3}
"""
IDS_TD = """\
inputs:
  ids: {shape: [null, 2], dtype: int64}
layers:
  - {name: e, type: TimeDistributed, layer: {type: Embedding, input_dim: 7, output_dim: 3}}
"""
#: outputs named like np.savez's own keywords
TWO = """\
inputs:
  x: {shape: [3]}
layers:
  - {name: file, type: Dense, units: 2, inputs: x}
  - {name: allow_pickle, type: Dense, units: 1, inputs: x}
outputs: [file, allow_pickle]
"""


def compiled(tmp_path: Path, text: str, name: str = "gen") -> Path:
    model = tmp_path / f"{name}_model.yaml"
    model.write_text(text)
    code, _, err = tdc("compile", model, "--target", "numpy", "-o", tmp_path / f"{name}.py")
    assert code == 0, err
    return tmp_path / f"{name}.py"


def library(tmp_path: Path, text: str):
    """The compiled module, imported, and its model."""
    import importlib.util

    path = compiled(tmp_path, text)
    spec = importlib.util.spec_from_file_location(f"gen_{tmp_path.name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.load()


BAD_FLOATS = {
    "complex": np.ones((2, 4, 3), np.complex64),
    "bool": np.ones((2, 4, 3), bool),
    "object": np.ones((2, 4, 3)).astype(object),
    "masked": np.ma.masked_array(np.ones((2, 4, 3)), mask=False),
    "None": None,
    "text": "abc",
    "ragged": [[1.0], [2.0, 3.0]],
    "beyond float32": np.full((2, 4, 3), 1e300),
}


@pytest.mark.parametrize("kind", sorted(BAD_FLOATS))
def test_bad_inputs_are_value_errors_naming_the_input(tmp_path, kind):
    _, m = library(tmp_path, SEQ)
    with pytest.raises(ValueError, match="input 'x'"):
        m.predict(BAD_FLOATS[kind])


def test_real_numbers_of_any_kind_are_taken(tmp_path):
    _, m = library(tmp_path, SEQ)
    want = m.predict(np.ones((2, 4, 3), np.float32))
    for dtype in (np.int8, np.uint16, np.int64, np.float16, np.float64):
        np.testing.assert_array_equal(m.predict(np.ones((2, 4, 3), dtype)), want)
    np.testing.assert_array_equal(m.predict([[[1, 1, 1]] * 4] * 2), want)


@pytest.mark.parametrize(
    ("text", "ids"),
    [(IDS, np.array([[0, 4, 2]])), (IDS_TD, np.array([[[0, 6], [2, 1]]]))],
    ids=["direct", "td"],
)
def test_ids_take_integers_below_the_embedding_rows(tmp_path, text, ids):
    _, m = library(tmp_path, text)
    for dtype in (np.int32, np.int64, np.uint8):
        assert m.predict(ids.astype(dtype)).shape == (*ids.shape, 3)
    bad = [ids.astype(np.float32), ids.astype(bool), ids + 0j, ids + 2**40, ids + 1, ids - 1]
    for x in bad:
        with pytest.raises(ValueError, match="input 'ids'"):
            m.predict(x)


BAD_STATES = {
    "None": (lambda good: None, "expected a dict"),
    "missing": (lambda good: {"state_0": good["state_0"]}, "missing key 'state_1'"),
    "extra": (lambda good: {**good, "state_9": 0}, "unexpected key 'state_9'"),
    "value None": (
        lambda good: {**good, "state_1": None},
        r"state 'state_1': expected .*shape \(2, 4\), got None",
    ),
    "shape": (
        lambda good: {**good, "state_0": np.zeros((3, 4))},
        r"state 'state_0': expected shape \(2, 4\)",
    ),
    "complex": (
        lambda good: {**good, "state_2": np.zeros((2, 2), complex)},
        r"state 'state_2': .*shape \(2, 2\)",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_STATES))
def test_bad_step_states_are_value_errors_naming_the_key(tmp_path, kind):
    _, m = library(tmp_path, SEQ)
    bad, message = BAD_STATES[kind]
    good = m.init_state(2)
    with pytest.raises(ValueError, match=message):
        m.step(np.zeros((2, 3), np.float32), bad(good))
    y, state = m.step(np.zeros((2, 3), np.float32), good)
    assert y.shape == (2, 2) and sorted(state) == ["state_0", "state_1", "state_2"]


def script(folder: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "gen.py", *map(str, args)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_exit_2(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert all(w in proc.stderr for w in words), proc.stderr


@pytest.mark.slow
def test_script_bad_arguments_exit_2_in_one_line(tmp_path):
    compiled(tmp_path, SEQ)
    np.save(tmp_path / "x.npy", np.ones((2, 4, 3), np.float32))
    np.save(tmp_path / "pickled.npy", np.array([{}], object), allow_pickle=True)
    np.save(tmp_path / "complex.npy", np.ones((2, 4, 3), complex))
    np.save(tmp_path / "shape.npy", np.ones((2, 4, 5), np.float32))
    np.savez(tmp_path / "arch.npz", x=np.ones(3))
    (tmp_path / "empty.npy").write_bytes(b"")
    one_line_exit_2(script(tmp_path, "x.npy"), "usage")
    one_line_exit_2(script(tmp_path, "x.npy", "x.npy", "y.npy"), "usage")
    one_line_exit_2(script(tmp_path, "missing.npy", "y.npy"), "missing.npy")
    one_line_exit_2(script(tmp_path, "pickled.npy", "y.npy"), "pickled.npy")
    one_line_exit_2(script(tmp_path, "complex.npy", "y.npy"), "input 'x'", "complex")
    one_line_exit_2(script(tmp_path, "shape.npy", "y.npy"), "input 'x'", "shape")
    one_line_exit_2(script(tmp_path, "arch.npz", "y.npy"), "arch.npz")
    one_line_exit_2(script(tmp_path, "empty.npy", "y.npy"), "empty.npy")
    assert not (tmp_path / "y.npy").exists()
    assert script(tmp_path, "x.npy", "y.npy").returncode == 0
    assert np.load(tmp_path / "y.npy").shape == (2, 2)


def test_script_out_of_range_ids_exit_2(tmp_path):
    compiled(tmp_path, IDS)
    np.save(tmp_path / "ids.npy", np.array([[0, 5]], np.int32))
    one_line_exit_2(script(tmp_path, "ids.npy", "y.npy"), "input 'ids'", "[0, 5)")
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.slow
def test_script_never_overwrites_itself_its_weights_or_an_input(tmp_path):
    compiled(tmp_path, SEQ)
    np.save(tmp_path / "x.npy", np.ones((2, 4, 3), np.float32))
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path / "gen.npz", tmp_path / "sub" / "link.npz")
    os.link(tmp_path / "x.npy", tmp_path / "hard.npy")
    kept = {p: p.read_bytes() for p in (tmp_path / "gen.py", tmp_path / "gen.npz")}
    kept[tmp_path / "x.npy"] = (tmp_path / "x.npy").read_bytes()
    for target in ("gen.npz", "./sub/../gen.npz", "sub/link.npz", "gen.py", "x.npy", "hard.npy"):
        one_line_exit_2(script(tmp_path, "x.npy", target), "overwrite")
    assert all(p.read_bytes() == data for p, data in kept.items())
    proc = script(tmp_path, "hard.npy", "x.npy")
    one_line_exit_2(proc, "overwrite")


def test_script_writes_whole_or_nothing(tmp_path):
    compiled(tmp_path, SEQ)
    np.save(tmp_path / "x.npy", np.ones((2, 4, 3), np.float32))
    (tmp_path / "taken.npy").mkdir()
    one_line_exit_2(script(tmp_path, "x.npy", "taken.npy"), "taken.npy")
    one_line_exit_2(script(tmp_path, "x.npy", "no/such/dir/y.npy"), "y.npy")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert script(tmp_path, "x.npy", "y.npy").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "y.npy"])
    assert list((tmp_path / "taken.npy").iterdir()) == []


def test_script_npz_keeps_every_output_name(tmp_path):
    compiled(tmp_path, TWO)
    np.save(tmp_path / "x.npy", np.ones((2, 3), np.float32))
    one_line_exit_2(script(tmp_path, "x.npy", "y.npy"), "2 outputs", ".npz")
    proc = script(tmp_path, "x.npy", "y.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "y.npz") as z:
        assert sorted(z.files) == ["allow_pickle", "file"] and z["file"].shape == (2, 2)


def test_weights_are_prepared_once_when_the_model_is_built(tmp_path):
    """The ``*_weights`` functions run in ``load()``, once each; ``predict`` and ``step``
    only use what they made."""
    mod, _ = library(tmp_path, SEQ)
    makers = [name for name in vars(mod) if name.endswith("_weights") and name[0] != "_"]
    assert len(makers) == 2  # the LSTM's and the GRU's
    calls = []

    def counted(name, fn):
        return lambda *args: calls.append(name) or fn(*args)

    for name in makers:
        setattr(mod, name, counted(name, getattr(mod, name)))
    m = mod.load()
    assert sorted(calls) == sorted(makers)
    x = np.ones((2, 4, 3), np.float32)
    m.predict(x)
    m.step(x[:, 0], m.init_state(2))
    assert len(calls) == len(makers)
