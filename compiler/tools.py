"""What the CLI commands do, as plain functions (so tests can call them too)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .api import compile_file
from .errors import TdcError, VerificationMismatch
from .io import check_input, read_array, save_outputs, write_atomic


def compile_to(model: Path, target: str, output: Path, streaming: bool = False) -> None:
    compiled = compile_file(model)
    if streaming:
        compiled.step()  # refuses (exit 2, naming the layer) a model with no step form
    if target == "onnx":
        from .backends.onnx_save import write_onnx

        # checked, then written whole (external data beside it past protobuf's 2 GiB)
        write_onnx(compiled.step_onnx() if streaming else compiled.onnx(), output)
        return
    if output.suffix != ".py":
        raise TdcError(
            "--target numpy writes a Python module: give -o a .py path", file=str(output)
        )
    from .weights import write_npz

    text, weights = compiled.numpy_source()
    write_atomic(
        [
            (output.with_suffix(".npz"), lambda p: write_npz(p, weights)),
            (output, lambda p: p.write_text(text)),
        ]
    )


def _bind_inputs(compiled, inputs: list[str]) -> list[np.ndarray]:
    specs = compiled.spec.inputs
    by_name: dict[str, str] = {}
    for item in inputs:
        name, sep, path = item.partition("=")
        if not sep:
            if len(inputs) != 1 or len(specs) != 1:
                raise TdcError(
                    f"-i {item}: the model has {len(specs)} inputs; use -i NAME=FILE",
                    accepted=", ".join(s.name for s in specs),
                )
            name, path = specs[0].name, item
        if name not in {s.name for s in specs} or name in by_name:
            raise TdcError(
                f"-i {item}: unknown or repeated input '{name}'",
                accepted=", ".join(s.name for s in specs),
            )
        by_name[name] = path
    missing = [s.name for s in specs if s.name not in by_name]
    if missing:
        raise TdcError(f"missing input(s): {', '.join(missing)}", accepted="-i NAME=FILE each")
    limits = compiled.spec.id_limits
    return [
        check_input(read_array(by_name[s.name]), s, by_name[s.name], limits.get(s.name))
        for s in specs
    ]


def run_model(model: Path, backend: str, inputs: list[str], output: Path, provider: str) -> None:
    compiled = compile_file(model)
    xs = _bind_inputs(compiled, inputs)
    if backend == "keras":
        from .backends.keras import keras_model, run_keras

        outs = run_keras(keras_model(compiled.spec, compiled.weights), xs)
        result = dict(zip(compiled.graph.output_names, outs, strict=True))
    else:
        from .verify import run_backend

        if provider != "cpu" and backend != "onnx":
            raise TdcError("--provider applies to --backend onnx only")
        result = run_backend(compiled, backend, xs, provider)
    save_outputs(output, result)


def verify_model(
    model: Path,
    backends: str,
    batch: int,
    times: list[int],
    atol: float,
    rtol: float,
    streaming: bool = False,
) -> None:
    import click

    from .verify import compare, first_divergent_layer, format_table

    chosen = [b.strip() for b in backends.split(",") if b.strip()]
    bad = [b for b in chosen if b not in ("onnx", "numpy")]
    if bad or not chosen:
        raise TdcError(f"--backend {backends}: unknown backend", accepted="onnx, numpy")
    if not (math.isfinite(atol) and math.isfinite(rtol)):
        raise TdcError(f"--atol {atol} --rtol {rtol}", accepted="finite tolerances >= 0")
    compiled = compile_file(model)
    if streaming:
        from .stream_verify import compare_steps

        rows = compare_steps(compiled, chosen, batch, max(times), atol, rtol)
    else:
        rows = compare(compiled, chosen, batch, times, atol, rtol)
    click.echo(format_table(rows))
    failed = [r for r in rows if not r.ok]
    if not failed:
        click.echo(f"all outputs match Keras (atol {atol:g}, rtol {rtol:g})")
        return
    r = failed[0]
    if streaming:
        raise VerificationMismatch(
            f"{r.backend} step form differs from Keras on output '{r.output}' at step {r.time}"
        )
    layer = first_divergent_layer(
        compiled.spec, compiled.weights, r.backend, batch, r.time, atol, rtol
    )
    where = f"first diverging layer: '{layer}'" if layer else "no single layer diverges"
    raise VerificationMismatch(f"{r.backend} differs from Keras on output '{r.output}'; {where}")


def inspect_text(model: Path, ir: bool) -> str:
    from .inspect_model import layer_table

    compiled = compile_file(model)
    text = layer_table(compiled.spec)
    if ir:
        text += "\n\nIR before passes:\n" + compiled.before
        text += "\n\nIR after passes:\n" + compiled.graph.dump()
    return text


def import_model(source: Path, output: Path) -> None:
    """``tdc import``: a saved Keras model to a model file plus its weights file."""
    from .importer import import_keras

    if output.suffix not in (".yaml", ".yml"):
        raise TdcError("give -o a .yaml path for the model file", file=str(output))
    import_keras(source, output)
