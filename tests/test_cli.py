"""The command line end to end: compile, run (three backends), verify, inspect."""

import ast
import subprocess
import sys

import numpy as np
import pytest

from cli_util import tdc
from compiler import __version__

MODEL = """\
name: tagger
inputs:
  x: {shape: [null, 6]}
layers:
  - {name: d1, type: TimeDistributed, layer: {type: Dense, units: 8, activation: relu}}
  - {name: drop, type: Dropout, rate: 0.3}
  - {name: d2, type: Dense, units: 3, activation: softmax}
"""


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "tagger.yaml"
    path.write_text(MODEL)
    return path


def test_version_and_help():
    code, out, _ = tdc("--version")
    assert code == 0 and __version__ in out
    for cmd in ("compile", "run", "verify", "inspect"):
        code, out, _ = tdc(cmd, "--help")
        assert code == 0 and "Examples:" in out and f"tdc {cmd}" in out


def test_compile_run_all_backends_agree(model_file, tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 9, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    outs = {}
    for backend in ("onnx", "numpy", "keras"):
        out = tmp_path / f"{backend}.npy"
        code, _, err = tdc(
            "run", model_file, "--backend", backend, "-i", tmp_path / "x.npy", "-o", out
        )
        assert code == 0, err
        outs[backend] = np.load(out)
    assert outs["keras"].shape == (3, 9, 3)
    for backend in ("onnx", "numpy"):
        np.testing.assert_allclose(outs[backend], outs["keras"], atol=1e-4, rtol=1e-3)


def test_numpy_module_standalone(model_file, tmp_path):
    code, _, err = tdc("compile", model_file, "--target", "numpy", "-o", tmp_path / "m.py")
    assert code == 0, err
    text = (tmp_path / "m.py").read_text()
    imports = {
        a.name for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Import) for a in n.names
    }
    assert imports <= {"numpy", "os", "sys", "zipfile"} and "from " not in text.replace(
        "from tagger", ""
    )
    x = np.random.default_rng(1).standard_normal((2, 4, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    subprocess.run([sys.executable, "m.py", "x.npy", "y.npy"], cwd=tmp_path, check=True)
    script = "import m, numpy as np; print(m.load().predict(np.load('x.npy')).shape)"
    shape = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout.strip()
    assert shape == "(2, 4, 3)"
    assert np.load(tmp_path / "y.npy").shape == (2, 4, 3)


def test_onnx_names_and_metadata(model_file, tmp_path):
    import onnx

    assert tdc("compile", model_file, "--target", "onnx", "-o", tmp_path / "m.onnx")[0] == 0
    m = onnx.load(tmp_path / "m.onnx")
    onnx.checker.check_model(m, full_check=True)
    assert [i.name for i in m.graph.input] == ["x"]
    assert [o.name for o in m.graph.output] == ["d2"]
    dims = m.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["N", "T", 6]
    assert m.producer_name == "tdc" and m.producer_version == __version__
    assert m.opset_import[0].version >= 17
    assert all(n.name.split("/")[0] in {"d1", "d2", "drop"} for n in m.graph.node)


def test_verify_passes(model_file):
    code, out, err = tdc("verify", model_file, "--time", "3", "--time", "11,2")
    assert code == 0, err
    assert out.count(" ok") == 6 and "all outputs match Keras" in out
    assert tdc("verify", model_file, "--time", "0")[0] == 2


def test_verify_names_first_diverging_layer(model_file, monkeypatch):
    """A NumPy backend that forgets fused activations must be caught, and the layer named."""
    import compiler.backends.numpy.codegen as backend
    import compiler.ops.activation_forms as forms
    import compiler.ops.activations as acts

    forget = lambda kind, params, var: var  # noqa: E731
    monkeypatch.setattr(backend, "numpy_call", forget)
    monkeypatch.setattr(acts, "numpy_call", forget)
    monkeypatch.setattr(forms, "numpy_call", forget)
    monkeypatch.setattr(forms, "_IN_PLACE", ())  # the in-place form goes through numpy_call
    code, out, err = tdc("verify", model_file, "--backend", "numpy")
    assert code == 1 and "MISMATCH" in out
    assert "first diverging layer: 'd1'" in err


def test_inspect(model_file):
    code, out, _ = tdc("inspect", model_file, "--ir")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("d1 "))
    assert "TimeDistributed(Dense)" in row and "(N, T, 8)" in row and " 56 " in row
    assert "IR before passes:" in out and "fold" in out.split("IR after passes:")[0]
    assert "fold" not in out.split("IR after passes:")[1]


def test_cuda_provider_absent_is_a_clear_error(model_file, tmp_path):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("a CUDA provider is present here")
    np.save(tmp_path / "x.npy", np.zeros((1, 2, 6), np.float32))
    code, _, err = tdc(
        "run", model_file, "--provider", "cuda", "-i", tmp_path / "x.npy", "-o", tmp_path / "o.npy"
    )
    assert code == 2 and "CUDA" in err and "onnxruntime-gpu" in err
    code, _, err = tdc(
        "run", model_file, "--provider", "auto", "-i", tmp_path / "x.npy", "-o", tmp_path / "o.npy"
    )
    assert code == 0, err


def test_cuda_provider_matches_cpu(model_file, tmp_path):
    """Where onnxruntime has a CUDA provider, --provider cuda runs there and matches the CPU."""
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("no CUDA provider (needs onnxruntime-gpu and an NVIDIA GPU)")
    from compiler.api import compile_file
    from compiler.backends.onnx.session import session

    sess = session(compile_file(model_file).onnx(), "cuda")
    assert sess.get_providers()[0] == "CUDAExecutionProvider"
    x = np.random.default_rng(2).standard_normal((4, 7, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    for provider in ("cpu", "cuda", "auto"):
        code, _, err = tdc(
            "run",
            model_file,
            "--provider",
            provider,
            "-i",
            tmp_path / "x.npy",
            "-o",
            tmp_path / f"{provider}.npy",
        )
        assert code == 0, err
    cpu = np.load(tmp_path / "cpu.npy")
    for provider in ("cuda", "auto"):
        np.testing.assert_allclose(np.load(tmp_path / f"{provider}.npy"), cpu, atol=1e-4, rtol=1e-3)
