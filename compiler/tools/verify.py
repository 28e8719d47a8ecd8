"""``tdc verify``: backends against Keras on seeded inputs, layer by layer on a miss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..api import Compiled, compile_spec, with_outputs
from ..frontend.loader import ModelSpec
from ..keras.oracle import keras_model, run_keras


@dataclass
class Row:
    backend: str
    output: str
    time: int
    abs_err: float
    rel_err: float
    ok: bool


#: (sample, step) pairs set to a Masking layer's mask_value: mid-sequence and first steps.
MASKED_STEPS = ((0, 1), (0, 3), (1, 0))


def seeded_inputs(spec: ModelSpec, batch: int, time: int, seed: int = 0) -> list[np.ndarray]:
    """Standard-normal floats (integers in [0, 10) for integer inputs); null axes = ``time``.

    An input read by a Masking layer gets whole steps equal to its ``mask_value``
    (``MASKED_STEPS``), so that the mask is exercised (integer ids already include 0).
    """
    rng = np.random.default_rng(seed)
    out = []
    for inp in spec.inputs:
        shape = (batch, *[time if d is None else d for d in inp.shape])
        if inp.dtype.startswith("int"):
            out.append(rng.integers(0, 10, shape).astype(inp.dtype))
        else:
            out.append(rng.standard_normal(shape).astype(np.float32))
    names = [inp.name for inp in spec.inputs]
    for lay in spec.layers:
        for ref in lay.inputs if lay.type == "Masking" else []:
            x = out[names.index(ref)] if ref in names else None
            if x is not None and x.ndim >= 3 and x.dtype == np.float32:
                for b, t in MASKED_STEPS:
                    if b < x.shape[0] and t < x.shape[1]:
                        x[b, t] = lay.attrs["mask_value"]
    return out


def run_backend(
    compiled: Compiled, backend: str, xs: list[np.ndarray], provider: str = "cpu"
) -> dict[str, np.ndarray]:
    """Outputs by name from the ``onnx`` or ``numpy`` backend."""
    names = compiled.graph.output_names
    if backend == "onnx":
        from ..backends.onnx.session import run

        feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
        return run(compiled.onnx(), feeds, provider)
    from ..backends.numpy.codegen import load_module

    text, weights = compiled.numpy_source()
    got = load_module(text, weights).predict(*xs)
    return got if isinstance(got, dict) else {names[0]: got}


def errors(got: np.ndarray, ref: np.ndarray, atol: float, rtol: float) -> tuple[float, float, bool]:
    if got.shape != ref.shape:
        return float("inf"), float("inf"), False
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    abs_err = float(np.max(diff, initial=0.0))
    rel_err = float(np.max(diff / (np.abs(ref) + atol), initial=0.0))
    ok = bool(np.allclose(got, ref, atol=atol, rtol=rtol, equal_nan=True))
    return abs_err, rel_err, ok


def compare(
    compiled: Compiled, backends: list[str], batch: int, times: list[int], atol: float, rtol: float
) -> list[Row]:
    model = keras_model(compiled.spec, compiled.weights)
    rows = []
    for t in times:
        xs = seeded_inputs(compiled.spec, batch, t)
        refs = dict(zip(compiled.graph.output_names, run_keras(model, xs), strict=True))
        for backend in backends:
            got = run_backend(compiled, backend, xs)
            for name, ref in refs.items():
                rows.append(Row(backend, name, t, *errors(got[name], ref, atol, rtol)))
    return rows


def first_divergent_layer(
    spec: ModelSpec,
    weights: dict[str, np.ndarray],
    backend: str,
    batch: int,
    time: int,
    atol: float,
    rtol: float,
) -> str | None:
    """Compile with every layer as an output and return the first layer that differs."""
    names = [lay.name for lay in spec.layers]
    probe = compile_spec(with_outputs(spec, names))
    xs = seeded_inputs(spec, batch, time)
    refs = run_keras(keras_model(probe.spec, weights, names), xs)
    got = run_backend(probe, backend, xs)
    for name, ref in zip(names, refs, strict=True):
        if not errors(got[name], ref, atol, rtol)[2]:
            return name
    return None


def format_table(rows: list[Row]) -> str:
    head = f"{'backend':<8} {'output':<20} {'T':>5} {'max abs err':>12} {'max rel err':>12}  result"
    lines = [head, "-" * len(head)]
    for r in rows:
        verdict = "ok" if r.ok else "MISMATCH"
        lines.append(
            f"{r.backend:<8} {r.output:<20} {r.time:>5} {r.abs_err:>12.3e} "
            f"{r.rel_err:>12.3e}  {verdict}"
        )
    return "\n".join(lines)
