"""``tdc verify``: the command line and what it prints.

Which Keras model is the reference: ``--keras PATH`` (a saved ``.keras``), else the saved
model the model file records as its source (``tdc import`` writes it on the first line)
when that file is there, else the model file rebuilt in Keras. A recorded source that is
gone gives a note and the rebuild; ``--rebuild`` asks for the rebuild outright.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from ..errors import TdcError, VerificationMismatch
from .options import CALIBRATION, MAX_BYTES, PRECISION


@click.command(
    epilog="""\b
Examples:
  tdc verify model.yaml
  tdc verify model.yaml --backend numpy --batch 4 --time 3 --time 17
  tdc verify model.yaml --atol 1e-5 --rtol 1e-4
  tdc verify model.yaml --keras saved/model.keras
  tdc verify model.yaml --streaming --time 12
  tdc verify model.yaml --precision int8 --calibration data.npz --top1 99"""
)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@MAX_BYTES
@click.option(
    "--backend",
    help="Comma-separated backends to check: onnx, numpy. Default: onnx,numpy (int8: onnx).",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 4096),
    help="Samples per seeded run. Default: 2 (with --precision int8|float16: 16).",
)
@click.option(
    "--time",
    "times",
    multiple=True,
    help="Length of null (dynamic) axes; repeat or comma-separate for several lengths "
    "(--time 4 --time 9, or --time 4,9). Default: 7.",
)
@click.option("--atol", type=click.FloatRange(0), default=1e-4, show_default=True)
@click.option("--rtol", type=click.FloatRange(0), default=1e-3, show_default=True)
@click.option(
    "--keras",
    "keras_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Compare with this saved Keras model (.keras) instead of the model file rebuilt "
    "in Keras. Default: the model `tdc import` recorded as the source, when it is there.",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Compare with the model file rebuilt in Keras even where it records its source.",
)
@click.option(
    "--streaming",
    is_flag=True,
    help="Run the step form frame by frame and compare every step with Keras on the "
    "whole sequence (outputs with a time axis) or on the prefix so far (without).",
)
@PRECISION
@CALIBRATION
@click.option(
    "--top1",
    type=click.FloatRange(0, 100),
    help="--precision: least top-1 "
    "agreement in percent on softmax/sigmoid outputs (default int8 90, float16 99).",
)
@click.option(
    "--mean-rel",
    type=click.FloatRange(0),
    help="--precision: largest mean abs "
    "error / mean |Keras output| (default int8 0.1, float16 0.01).",
)
@click.option(
    "--max-abs",
    type=click.FloatRange(0),
    help="--precision: largest max abs error "
    "on every output (default: int8 0.1, float16 0.01 on softmax/sigmoid outputs).",
)
def verify(
    model: Path,
    backend: str | None,
    batch: int | None,
    times: tuple[str, ...],
    atol: float,
    rtol: float,
    keras_path: Path | None,
    rebuild: bool,
    streaming: bool,
    precision: str,
    calibration: Path | None,
    top1: float | None,
    mean_rel: float | None,
    max_abs: float | None,
) -> None:
    """Check every backend against Keras on the same weights and seeded inputs.

    Prints which Keras model it compared with and the max abs/rel error per backend and
    output. Where one misses, the same Keras model runs in float64: a backend no farther
    from float64 than Keras float32 is (x1.5) passes, with a note. Otherwise names the
    first layer whose output diverges and exits with status 1.

    With --precision int8|float16: the reduced model against Keras float32, per output max
    and mean abs error and top-1 agreement; exit 1 below the thresholds.
    """
    if precision != "float32" or calibration is not None:
        _reduced(
            model,
            backend,
            batch,
            times,
            precision,
            calibration,
            streaming,
            (top1, mean_rel, max_abs),
            keras_path,
            rebuild,
        )
        return
    verify_model(
        model,
        backend or "onnx,numpy",
        batch or 2,
        lengths(times) or [7],
        atol,
        rtol,
        streaming,
        keras_path,
        rebuild,
    )


def _reduced(
    model: Path,
    backend: str | None,
    batch: int | None,
    times: tuple[str, ...],
    precision: str,
    calibration: Path | None,
    streaming: bool,
    limits: tuple,
    keras_path: Path | None,
    rebuild: bool,
) -> None:
    from .precision_verify import Thresholds, verify_reduced

    if streaming:
        raise TdcError("--streaming with --precision", accepted="--precision without --streaming")
    th = Thresholds.defaults(precision)
    for name, value in zip(("top1", "mean_rel", "max_abs"), limits, strict=True):
        if value is not None:
            setattr(th, name, value)
    chosen = _backends(backend, 0.0, 0.0) if backend else None
    verify_reduced(
        model,
        precision,
        calibration,
        chosen,
        batch or 16,
        lengths(times) or [7],
        th,
        keras_path,
        rebuild,
    )


def lengths(values: tuple[str, ...]) -> list[int]:
    """``--time`` values: repeated and/or comma-separated positive integers."""
    out = []
    for item in ",".join(values).split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isdigit() or not 1 <= int(item) <= 100000:
            raise click.BadParameter(
                f"{item!r} is not a length in [1, 100000]", param_hint="--time"
            )
        out.append(int(item))
    return out


def _backends(backends: str, atol: float, rtol: float) -> list[str]:
    chosen = [b.strip() for b in backends.split(",") if b.strip()]
    bad = [b for b in chosen if b not in ("onnx", "numpy")]
    if bad or not chosen:
        raise TdcError(f"--backend {backends}: unknown backend", accepted="onnx, numpy")
    if not (math.isfinite(atol) and math.isfinite(rtol)):
        raise TdcError(f"--atol {atol} --rtol {rtol}", accepted="finite tolerances >= 0")
    return chosen


def verify_model(
    model: Path,
    backends: str,
    batch: int,
    times: list[int],
    atol: float,
    rtol: float,
    streaming: bool = False,
    keras_path: Path | None = None,
    rebuild: bool = False,
) -> None:
    """Run ``tdc verify``: print the table; raise VerificationMismatch on a mismatch."""
    from ..api import compile_file
    from ..keras.reference import REBUILT, choose
    from .commands import check_seeded_size
    from .verify import compare, float64_notes, format_table

    chosen = _backends(backends, atol, rtol)
    if keras_path is not None and (rebuild or streaming):
        raise TdcError(
            "--keras compares whole sequences with a saved model",
            accepted="--keras PATH without --rebuild or --streaming",
        )
    compiled = compile_file(model)
    check_seeded_size(compiled, batch, max(times))
    if streaming:
        from .stream_verify import compare_steps

        rows = compare_steps(compiled, chosen, batch, max(times), atol, rtol)
        click.echo(f"compared with {REBUILT}, step by step")
        click.echo(format_table(rows))
        _streaming_verdict(rows, atol, rtol)
        return
    shapes = [v.shape for v in compiled.graph.outputs]
    reference, note = choose(model, compiled.spec, compiled.weights, shapes, keras_path, rebuild)
    notes = [note] if note else []
    rows = compare(compiled, chosen, batch, times, atol, rtol, reference, notes)
    timed = any(None in inp.shape for inp in compiled.spec.inputs)
    click.echo(f"compared with {reference.label}")
    click.echo(format_table(rows, timed))
    for line in notes + float64_notes(rows, timed):
        click.echo(line)
    failed = [r for r in rows if not r.ok]
    if not failed:
        judged = any(r.float64 for r in rows)
        within = ", or within Keras's own float32 error (notes)" if judged else ""
        click.echo(f"all outputs match Keras (atol {atol:g}, rtol {rtol:g}){within}")
        return
    raise _mismatch(compiled, reference, failed[0], batch, atol, rtol)


def _mismatch(
    compiled: Any, reference: Any, row: Any, batch: int, atol: float, rtol: float
) -> VerificationMismatch:
    """The error for the first row that missed, naming the first layer that diverges (on
    the saved model's layers by name where it has them all, else on the rebuild)."""
    from ..keras.reference import REBUILT
    from .verify import first_divergent_layer
    from .verify_nested import nested_path

    spec = compiled.spec
    probe = reference.layers([lay.name for lay in spec.layers])
    layer = first_divergent_layer(
        spec, compiled.weights, row.backend, batch, row.time, atol, rtol, probe
    )
    tol = (atol, rtol)  # inside a nested model: its layers on what Keras feeds it
    layer = nested_path(spec, compiled.weights, layer, row.backend, batch, row.time, tol)
    against = "the same Keras model" if probe is not None else REBUILT
    where = f"first diverging layer: '{layer}'" if layer else "no single layer diverges"
    return VerificationMismatch(
        f"{row.backend} differs from {reference.label} on output '{row.output}'; {where} "
        f"(layer by layer against {against})"
    )


def _streaming_verdict(rows: list, atol: float, rtol: float) -> None:
    failed = [r for r in rows if not r.ok]
    if not failed:
        click.echo(f"all outputs match Keras (atol {atol:g}, rtol {rtol:g})")
        return
    r = failed[0]
    raise VerificationMismatch(
        f"{r.backend} step form differs from Keras on output '{r.output}' at step {r.time}"
    )
