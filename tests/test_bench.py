"""``tdc bench`` and benchmarks/run.py run to completion (functional only: no timing checks)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from cli_util import tdc

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "inputs": {"x": {"shape": [None, 4], "dtype": "float32"}},
    "layers": [
        {"name": "rnn", "type": "GRU", "units": 3},
        {"name": "out", "type": "Dense", "units": 2},
    ],
}


def test_bench_prints_a_row_per_backend(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    code, out, err = tdc("bench", path, "--batch", "2", "--time", "3", "--repeats", "2")
    assert code == 0, err
    for label in ("tdc-onnx", "tdc-numpy", "keras-jax"):
        assert any(line.startswith(label) for line in out.splitlines()), out
    assert "compile" in out and "GFLOP/s" in out and "MFLOP per batch" in out


def test_keras_onnx_row_says_why_when_it_cannot_run(tmp_path):
    """Without Keras's exporter (or when its model fails) the row explains instead of timing."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    code, out, err = tdc("bench", path, "--repeats", "1", "--backend", "onnx,keras-onnx")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("keras-onnx"))
    assert "n/a (" in row or float(row.split()[1]) > 0, row  # a reason, or a median in ms


def test_bench_rejects_unknown_backend(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    code, _, err = tdc("bench", path, "--backend", "onnx,tflite")
    assert code == 2
    assert "tflite" in err


def test_benchmark_suite_quick(tmp_path):
    """The --quick smoke run (about 30 s; the subprocess is killed after 120 s)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--no-chart"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "geometric mean" in proc.stdout
    assert "machine peak" in proc.stdout and "GF/s" in proc.stdout
    assert "Keras-ONNX" in proc.stdout or "k-onnx" in proc.stdout
    assert "%" in proc.stderr  # the progress bar
    assert "100-layer" in proc.stdout
    assert "tdc --help" in proc.stdout


def test_keras_export_route_choice(monkeypatch):
    """auto takes TensorFlow exactly when TensorFlow and tf2onnx are importable."""
    import importlib.util

    import pytest

    from compiler.keras.export import PYTHON_ENV, pick_route

    monkeypatch.delenv(PYTHON_ENV, raising=False)

    has_tf = all(importlib.util.find_spec(m) for m in ("tensorflow", "tf2onnx"))
    assert pick_route("auto") == ("tensorflow" if has_tf else "jax")
    assert pick_route("jax") == "jax" and pick_route("tensorflow") == "tensorflow"
    with pytest.raises(ValueError, match="auto, tensorflow, jax"):
        pick_route("torch")


def test_keras_export_names_the_missing_exporter(tmp_path, monkeypatch):
    """A route whose exporter is not installed is a row that says what to install."""
    import importlib.util

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "tf2onnx" else real(n, *a)
    )
    args = ("bench", path, "--repeats", "1", "--backend", "onnx,keras-onnx")
    code, out, err = tdc(*args, "--keras-export", "tensorflow")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("keras-onnx"))
    assert "n/a (Keras's ONNX export via tensorflow needs" in row and "tf2onnx" in row, row


def test_keras_export_child_reports_one_line(tmp_path):
    """The TensorFlow route's child process fails with one 'export failed:' line (here: a
    model file that does not compile), which the parent turns into the row's reason."""
    import json

    bad = tmp_path / "bad.yaml"
    bad.write_text("layers: [{name: d, type: Dense}]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "compiler.keras.export", str(bad), str(tmp_path / "o.onnx")]
        + [json.dumps([[2, 3, 4], "float32"])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("export failed: ")
    assert not (tmp_path / "o.onnx").exists()


def test_keras_export_via_tensorflow_matches_tdc(tmp_path):
    """Where TensorFlow is installed: Keras's tf2onnx export of the same model and weights
    computes what tdc's ONNX computes (so the benchmark compares like with like)."""
    import pytest

    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    from compiler.api import compile_file
    from compiler.backends.onnx.session import session
    from compiler.keras.export import export
    from compiler.tools.verify import seeded_inputs

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    compiled = compile_file(path)
    xs = seeded_inputs(compiled.spec, 2, 5)
    theirs = session(export(path, compiled, xs, "tensorflow"), "cpu", 1)
    ours = session(compiled.onnx(), "cpu", 1)
    a = ours.run(None, {"x": xs[0]})[0]
    b = theirs.run(None, {theirs.get_inputs()[0].name: xs[0]})[0]
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


def test_benchmark_sessions_do_not_spin(tmp_path, monkeypatch):
    """The benchmark's onnxruntime sessions leave the CPU to the backend timed next (idle
    workers do not busy-wait); a session opened for ``tdc run`` keeps onnxruntime's default."""
    import compiler.backends.onnx.session as backend
    from compiler.api import compile_file
    from compiler.tools.bench_runners import onnx_runner
    from compiler.tools.verify import seeded_inputs

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    compiled = compile_file(path)
    proto = compiled.onnx()
    key = "session.intra_op.allow_spinning"
    opened = []
    real = backend.session

    def spy(*args, **kwargs):
        sess = real(*args, **kwargs)
        opened.append(sess.get_session_options())
        return sess

    monkeypatch.setattr(backend, "session", spy)
    onnx_runner(proto, seeded_inputs(compiled.spec, 2, 3), 0)()
    assert [o.get_session_config_entry(key) for o in opened] == ["0"]
    default = real(proto, "cpu").get_session_options()
    try:
        assert default.get_session_config_entry(key) != "0"
    except RuntimeError:  # no entry at all: onnxruntime's default (spinning)
        pass


def test_keras_export_in_another_interpreter(monkeypatch):
    """TDC_EXPORT_PYTHON: the TensorFlow route is available when that interpreter imports
    TensorFlow and tf2onnx; one that cannot run counts as missing both."""
    import importlib.util

    from compiler.keras import export

    monkeypatch.setenv(export.PYTHON_ENV, sys.executable)
    here = [m for m in ("tensorflow", "tf2onnx") if importlib.util.find_spec(m) is None]
    assert export._missing("tensorflow") == here
    monkeypatch.setenv(export.PYTHON_ENV, "/nonexistent/python")
    assert export._missing("tensorflow") == ["tensorflow", "tf2onnx"]
    assert export.pick_route("auto") == "jax"


def test_backbones_quick(tmp_path):
    """benchmarks/backbones.py --quick: MobileNetV2 32x32 imported and timed on every
    backend (Keras-ONNX timed or n/a with its reason)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "backbones.py"), "--quick"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("MobileNetV2"))
    cells = row.split()
    assert float(cells[2]) > 0 and float(cells[4]) > 0 and float(cells[5]) > 0, row
    assert "% peak" in proc.stdout and "GFLOP/s" in proc.stdout
