"""Compile a model both ways and compare with live Keras on the same weights and inputs.

``check(model_dict, ...)`` is the one helper every layer test uses: it writes the model
file and random (non-trivial) weights, compiles to ONNX and NumPy through the full pass
pipeline, runs Keras, and asserts both backends match within atol 1e-4, rtol 1e-3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from compiler.api import compile_file
from compiler.backends.numpy.codegen import load_module
from compiler.backends.onnx.save import check as onnx_check
from compiler.backends.onnx.session import run as onnx_run
from compiler.frontend.arrays import write_npz
from compiler.keras.oracle import keras_model, run_keras
from compiler.tools.stream_verify import steps

ATOL, RTOL = 1e-4, 1e-3


def random_weights(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, np.ndarray]:
    """Non-trivial weights: biases and BatchNorm statistics away from their defaults."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape in sorted(shapes.items()):
        if key.endswith("moving_variance"):
            out[key] = rng.uniform(0.5, 1.5, shape)
        else:
            out[key] = rng.normal(0.0, 0.4, shape)
    return {k: v.astype(np.float32) for k, v in out.items()}


def random_inputs(compiled: Any, batch: int, time: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for inp in compiled.spec.inputs:
        shape = (batch, *[time if d is None else d for d in inp.shape])
        if inp.dtype.startswith("int"):
            arrays.append(rng.integers(0, 10, shape).astype(inp.dtype))
        else:
            arrays.append(rng.normal(0.0, 1.0, shape).astype(np.float32))
    return arrays


def write_model(tmp: Path, model: dict[str, Any], name: str = "model") -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    return path


def compile_with_random_weights(tmp: Path, model: dict[str, Any], seed: int = 0) -> Any:
    """Write the model file with random (non-trivial) weights beside it and compile it."""
    path = write_model(tmp, model)
    drawn = compile_file(path)  # seeded weights, just to learn the variable shapes
    weights = random_weights({k: v.shape for k, v in drawn.weights.items()}, seed)
    if weights:
        write_npz(tmp / "model.npz", weights)
        path = write_model(tmp, {**model, "weights": "model.npz"})
    return compile_file(path)


def backend_outputs(compiled: Any, xs: list[np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Outputs by name of the ONNX model (checked first) and the NumPy module on ``xs``."""
    proto = compiled.onnx()
    onnx_check(proto)
    feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
    text, w = compiled.numpy_source()
    got_np = load_module(text, w).predict(*xs)
    if not isinstance(got_np, dict):
        got_np = {compiled.graph.output_names[0]: got_np}
    return {"onnx": onnx_run(proto, feeds), "numpy": got_np}


def assert_matches(
    names: list[str], refs: list[np.ndarray], got: dict[str, dict[str, np.ndarray]]
) -> dict[str, float]:
    """Every backend's output equals its reference within ATOL/RTOL; the worst errors."""
    worst: dict[str, float] = {"onnx": 0.0, "numpy": 0.0}
    for name, r in zip(names, refs, strict=True):
        r = np.asarray(r)
        for backend, outs in got.items():
            out = outs[name]
            assert out.shape == r.shape, f"{backend} {name}: shape {out.shape} != {r.shape}"
            np.testing.assert_allclose(
                out, r, atol=ATOL, rtol=RTOL, err_msg=f"{backend} output {name} differs from Keras"
            )
            diff = np.abs(out.astype(np.float64) - r)
            err = float(np.nanmax(diff, initial=0.0))
            rel = float(np.nanmax(diff / (np.abs(r) + ATOL), initial=0.0))
            worst[backend] = max(worst[backend], err)
            worst[f"{backend}_rel"] = max(worst.get(f"{backend}_rel", 0.0), rel)
    record_errors(worst)
    return worst


def compare(compiled: Any, xs: list[np.ndarray]) -> dict[str, float]:
    """Assert ONNX and NumPy match Keras on ``xs``; returns the worst abs error per backend."""
    ref = run_keras(keras_model(compiled.spec, compiled.weights), xs)
    return assert_matches(compiled.graph.output_names, ref, backend_outputs(compiled, xs))


def check(
    tmp: Path, model: dict[str, Any], batch: int = 2, time: int = 5, seed: int = 0
) -> dict[str, float]:
    """Assert ONNX and NumPy match Keras on random inputs; returns the worst abs error."""
    compiled = compile_with_random_weights(tmp, model, seed)
    return compare(compiled, random_inputs(compiled, batch, time, seed + 1))


def record_errors(worst: dict[str, float]) -> None:
    """Append this comparison's worst errors to the session log (see conftest.py)."""
    import json
    import os

    log = os.environ.get("TDC_ERRLOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps(worst) + "\n")


def td(layer: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """Wrap a layer entry in TimeDistributed."""
    out = {"type": "TimeDistributed", "layer": layer}
    if name:
        out["name"] = name
    return out


def model(shape: list[Any], *layers: dict[str, Any], dtype: str = "float32") -> dict[str, Any]:
    """A one-input model file as a dict."""
    return {"inputs": {"x": {"shape": shape, "dtype": dtype}}, "layers": list(layers)}


def check_inputs(
    tmp: Path, model: dict[str, Any], xs: list[np.ndarray], seed: int = 0
) -> dict[str, float]:
    """Like ``check`` but on the given input arrays (e.g. whole masked steps mid-sequence)."""
    return compare(compile_with_random_weights(tmp, model, seed), xs)


def onnx_ops(graph: Any) -> list[str]:
    """Op types of an ONNX graph (or model) in order, with those inside the subgraphs of
    control-flow nodes (``If`` branches, ``Scan`` and ``Loop`` bodies) after their node."""
    graph = getattr(graph, "graph", graph)
    out = []
    for node in graph.node:
        out.append(node.op_type)
        for attr in node.attribute:
            for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
                out += onnx_ops(sub)
    return out


def assert_steps_match_keras(tmp: Path, m: dict[str, Any], time: int) -> None:
    """Both backends' step forms, fed one frame at a time, equal Keras's whole sequence."""
    compiled = compile_with_random_weights(tmp, m)
    xs = random_inputs(compiled, 2, time)
    (whole,) = run_keras(keras_model(compiled.spec, compiled.weights), xs)
    (name,) = compiled.graph.output_names
    for backend in ("onnx", "numpy"):
        got = list(steps(compiled, backend, xs))
        assert len(got) == time
        for t, out in enumerate(got):
            np.testing.assert_allclose(
                out[name], whole[:, t], atol=ATOL, rtol=RTOL, err_msg=f"{backend} step {t}"
            )
