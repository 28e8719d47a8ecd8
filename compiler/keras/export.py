"""Keras's own ONNX export of a model file: the benchmark's ``keras-onnx`` column.

``model.export(path, format="onnx")`` has two routes in Keras 3, chosen by the backend:

- ``tensorflow``: Keras traces the model with TensorFlow and converts it with tf2onnx.
  This is the route Keras documents for ONNX export and the one that handles recurrent
  layers and pooling. A Keras process has one backend and the oracle runs on JAX, so this
  export runs in a child process (``python -m compiler.keras.export``) with
  ``KERAS_BACKEND=tensorflow``; the child rebuilds the same Keras model from the same
  model file and weights.
- ``jax``: Keras converts the jitted JAX function with jax2onnx, in this process.

``auto`` takes ``tensorflow`` when TensorFlow and tf2onnx are importable, else ``jax``.
TensorFlow need not share tdc's environment: ``TDC_EXPORT_PYTHON`` names another
interpreter (e.g. a virtual environment with ``tensorflow-cpu``, ``tf2onnx``, Keras and
tdc's own dependencies) that runs the child; tdc's package directory goes on its
``PYTHONPATH``, and the route counts as available when that interpreter imports both.
Every failure (exporter missing, exporter error) is an :class:`Unavailable` whose message
says why; the benchmark reports it instead of timings.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROUTES = ("auto", "tensorflow", "jax")
#: What each route needs importable, beside Keras.
NEEDS = {"tensorflow": ("tensorflow", "tf2onnx"), "jax": ("jax2onnx",)}
LABELS = {"tensorflow": "TensorFlow + tf2onnx", "jax": "JAX + jax2onnx"}
CHILD_TIMEOUT_S = 900


class Unavailable(Exception):
    """A backend that cannot be prepared here; the message says why."""


#: Another interpreter for the TensorFlow child (its own environment), if set.
PYTHON_ENV = "TDC_EXPORT_PYTHON"


def _child_python() -> str:
    return os.environ.get(PYTHON_ENV) or sys.executable


def _missing(route: str) -> list[str]:
    if route == "tensorflow" and os.environ.get(PYTHON_ENV):
        return _missing_in(_child_python(), NEEDS[route])
    return [m for m in NEEDS[route] if importlib.util.find_spec(m) is None]


@functools.lru_cache(maxsize=8)
def _missing_in(python: str, modules: tuple[str, ...]) -> list[str]:
    """The ``modules`` that interpreter ``python`` cannot find (all of them if it fails)."""
    probe = (
        "import importlib.util as u, sys; "
        "print(' '.join(m for m in sys.argv[1:] if not u.find_spec(m)))"
    )
    try:
        done = subprocess.run(
            [python, "-c", probe, *modules], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return list(modules)
    return done.stdout.split() if done.returncode == 0 else list(modules)


def pick_route(via: str) -> str:
    """``auto`` -> the first route whose exporter is importable (``jax`` when neither is);
    ``tensorflow`` or ``jax`` as given."""
    if via not in ROUTES:
        raise ValueError(f"unknown export route {via!r}: accepted are {', '.join(ROUTES)}")
    if via != "auto":
        return via
    return "tensorflow" if not _missing("tensorflow") else "jax"


def export(model_path: Path, compiled: Any, xs: list[np.ndarray], via: str = "auto") -> Any:
    """Keras's ONNX export of ``model_path`` for inputs shaped like ``xs`` (batch and time
    fixed): an ``onnx.ModelProto``. Raises :class:`Unavailable` with the reason."""
    import onnx

    route = pick_route(via)
    missing = _missing(route)
    if missing:
        raise Unavailable(
            f"n/a (Keras's ONNX export via {route} needs {' and '.join(missing)}: "
            f"pip install {' '.join(missing)})"
        )
    shapes = [(list(x.shape), str(x.dtype)) for x in xs]
    with tempfile.TemporaryDirectory(prefix="tdc-keras-onnx-") as tmp:
        out = Path(tmp) / "keras.onnx"
        if route == "tensorflow":
            _export_in_child(Path(model_path), out, shapes)
        else:
            _export_here(compiled, out, shapes)
        return onnx.load(str(out))


def _export_here(compiled: Any, out: Path, shapes: list[tuple[list[int], str]]) -> None:
    """The JAX route, in this process (whose Keras runs on JAX)."""
    from .oracle import keras_model

    try:
        _save(keras_model(compiled.spec, compiled.weights), out, shapes)
    except Exception as e:  # any exporter failure: report it, time the other backends
        raise Unavailable(f"n/a (export via jax failed: {_first_line(e)})") from e


def _export_in_child(model_path: Path, out: Path, shapes: list[tuple[list[int], str]]) -> None:
    """The TensorFlow route, in a child process whose Keras runs on TensorFlow."""
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",  # a CPU trace: the export is the same graph either way
    }
    root = str(Path(__file__).resolve().parents[2])  # the directory holding ``compiler``
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    cmd = [_child_python(), "-m", "compiler.keras.export", str(model_path), str(out)]
    try:
        done = subprocess.run(
            [*cmd, json.dumps(shapes)],
            env=env,
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as e:
        raise Unavailable(f"n/a (export via tensorflow took over {CHILD_TIMEOUT_S} s)") from e
    if done.returncode != 0 or not out.exists():
        lines = [ln for ln in done.stderr.splitlines() if ln.startswith("export failed: ")]
        why = lines[-1][len("export failed: ") :] if lines else done.stderr.strip()[-120:]
        raise Unavailable(f"n/a (export via tensorflow failed: {why[:120]})")


def _save(model: Any, out: Path, shapes: list[tuple[list[int], str]]) -> None:
    import keras

    specs = [keras.InputSpec(shape=tuple(s), dtype=d) for s, d in shapes]
    signature = specs if len(specs) == 1 else [specs]  # one positional arg: the input list
    model.export(str(out), format="onnx", verbose=False, input_signature=signature)


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:120]


def _child(argv: list[str]) -> int:
    """``python -m compiler.keras.export MODEL OUT SHAPES_JSON`` (run by ``export``)."""
    from ..api import compile_file
    from .oracle import keras_model

    model_path, out, shapes = argv[0], Path(argv[1]), json.loads(argv[2])
    try:
        compiled = compile_file(model_path)
        _save(keras_model(compiled.spec, compiled.weights), out, shapes)
    except Exception as e:  # reported to the parent on one line
        print(f"export failed: {_first_line(e)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
