"""Broken and hostile input, table-driven: every row ends in exit 2 with one located message.

Each row is a model file (plus, optionally, a weights file or an input array) and a command.
The run must exit 2 with a single line on stderr naming the file, the line, the layer and
what is accepted; no traceback, no "internal error", no output file (nor a temporary one)
left behind, and nothing executed: rows that try to run code aim at a marker file that
must not exist afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hostile_data_rows import DATA_ROWS
from hostile_rows import FILE_ROWS, GOOD, Row

from cli_util import tdc
from compiler.frontend.arrays import write_npz

ROWS: dict[str, Row] = {**FILE_ROWS, **DATA_ROWS}


def run_row(tmp_path: Path, row: Row) -> tuple[int, str, Path, Path]:
    marker = tmp_path / "MARKER"
    model = tmp_path / "m.yaml"
    if isinstance(row.yaml, bytes):
        model.write_bytes(row.yaml)
    else:
        model.write_text(row.yaml.replace("{MARK}", str(marker)), encoding="utf-8")
    if row.weights is not None:
        (tmp_path / "w.npz").write_bytes(row.weights)
    if row.input is not None:
        (tmp_path / "in.npy").write_bytes(row.input)
    out = tmp_path / "out" / {"numpy": "o.py", "run": "o.npy"}.get(row.cmd, "o.onnx")
    args = {
        "onnx": ["compile", model, "--target", "onnx", "-o", out],
        "numpy": ["compile", model, "--target", "numpy", "-o", out],
        "run": ["run", model, "--backend", "numpy", "-i", tmp_path / "in.npy", "-o", out],
        "verify": ["verify", model],
        "inspect": ["inspect", model],
    }[row.cmd]
    code, _, err = tdc(*args)
    return code, err, out, marker


@pytest.mark.parametrize("name", sorted(ROWS))
def test_hostile(tmp_path, name):
    row = ROWS[name]
    before = set(tmp_path.iterdir())
    code, err, out, marker = run_row(tmp_path, row)
    assert code == 2, err
    assert err.startswith("tdc: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert str(tmp_path / row.blame) in err, err
    if row.line is not None:
        assert f"{row.blame}, line {row.line}" in err, err
    if row.layer is not None:
        assert f"layer '{row.layer}'" in err, err
    for needle in row.needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert len(err) < 2000, "the message must stay short"
    assert not marker.exists(), "a payload ran"
    assert not out.exists() and not out.with_suffix(".npz").exists()
    written = set(tmp_path.iterdir()) - before
    assert {p.name for p in written} <= {"m.yaml", "w.npz", "in.npy"}, written


def test_every_row_is_hostile_in_all_three_compile_paths(tmp_path):
    """Model-file rows fail the same way for ONNX, NumPy and inspect."""
    for name in ("cycle", "billion_laughs", "kernel_1e9", "python_object_apply", "td_rank_2"):
        row = ROWS[name]
        for cmd in ("onnx", "numpy", "inspect"):
            sub = tmp_path / f"{name}-{cmd}"
            sub.mkdir()
            variant = Row(row.yaml, row.needles, row.line, row.layer, cmd)
            code, err, out, marker = run_row(sub, variant)
            assert code == 2 and "Traceback" not in err and not out.exists(), (name, cmd, err)
            assert not marker.exists()


def _tdc_executable() -> list[str]:
    exe = Path(sys.executable).with_name("tdc")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "compiler.tools.cli"]


@pytest.mark.parametrize(
    "name", ["python_object_apply", "deep_nesting", "weights_pickled", "input_huge_header"]
)
@pytest.mark.slow
def test_real_process_prints_no_traceback(tmp_path, name):
    """The installed ``tdc`` in its own process: exit 2, one line on stderr, no traceback."""
    row = ROWS[name]
    run_row(tmp_path, row)  # writes the files (and checks nothing)
    model, out = tmp_path / "m.yaml", tmp_path / "out" / "o.npy"
    args = ["compile", str(model), "--target", "onnx", "-o", str(out)]
    if row.cmd == "run":
        args = ["run", str(model), "--backend", "numpy", "-i", str(tmp_path / "in.npy")]
        args += ["-o", str(out)]
    proc = subprocess.run(
        _tdc_executable() + args, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists() and not (tmp_path / "MARKER").exists()


ODD_NAMES = """\
inputs:
  in.put-1: {shape: [null, 6]}
  __init__: {shape: [null, 6]}
layers:
  - {name: a.b-c, type: Dense, units: 4, inputs: in.put-1}
  - {name: a_b_c, type: Dense, units: 4, inputs: __init__}
  - {name: import, type: Add, inputs: [a.b-c, a_b_c]}
  - {name: __class__, type: LSTM, units: 3, return_sequences: true}
  - {name: None, type: Dense, units: 2}
  - {name: os.system, type: Dense, units: 2, inputs: __class__}
  - {name: np, type: Concatenate, inputs: [None, os.system]}
outputs: [np, a.b-c]
"""


def test_odd_names_are_safe_identifiers_and_onnx_names(tmp_path):
    """Every character a name may hold ('.', '-', '_', keywords, dunders, clashes after
    sanitising) gives a module that imports, runs and executes nothing else, and an ONNX
    model that passes the full checker with the names as written."""
    import onnx

    model = tmp_path / "odd.yaml"
    model.write_text(ODD_NAMES)
    assert tdc("compile", model, "--target", "numpy", "-o", tmp_path / "gen.py")[0] == 0
    assert tdc("compile", model, "--target", "onnx", "-o", tmp_path / "gen.onnx")[0] == 0
    proto = onnx.load(tmp_path / "gen.onnx")
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["in.put-1", "__init__"]
    assert [o.name for o in proto.graph.output] == ["np", "a.b-c"]
    script = (
        "import sys, numpy as np; sys.modules['os'].system = None\n"
        "import gen\n"
        "m = gen.load(); x = np.ones((2, 3, 6), np.float32)\n"
        "a = m.predict(x, x); b = m.predict(**{'in.put-1': x, '__init__': x})\n"
        "print(sorted(a), a['np'].shape, float(abs(a['np'] - b['np']).max()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['a.b-c', 'np'] (2, 3, 4) 0.0"


def test_accepted_oddities(tmp_path):
    """What is deliberately accepted: integer and float64 weights (converted to float32, as
    Keras's set_weights does), NaN in run inputs (data, passed on as Keras does), an output
    folder that does not exist yet (created)."""
    arrays = {"d1/kernel": np.ones((6, 4), np.int64), "d1/bias": np.zeros(4)}
    arrays |= {"d2/kernel": np.ones((4, 3), np.float16), "d2/bias": np.zeros(3, np.int32)}
    write_npz(tmp_path / "w.npz", arrays)
    model = tmp_path / "m.yaml"
    model.write_text(GOOD + "weights: w.npz\n")
    np.save(tmp_path / "x.npy", np.full((1, 2, 6), np.nan, np.float32))
    out = tmp_path / "new" / "dir" / "y.npy"
    code, _, err = tdc("run", model, "--backend", "numpy", "-i", tmp_path / "x.npy", "-o", out)
    assert code == 0, err
    assert np.isnan(np.load(out)).all()
    np.save(tmp_path / "x.npy", np.ones((1, 2, 6)))
    assert tdc("run", model, "--backend", "numpy", "-i", tmp_path / "x.npy", "-o", out)[0] == 0
    np.testing.assert_allclose(np.load(out), np.full((1, 2, 3), 24.0))


def test_output_under_a_file_is_refused(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text(GOOD)
    (tmp_path / "plain").write_text("x")
    for target, name in (("onnx", "o.onnx"), ("numpy", "o.py")):
        code, _, err = tdc("compile", model, "--target", target, "-o", tmp_path / "plain" / name)
        assert code == 2 and "is not a folder" in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml", "plain"]
