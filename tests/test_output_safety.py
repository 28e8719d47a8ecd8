"""Outputs never destroy the user's files: no command overwrites one of its own inputs, a
device or FIFO is written through (never replaced), an existing file keeps its permissions,
a read-only one is refused, and SIGTERM / SIGHUP during a write leave no partial file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from cli_util import tdc
from compiler.api import compile_file
from compiler.frontend.arrays import write_npz

MODEL = """inputs:
  x: {shape: [null, 6]}
layers:
  - {name: d1, type: TimeDistributed, layer: {type: Dense, units: 4}}
  - {name: l, type: LSTM, units: 3}
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """m.yaml with its weights in m.npz (what ``tdc import`` writes), and x.npy."""
    (tmp_path / "m.yaml").write_text(MODEL)
    write_npz(tmp_path / "m.npz", compile_file(tmp_path / "m.yaml").weights)
    (tmp_path / "m.yaml").write_text(MODEL + "weights: m.npz\n")
    np.save(tmp_path / "x.npy", np.ones((2, 5, 6), np.float32))
    return tmp_path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


OVERWRITES = {
    # the natural workflow: tdc import m.keras -o m.yaml, then compile m.yaml -o m.py
    "numpy_npz_is_weights": (["compile", "m.yaml", "--target", "numpy", "-o", "m.py"], "weights"),
    "run_output_is_weights": (["run", "m.yaml", "-i", "x.npy", "-o", "m.npz"], "weights"),
    "run_output_is_input": (["run", "m.yaml", "-i", "x.npy", "-o", "x.npy"], "input file"),
    "run_named_input": (["run", "m.yaml", "-i", "x=x.npy", "-o", "./x.npy"], "input file"),
    "run_output_via_folder": (["run", "m.yaml", "-i", "x.npy", "-o", "a/../m.npz"], "weights"),
    "onnx_output_is_weights": (["compile", "m.yaml", "--target", "onnx", "-o", "m.npz"], ""),
    "onnx_output_is_model": (["compile", "m.yaml", "--target", "onnx", "-o", "m.yaml"], ""),
    "run_output_is_model": (["run", "m.yaml", "-i", "x.npy", "-o", "m.yaml"], ""),
}


@pytest.mark.parametrize("case", OVERWRITES)
def test_no_command_overwrites_its_inputs(work, monkeypatch, case):
    args, what = OVERWRITES[case]
    monkeypatch.chdir(work)
    before = _snapshot(work)
    code, _, err = tdc(*args)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert what in err
    assert _snapshot(work) == before


def test_model_file_named_like_the_output_is_refused(work, monkeypatch):
    """The suffix check cannot catch it: the model file itself is called m.onnx."""
    monkeypatch.chdir(work)
    (work / "m.yaml").rename(work / "m.onnx")
    before = _snapshot(work)
    code, _, err = tdc("compile", "m.onnx", "--target", "onnx", "-o", "m.onnx")
    assert code == 2 and "the model file" in err, err
    assert _snapshot(work) == before


def test_links_to_inputs_are_refused(work, monkeypatch):
    """A hard link and a symbolic link to the weights are the weights."""
    monkeypatch.chdir(work)
    os.link(work / "m.npz", work / "hard.npz")
    (work / "soft.npz").symlink_to(work / "m.npz")
    before = _snapshot(work)
    for stem in ("hard", "soft"):
        code, _, err = tdc("compile", "m.yaml", "--target", "numpy", "-o", f"{stem}.py")
        assert code == 2 and "weights file" in err, err
    assert _snapshot(work) == before


def test_import_never_overwrites_the_keras_model(tmp_path):
    src = tmp_path / "model.keras"
    src.write_bytes(b"PK\x03\x04 not really a model")
    (tmp_path / "out.yaml").symlink_to(src)
    code, _, err = tdc("import", src, "-o", tmp_path / "out.yaml")
    assert code == 2 and "the Keras model" in err, err
    assert src.read_bytes() == b"PK\x03\x04 not really a model"


def test_writes_through_a_device_without_replacing_it(work, monkeypatch):
    monkeypatch.chdir(work)
    before = os.stat("/dev/null")
    code, out, err = tdc("run", "m.yaml", "-i", "x.npy", "-o", "/dev/null")
    assert code == 0, err
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert after.st_ino == before.st_ino
    assert "wrote /dev/null" in err and out == ""  # a stream output keeps stdout clean
    code, _, err = tdc("compile", "m.yaml", "--target", "onnx", "-o", "/dev/null")
    assert code == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode), err


def test_writes_through_a_fifo(work, monkeypatch):
    monkeypatch.chdir(work)
    fifo = work / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, err = tdc("run", "m.yaml", "-i", "x.npy", "-o", str(fifo))
    reader.join(timeout=60)
    assert code == 0, err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0][:6] == b"\x93NUMPY" and len(got[0]) > 100


def test_existing_output_keeps_its_permissions_and_links(work, monkeypatch):
    monkeypatch.chdir(work)
    (work / "y.npy").write_bytes(b"old")
    os.chmod(work / "y.npy", 0o640)
    (work / "link.npy").symlink_to(work / "y.npy")
    code, _, err = tdc("run", "m.yaml", "-i", "x.npy", "-o", "link.npy")
    assert code == 0, err
    assert (work / "link.npy").is_symlink()
    assert stat.S_IMODE(os.stat(work / "y.npy").st_mode) == 0o640
    assert np.load(work / "y.npy").shape == (2, 3)


def test_read_only_output_is_refused(work, monkeypatch):
    monkeypatch.chdir(work)
    (work / "y.npy").write_bytes(b"keep")
    os.chmod(work / "y.npy", 0o444)
    code, _, err = tdc("run", "m.yaml", "-i", "x.npy", "-o", "y.npy")
    assert code == 2 and "read-only" in err, err
    assert (work / "y.npy").read_bytes() == b"keep"


def test_folder_outputs_are_refused(work, monkeypatch):
    monkeypatch.chdir(work)
    before = sorted(p.name for p in work.iterdir())
    for out in ("newdir/", ".", "", " "):
        code, _, err = tdc("run", "m.yaml", "-i", "x.npy", "-o", out)
        assert code == 2 and "internal error" not in err and err.count("\n") == 1, (out, err)
    assert sorted(p.name for p in work.iterdir()) == before


@pytest.mark.parametrize(
    "args,needle",
    [
        (["compile", "m.yaml", "--target", "onnx", "-o", "a.txt"], "NAME.onnx"),
        (["compile", "m.yaml", "--target", "numpy", "-o", "a.txt"], "NAME.py"),
        # a module's weights would go to /dev/null.npz: a device is no place for a module
        (["compile", "m.yaml", "--target", "numpy", "-o", "/dev/null"], "NAME.py"),
        (["run", "m.yaml", "-i", "x.npy", "-o", "o.txt"], "NAME.npy or NAME.npz"),
        (["run", "m.yaml", "-i", "x=", "-o", "o.npy"], "no file after 'x='"),
    ],
)
def test_outputs_under_another_format_are_refused(work, monkeypatch, args, needle):
    monkeypatch.chdir(work)
    before = sorted(p.name for p in work.iterdir())
    code, _, err = tdc(*args)
    assert code == 2 and needle in err, err
    assert sorted(p.name for p in work.iterdir()) == before


SIGNAL_SCRIPT = """
import os, signal, sys
from pathlib import Path
from compiler.tools.cli import main
import compiler.frontend.arrays as io

def interrupted(path, arr):  # the signal arrives halfway through writing the array
    path.write_bytes(b"partial")
    os.kill(os.getpid(), signal.{sig})
    path.write_bytes(b"more")
io._save_npy = interrupted
main(["run", "m.yaml", "-i", "x.npy", "-o", "y.npy"])
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
@pytest.mark.slow
def test_signal_during_write_leaves_no_partial_file(work, sig):
    before = sorted(p.name for p in work.iterdir())
    script = textwrap.dedent(SIGNAL_SCRIPT).replace("{sig}", sig)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 128 + getattr(signal, sig), proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in work.iterdir()) == before


@pytest.mark.slow
def test_dev_stdout_redirected_to_a_file_is_written_through(work):
    """``-o /dev/stdout > y.npy`` fills y.npy itself (same inode), with the note on stderr."""
    target = work / "y.npy"
    target.write_bytes(b"")
    inode = os.stat(target).st_ino
    exe = Path(sys.executable).parent / "tdc"
    with open(target, "wb") as out:
        proc = subprocess.run(
            [str(exe), "run", "m.yaml", "-i", "x.npy", "-o", "/dev/stdout"],
            cwd=work,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr
    assert os.stat(target).st_ino == inode and "wrote /dev/stdout" in proc.stderr
    assert np.load(target).shape == (2, 3)
    assert not any(p.name.startswith(".") for p in work.iterdir())
