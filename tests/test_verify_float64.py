"""``tdc verify`` judged against float64 where float32 misses: Keras's own float32 noise."""

from __future__ import annotations

import re

import numpy as np
import pytest

import compiler.tools.verify as verify_module
from cli_util import tdc
from compiler.api import compile_file
from compiler.keras.float64 import FACTOR, Judgement, distance, rms_distance, to_float64
from compiler.keras.oracle import import_keras
from compiler.keras.reference import Rebuilt
from compiler.tools.verify import seeded_inputs

keras = import_keras()

#: exp of large arguments, then sums that cancel: Keras float32 is ~1e-2 from float64.
EXP = """\
inputs:
  x: {shape: [null, 16]}
layers:
  - {name: big, type: ops.multiply, inputs: [x, 3.0]}
  - {name: d1, type: Dense, units: 256, activation: exponential}
  - {name: d2, type: Dense, units: 256, activation: exponential}
  - {name: out, type: Dense, units: 64}
seed: 0
"""

#: A small model without a time axis: its table has no T column.
SMALL = """\
inputs:
  x: {shape: [16]}
layers:
  - {name: d1, type: Dense, units: 64, activation: tanh}
  - {name: out, type: Dense, units: 8}
"""

NOTE = re.compile(
    r"^note: (onnx|numpy) 'out'(?: \(T=\d+\))?: (\S+) RMS from float64, Keras float32 (\S+) "
    r"\(max (\S+), \S+\): "
    r"(within|farther than) Keras's own float32 error \(x1\.5\)$",
    re.M,
)


def numpy_float64(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``EXP`` in float64 NumPy, independent of Keras."""
    h = x.astype(np.float64) * 3.0
    for name in ("d1", "d2"):
        h = np.exp(h @ weights[f"{name}/kernel"].astype(np.float64) + weights[f"{name}/bias"])
    return h @ weights["out/kernel"].astype(np.float64) + weights["out/bias"]


@pytest.mark.slow
def test_the_reference_is_a_true_float64_run(tmp_path):
    """Against NumPy in float64: Keras float32 misses the default atol, the float64 run
    agrees to 1e-9 relative (nothing inside it, nor the input scaling, is float32)."""
    path = tmp_path / "exp.yaml"
    path.write_text(EXP)
    compiled = compile_file(path)
    xs = seeded_inputs(compiled.spec, 2, 7)
    exact = numpy_float64(compiled.weights, xs[0])
    reference = Rebuilt(compiled.spec, compiled.weights)
    assert distance(reference.run(xs)[0], exact) > 1e-3
    ref64 = reference.float64([xs])[0][0]
    assert ref64.dtype == np.float64
    assert distance(ref64, exact) <= 1e-9 * np.abs(exact).max()


@pytest.mark.slow
def test_float32_noise_passes_with_a_note(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(EXP)
    code, out, err = tdc("verify", path)
    assert code == 0, out + err
    assert "compared with the model file rebuilt in Keras" in out
    assert "MISMATCH" not in out and out.count("ok (float64)") == 2, out
    notes = NOTE.findall(out)
    assert sorted(n[0] for n in notes) == ["numpy", "onnx"], out
    for _, backend, k32, _, verdict in notes:
        assert verdict == "within" and float(backend) <= FACTOR * float(k32), out
        assert float(k32) > 1e-4  # Keras's own float32 error (RMS) is past the default atol
    assert "all outputs match Keras" in out and "own float32 error" in out
    import jax
    from keras.src.backend.common import dtypes

    assert not jax.config.jax_enable_x64 and keras.config.dtype_policy().name == "float32"
    assert dtypes.result_type("float64", float) == "float32"  # Keras's rule is back


@pytest.mark.slow
def test_a_wrong_backend_still_fails(tmp_path, monkeypatch):
    """Off by 1e-5 where Keras float32 is ~1e-7 from float64: farther, so exit 1."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    real = verify_module.run_backend

    def off(compiled, backend, xs, provider="cpu"):
        got = real(compiled, backend, xs, provider)
        got["out"] = got["out"].copy()
        got["out"][0, 0] += 1e-5
        return got

    monkeypatch.setattr(verify_module, "run_backend", off)
    code, out, err = tdc("verify", path, "--backend", "numpy", "--atol", "1e-7", "--rtol", "0")
    assert code == 1, out + err
    assert "MISMATCH" in out and "ok (float64)" not in out, out
    ((backend, dist, k32, worst, verdict),) = NOTE.findall(out)
    assert backend == "numpy" and verdict == "farther than" and float(worst) > 9e-6, out
    assert float(dist) > FACTOR * float(k32)
    head = out.splitlines()[1]
    assert head.startswith("backend") and " T " not in head, out  # no time axis: no T column
    assert "numpy differs from" in err and "Traceback" not in err


def test_judgement_and_distance():
    assert Judgement(1e-4, 1e-4).ok and Judgement(1.5e-4, 1e-4).ok
    assert not Judgement(1.6e-4, 1e-4).ok
    assert not Judgement(float("inf"), float("inf")).ok
    assert "within Keras's own float32 error (x1.5)" in Judgement(6.1e-4, 7.9e-4).text()
    one_off = np.zeros(100)
    one_off[7] = 1e-3  # one element: the RMS is a tenth of the max
    assert rms_distance(one_off, np.zeros(100)) == pytest.approx(1e-4)
    a = np.array([1.0, np.inf, np.nan], np.float32)
    assert distance(a, np.array([1.0, np.inf, np.nan])) == 0.0
    assert distance(a, np.array([1.0, 5.0, np.nan])) == float("inf")
    assert distance(a, np.array([1.0, np.inf, 0.0])) == float("inf")
    assert distance(a[:2], a) == float("inf")
    assert rms_distance(a, np.array([1.0, np.inf, np.nan])) == 0.0
    assert rms_distance(a, np.array([1.0, 5.0, np.nan])) == float("inf")


def test_config_to_float64():
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}
    config = {
        "layers": [
            {"class_name": "InputLayer", "config": {"dtype": "float32"}},
            {"class_name": "Dense", "config": {"dtype": policy, "units": 3}},
            {"class_name": "InputLayer", "config": {"dtype": "int32"}},
        ]
    }
    out = to_float64(config)
    assert out["layers"][0]["config"]["dtype"] == "float64"
    assert out["layers"][1]["config"]["dtype"]["config"]["name"] == "float64"
    assert out["layers"][1]["config"]["units"] == 3
    assert out["layers"][2]["config"]["dtype"] == "int32"
    assert policy["config"]["name"] == "float32"  # the input is left as it was
