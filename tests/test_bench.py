"""``tdc bench`` and benchmarks/run.py run to completion (functional only: no timing checks)."""

import subprocess
import sys
from pathlib import Path

import yaml

from cli_util import tdc

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
    assert "n/a (" in row or "x" in row.split()[-2], row


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
