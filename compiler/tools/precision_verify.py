"""``tdc verify --precision int8|float16``: a reduced-precision model against Keras float32.

Per backend and output: the max and mean abs error, the mean abs error relative to the mean
magnitude of Keras's output, and for outputs that end in softmax or sigmoid the top-1
agreement (softmax: the same argmax over the last axis; sigmoid: the same side of 0.5) in
percent over the verify batch. A row passes when it clears every threshold; where one
misses, the same comparison runs layer by layer (``verify.first_divergent_layer``) and the
first layer whose relative error passes the threshold is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..api import Compiled
from ..errors import TdcError
from .verify import seeded_inputs


@dataclass
class Thresholds:
    top1: float  #: least top-1 agreement, percent (outputs ending in softmax / sigmoid)
    mean_rel: float  #: largest mean abs error / mean |Keras output|
    max_abs: float | None  #: largest max abs error (None: probability outputs only, ``prob``)
    prob_max_abs: float  #: largest max abs error of a softmax / sigmoid output

    @classmethod
    def defaults(cls, precision: str) -> Thresholds:
        if precision == "float16":
            return cls(top1=99.0, mean_rel=0.01, max_abs=None, prob_max_abs=0.01)
        return cls(top1=90.0, mean_rel=0.1, max_abs=None, prob_max_abs=0.1)


@dataclass
class PrecisionRow:
    backend: str
    output: str
    time: int
    max_abs: float
    mean_abs: float
    mean_rel: float
    top1: float | None  #: percent; None where the output is not a softmax / sigmoid
    ok: bool


def probability_kind(spec: Any, output: str) -> str | None:
    """``softmax`` or ``sigmoid`` where output ``output`` ends in one, else None."""
    lay = next((lay for lay in spec.layers if lay.name == output), None)
    while lay is not None:
        act = lay.attrs.get("activation") if lay.type != "Softmax" else "softmax"
        if isinstance(act, str) and act in ("softmax", "sigmoid"):
            return act
        lay = lay.inner
    return None


def agreement(got: np.ndarray, ref: np.ndarray, kind: str) -> float:
    """Top-1 agreement in percent: argmax over the last axis, or the side of 0.5."""
    if kind == "softmax" and ref.shape[-1] > 1:
        same = got.argmax(-1) == ref.argmax(-1)
    else:
        same = (got > 0.5) == (ref > 0.5)
    return 100.0 * float(np.mean(same)) if same.size else 100.0


def row(
    backend: str,
    name: str,
    t: int,
    got: np.ndarray,
    ref: np.ndarray,
    kind: str | None,
    th: Thresholds,
) -> PrecisionRow:
    if got.shape != ref.shape:
        inf = float("inf")
        return PrecisionRow(backend, name, t, inf, inf, inf, 0.0 if kind else None, False)
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    max_abs, mean_abs = float(diff.max(initial=0.0)), float(diff.mean()) if diff.size else 0.0
    rel = mean_abs / max(float(np.abs(ref).mean()) if ref.size else 0.0, 1e-12)
    top1 = agreement(got, ref, kind) if kind else None
    limit = th.max_abs if th.max_abs is not None else (th.prob_max_abs if kind else None)
    ok = rel <= th.mean_rel and (top1 is None or top1 >= th.top1)
    ok = ok and (limit is None or max_abs <= limit) and bool(np.isfinite(diff).all())
    return PrecisionRow(backend, name, t, max_abs, mean_abs, rel, top1, ok)


def runner(compiled: Compiled, precision: str, calibration: Path | None) -> Any:
    """``run(backend, xs)``: the reduced model's outputs by name (built once per backend)."""
    made: dict[str, Any] = {}

    def run(backend: str, xs: list[np.ndarray]) -> dict[str, np.ndarray]:
        if backend not in made:
            made[backend] = _make(compiled, precision, calibration, backend)
        return made[backend](xs)

    return run


def _make(compiled: Compiled, precision: str, calibration: Path | None, backend: str) -> Any:
    names = compiled.graph.output_names
    if backend == "numpy":
        from ..backends.numpy.codegen import load_module

        module = load_module(*compiled.numpy_source(precision))

        def run_np(xs: list[np.ndarray]) -> dict[str, np.ndarray]:
            got = module.predict(*xs)
            return got if isinstance(got, dict) else {names[0]: got}

        return run_np
    from ..backends.onnx.session import session
    from ..precision import reduce

    sess = session(reduce(compiled.onnx(), compiled.spec, precision, calibration))
    inputs = [i.name for i in compiled.spec.inputs]

    def run_onnx(xs: list[np.ndarray]) -> dict[str, np.ndarray]:
        outs = sess.run(names, dict(zip(inputs, xs, strict=True)))
        return dict(zip(names, outs, strict=True))

    return run_onnx


def check_backends(precision: str, backends: list[str]) -> None:
    if precision == "int8" and "numpy" in backends:
        raise TdcError(
            "--precision int8 --backend numpy: the NumPy target has no int8",
            accepted="--backend onnx with int8; onnx, numpy with float16",
        )


def compare_reduced(
    compiled: Compiled,
    precision: str,
    calibration: Path | None,
    backends: list[str],
    batch: int,
    times: list[int],
    th: Thresholds,
    reference: Any,
) -> list[PrecisionRow]:
    """One row per length, backend and output."""
    run = runner(compiled, precision, calibration)
    kinds = {n: probability_kind(compiled.spec, n) for n in compiled.graph.output_names}
    rows = []
    for t in times:
        xs = seeded_inputs(compiled.spec, batch, t)
        refs = dict(zip(compiled.graph.output_names, reference.run(xs), strict=True))
        for backend in backends:
            got = run(backend, xs)
            rows += [
                row(backend, n, t, np.asarray(got[n]), np.asarray(r), kinds[n], th)
                for n, r in refs.items()
            ]
    return rows


def divergent_layer(
    compiled: Compiled,
    precision: str,
    calibration: Path | None,
    r: PrecisionRow,
    batch: int,
    th: Thresholds,
    probe_refs: Any,
) -> str | None:
    """The first layer whose relative error passes ``th.mean_rel`` and stays past it in
    every later layer (on the reduced model with every layer as an output, calibrated
    alike). A layer alone past it is passed over: int8 gives the output of a Conv the
    range of the activation after it, so a layer before an activation seen on its own is
    clipped, where the model never reads it unclipped."""
    from .verify import first_divergent_layer

    past: list[bool] = []

    def run(layers: Compiled, backend: str, xs: list[np.ndarray]) -> dict[str, np.ndarray]:
        return runner(layers, precision, calibration)(backend, xs)

    def differs(got: np.ndarray, ref: np.ndarray) -> bool:
        past.append(row("", "", 0, got, ref, None, th).mean_rel > th.mean_rel)
        return False  # every layer is measured; the jump is found below

    first_divergent_layer(
        compiled.spec,
        compiled.weights,
        r.backend,
        batch,
        r.time,
        0.0,
        0.0,
        probe_refs,
        run=run,
        differs=differs,
    )
    names = [lay.name for lay in compiled.spec.layers]
    for k in range(len(past)):
        if all(past[k:]):
            return names[k]
    return None


def format_rows(rows: list[PrecisionRow], timed: bool = True) -> str:
    t_head = f" {'T':>5}" if timed else ""
    head = (
        f"{'backend':<8} {'output':<20}{t_head} {'max abs err':>12} {'mean abs err':>12} "
        f"{'mean rel':>9} {'top-1 %':>8}  result"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        t_cell = f" {r.time:>5}" if timed else ""
        top1 = f"{r.top1:>8.1f}" if r.top1 is not None else f"{'-':>8}"
        lines.append(
            f"{r.backend:<8} {r.output:<20}{t_cell} {r.max_abs:>12.3e} "
            f"{r.mean_abs:>12.3e} {r.mean_rel:>9.2e} {top1}  "
            f"{'ok' if r.ok else 'MISMATCH'}"
        )
    return "\n".join(lines)


def describe(th: Thresholds) -> str:
    limit = (
        f"max abs <= {th.max_abs:g}"
        if th.max_abs is not None
        else (f"max abs <= {th.prob_max_abs:g} on softmax/sigmoid outputs")
    )
    return f"top-1 >= {th.top1:g}%, mean rel <= {th.mean_rel:g}, {limit}"


def verify_reduced(
    model: Path,
    precision: str,
    calibration: Path | None,
    backends: list[str] | None,
    batch: int,
    times: list[int],
    th: Thresholds,
    keras_path: Path | None,
    rebuild: bool,
) -> None:
    """Run ``tdc verify --precision``: print the table; VerificationMismatch on a miss."""
    import click

    from ..api import compile_file
    from ..errors import VerificationMismatch
    from ..keras.reference import choose
    from ..precision import check_options
    from .commands import check_seeded_size

    check_options("onnx", precision, calibration)
    backends = backends or (["onnx"] if precision == "int8" else ["onnx", "numpy"])
    check_backends(precision, backends)
    compiled = compile_file(model)
    check_seeded_size(compiled, batch, max(times))
    shapes = [v.shape for v in compiled.graph.outputs]
    reference, note = choose(model, compiled.spec, compiled.weights, shapes, keras_path, rebuild)
    rows = compare_reduced(compiled, precision, calibration, backends, batch, times, th, reference)
    timed = any(None in inp.shape for inp in compiled.spec.inputs)
    click.echo(f"{precision} compared with {reference.label} (float32)")
    click.echo(format_rows(rows, timed))
    if note:
        click.echo(note)
    failed = [r for r in rows if not r.ok]
    if not failed:
        click.echo(f"all outputs within the {precision} thresholds ({describe(th)})")
        return
    probe = reference.layers([lay.name for lay in compiled.spec.layers])
    layer = divergent_layer(compiled, precision, calibration, failed[0], batch, th, probe)
    where = f"first layer whose error jumps: '{layer}'" if layer else "no single layer"
    raise VerificationMismatch(
        f"{precision} {failed[0].backend} misses the thresholds ({describe(th)}) on output "
        f"'{failed[0].output}'; {where}"
    )
