"""Shared setup: every comparison runs Keras live (JAX backend, CPU).

The session summary reports the worst absolute error against Keras per backend over
every comparison made by ``oracle.check`` (workers append to one log file).

Markers: ``slow`` (set in the test modules; ``pytest -m "not slow"`` is the fast tier
for the edit-test loop, CI runs everything) and ``keras`` (set here on every test of a
module that builds Keras models, so ``-m "not keras"`` runs without the oracle).
"""

import json
import os
import re
import tempfile
from functools import cache

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# XLA compiles Keras's programs (every weight initialiser of a new shape, every predict
# step) without its backend optimisations: the suite's inputs are tiny, so compiling is
# most of Keras's time (MobileNetV2's build 9.8 s -> 5.9 s). Results differ from the
# optimised build by float32 rounding only, which every comparison already allows for.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")


_KERAS = re.compile(r"^(from oracle import|import keras|from compiler\.keras\.oracle import)", re.M)


@cache
def _uses_keras(path: str) -> bool:
    with open(path, encoding="utf-8") as f:
        return bool(_KERAS.search(f.read()))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _uses_keras(str(item.path)):
            item.add_marker(pytest.mark.keras)


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        fd, path = tempfile.mkstemp(prefix="tdc-errors-", suffix=".jsonl")
        os.close(fd)
        os.environ["TDC_ERRLOG"] = path
        config._tdc_errlog = path


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    path = getattr(config, "_tdc_errlog", None)
    if not path or not os.path.exists(path):
        return
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    os.unlink(path)
    if rows:
        worst = {
            k: max(r.get(k, 0.0) for r in rows) for k in ("onnx", "numpy", "onnx_rel", "numpy_rel")
        }
        terminalreporter.write_line(
            f"tdc: {len(rows)} model comparisons against live Keras; worst abs error "
            f"onnx {worst['onnx']:.2e}, numpy {worst['numpy']:.2e}; worst |diff|/(|ref|+atol) "
            f"onnx {worst['onnx_rel']:.2e}, numpy {worst['numpy_rel']:.2e} (atol 1e-4, rtol 1e-3)"
        )
