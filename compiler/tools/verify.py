"""``tdc verify``: backends against Keras on seeded inputs, layer by layer on a miss.

The Keras side is a reference from ``keras/reference.py``: the model file rebuilt in Keras,
or the saved Keras model. Where a float32 comparison misses, a float64 run of the same Keras
model decides (``keras/float64.py``): a backend no farther from float64 than Keras float32
is passes, with a note that says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
    float64: Any = None  #: a ``float64.Judgement`` where the float32 comparison missed


@dataclass
class Run:
    """One seeded run: its inputs, Keras's float32 outputs and each backend's, its rows."""

    xs: list[np.ndarray]
    refs: dict[str, np.ndarray]
    got: dict[str, dict[str, np.ndarray]]
    rows: list[Row]


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
    compiled: Compiled,
    backends: list[str],
    batch: int,
    times: list[int],
    atol: float,
    rtol: float,
    reference: Any = None,
    notes: list[str] | None = None,
) -> list[Row]:
    """One row per length, backend and output; rows that miss are judged against float64.

    ``reference``: a ``keras.reference`` model (default: the model file rebuilt in Keras);
    ``notes``: gets a line where no float64 run was possible.
    """
    if reference is None:
        from ..keras.reference import Rebuilt

        reference = Rebuilt(compiled.spec, compiled.weights)
    runs = []
    for t in times:
        xs = seeded_inputs(compiled.spec, batch, t)
        refs = dict(zip(compiled.graph.output_names, reference.run(xs), strict=True))
        run = Run(xs, refs, {}, [])
        for backend in backends:
            run.got[backend] = got = run_backend(compiled, backend, xs)
            for name, ref in refs.items():
                run.rows.append(Row(backend, name, t, *errors(got[name], ref, atol, rtol)))
        runs.append(run)
    missed = [run for run in runs if not all(r.ok for r in run.rows)]
    if missed:
        note = judge_float64(missed, reference)
        if note and notes is not None:
            notes.append(note)
    return [r for run in runs for r in run.rows]


def judge_float64(runs: list[Run], reference: Any) -> str | None:
    """Give every row that missed its float64 judgement, and pass those it clears.

    Where no float64 run is possible (a layer Keras cannot run in float64) the rows stay
    as they are, and the returned note says why.
    """
    from ..keras.float64 import judge

    try:
        outs = reference.float64([run.xs for run in runs])
    except Exception as e:  # noqa: BLE001  (no float64 reference: the float32 verdict stands)
        why = " ".join(str(e).split())[:160] or "no message"
        return f"note: no float64 run of the Keras model ({type(e).__name__}: {why})"
    for run, out in zip(runs, outs, strict=True):
        ref64 = dict(zip(run.refs, out, strict=True))
        for row in run.rows:
            if not row.ok:
                row.float64 = judge(run.got[row.backend][row.output], run.refs[row.output],
                                    ref64[row.output])  # fmt: skip
                row.ok = row.float64.ok
    return None


def first_divergent_layer(
    spec: ModelSpec,
    weights: dict[str, np.ndarray],
    backend: str,
    batch: int,
    time: int,
    atol: float,
    rtol: float,
    keras_layers: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None,
    run: Callable[[Compiled, str, list[np.ndarray]], dict[str, np.ndarray]] | None = None,
    differs: Callable[[np.ndarray, np.ndarray], bool] | None = None,
) -> str | None:
    """Compile with every layer as an output and return the first layer that differs.

    ``keras_layers``: Keras's outputs of every layer on the seeded inputs (default: the
    model file rebuilt in Keras with every layer as an output). ``run``: the backend's
    outputs of the probe (default: ``run_backend``); ``differs``: whether a layer's output
    differs (default: outside ``atol`` / ``rtol``).
    """
    names = [lay.name for lay in spec.layers]
    probe = compile_spec(with_outputs(spec, names))
    xs = seeded_inputs(spec, batch, time)
    if keras_layers is not None:
        refs = keras_layers(xs)
    else:
        refs = run_keras(keras_model(probe.spec, weights, names), xs)
    got = (run or run_backend)(probe, backend, xs)
    differs = differs or (lambda g, r: not errors(g, r, atol, rtol)[2])
    for name, ref in zip(names, refs, strict=True):
        if differs(got[name], ref):
            return name
    return None


def format_table(rows: list[Row], timed: bool = True) -> str:
    """The table of errors; without the ``T`` column where no input has a dynamic axis."""
    t_head = f" {'T':>5}" if timed else ""
    head = f"{'backend':<8} {'output':<20}{t_head} {'max abs err':>12} {'max rel err':>12}  result"
    lines = [head, "-" * len(head)]
    for r in rows:
        verdict = ("ok (float64)" if r.float64 else "ok") if r.ok else "MISMATCH"
        t_cell = f" {r.time:>5}" if timed else ""
        lines.append(
            f"{r.backend:<8} {r.output:<20}{t_cell} {r.abs_err:>12.3e} "
            f"{r.rel_err:>12.3e}  {verdict}"
        )
    return "\n".join(lines)


def float64_notes(rows: list[Row], timed: bool = True) -> list[str]:
    """One line per row judged against float64 (``onnx 'probs' (T=7): 6.1e-04 from ...``)."""
    notes = []
    for r in rows:
        if r.float64 is not None:
            at = f" (T={r.time})" if timed else ""
            notes.append(f"note: {r.backend} '{r.output}'{at}: {r.float64.text()}")
    return notes
