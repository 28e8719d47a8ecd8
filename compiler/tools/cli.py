"""The ``tdc`` command line (thin: parsing here, work in the library; heavy imports lazy)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import __version__
from ..errors import TdcError, VerificationMismatch
from .options import CALIBRATION, MAX_BYTES, PRECISION, OutputPath
from .verify_cli import verify

MODEL = click.argument("model", type=click.Path(dir_okay=False, path_type=Path))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tdc")
def cli() -> None:
    """tdc: compile Keras-style sequence models (YAML + .npz) to ONNX or standalone NumPy.

    \b
    Examples:
      tdc compile model.yaml --target onnx -o model.onnx
      tdc compile model.yaml --target numpy -o model.py
      tdc verify model.yaml
    """


@cli.command(
    epilog="""\b
Examples:
  tdc compile examples/video_classifier.yaml --target onnx -o out/video.onnx
  tdc compile examples/video_classifier.yaml --target numpy -o out/video.py
  tdc compile examples/video_classifier.yaml --target onnx --streaming -o out/step.onnx
  tdc compile examples/video_classifier.yaml --target onnx --precision int8 -o out/v8.onnx
  python out/video.py frames.npy probs.npy"""
)
@MODEL
@MAX_BYTES
@click.option(
    "--target",
    type=click.Choice(["onnx", "numpy"]),
    required=True,
    help="onnx: an .onnx model; numpy: a standalone .py module plus its .npz.",
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(),
    required=True,
    help="The file to write (.onnx or .py).",
)
@click.option(
    "--streaming",
    is_flag=True,
    help="onnx: write the one-step model (inputs less their time axis, plus state_in_<k>; "
    "outputs plus state_out_<k>). numpy: refuse a model with no step form. "
    "Exit 2 naming the layer when the model is not causal in time.",
)
@PRECISION
@CALIBRATION
def compile(  # noqa: A001
    model: Path,
    target: str,
    output: Path,
    streaming: bool,
    precision: str,
    calibration: Path | None,
) -> None:
    """Compile MODEL to an ONNX model or a NumPy module."""
    from .commands import compile_to

    compile_to(model, target, output, streaming, precision, calibration)
    _wrote(output, f" and {output.with_suffix('.npz')}" if target == "numpy" else "")


@cli.command(
    epilog="""\b
Examples:
  tdc run model.yaml --backend onnx -i frames.npy -o probs.npy
  tdc run model.yaml --backend numpy -i frames=a.npy -i mask=b.npy -o out.npz
  tdc run model.yaml --backend onnx --provider cuda -i frames.npy -o probs.npy"""
)
@MODEL
@MAX_BYTES
@click.option(
    "--backend", type=click.Choice(["onnx", "numpy", "keras"]), default="onnx", show_default=True
)
@click.option(
    "-i",
    "--input",
    "inputs",
    multiple=True,
    required=True,
    help="IN.npy, or NAME=IN.npy once per input for several inputs.",
)
@click.option(
    "-o",
    "--output",
    type=OutputPath(),
    required=True,
    help="OUT.npy (one output) or OUT.npz (several, keyed by name).",
)
@click.option(
    "--provider",
    type=click.Choice(["cpu", "cuda", "auto"]),
    default="cpu",
    show_default=True,
    help="onnxruntime execution provider (onnx backend).",
)
def run(model: Path, backend: str, inputs: tuple[str, ...], output: Path, provider: str) -> None:
    """Compile MODEL in memory and run it on arrays from .npy files."""
    from .commands import run_model

    run_model(model, backend, list(inputs), output, provider)
    _wrote(output)


@cli.command(
    epilog="""\b
Examples:
  tdc inspect model.yaml
  tdc inspect model.yaml --ir"""
)
@MODEL
@MAX_BYTES
@click.option("--ir", is_flag=True, help="Also print the IR before and after the passes.")
def inspect(model: Path, ir: bool) -> None:
    """Per-layer output shapes, parameters and FLOPs of MODEL."""
    from .commands import inspect_text

    click.echo(inspect_text(model, ir))


@cli.command(
    "import",
    epilog="""\b
Examples:
  tdc import model.keras -o model.yaml
  tdc import saved/classifier.keras -o models/classifier.yaml
  tdc verify models/classifier.yaml""",
)
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@MAX_BYTES
@click.option(
    "-o",
    "--output",
    type=OutputPath(),
    required=True,
    help="The model file to write (.yaml); the weights go beside it as .npz.",
)
def import_command(source: Path, output: Path) -> None:
    """Convert a saved Keras model (SOURCE.keras) to a model file plus its weights file."""
    from .commands import import_model

    import_model(source, output)
    _wrote(output, f" and {output.with_suffix('.npz')}")


@cli.command(
    epilog="""\b
Examples:
  tdc bench examples/video_classifier.yaml
  tdc bench model.yaml --batch 32 --time 50 --repeats 50
  tdc bench model.yaml --backend onnx,keras
  tdc bench model.yaml --backend onnx --precision int8,float16,float32"""
)
@MODEL
@MAX_BYTES
@click.option("--batch", type=click.IntRange(1, 4096), default=8, show_default=True)
@click.option(
    "--time",
    "length",
    type=click.IntRange(1, 100000),
    default=16,
    show_default=True,
    help="Length of null (dynamic) axes.",
)
@click.option("--repeats", type=click.IntRange(1, 100000), default=20, show_default=True)
@click.option("--warmup", type=click.IntRange(0, 10000), default=3, show_default=True)
@click.option(
    "--backend",
    default="onnx,numpy,keras",
    show_default=True,
    help="Comma-separated backends to time: onnx, numpy, keras, keras-onnx.",
)
@click.option(
    "--keras-export",
    type=click.Choice(["auto", "tensorflow", "jax"]),
    default="auto",
    show_default=True,
    help="How keras-onnx is exported: Keras with TensorFlow (tf2onnx) or with JAX "
    "(jax2onnx); auto takes TensorFlow when it is installed.",
)
@click.option(
    "--precision",
    "precisions",
    metavar="LIST",
    help="Time the ONNX model in each of these precisions side by side (comma-separated: "
    "int8, float16, float32; int8 calibrated on seeded inputs).",
)
def bench(
    model: Path,
    batch: int,
    length: int,
    repeats: int,
    warmup: int,
    backend: str,
    keras_export: str,
    precisions: str | None,
) -> None:
    """Latency and throughput of each backend against Keras (JAX, jitted), side by side.

    Compiles MODEL once, prepares every backend once, then runs interleaved rounds (each
    backend once per round) on the same seeded inputs and prints median and p90 latency,
    samples/s and the latency ratio to Keras.
    """
    from .bench import bench as run_bench
    from .bench import format_results, parse_backends
    from .bench_runners import parse_precisions

    chosen = parse_backends(backend)
    reduced = parse_precisions(precisions)
    results = run_bench(
        model, batch, length, repeats, warmup, chosen, keras_export=keras_export, precisions=reduced
    )
    click.echo(format_results(results))


cli.add_command(verify)  # its options and what it prints: verify_cli.py


def _wrote(output: Path, more: str = "") -> None:
    """Say what was written: on stderr when the output is a stream (``-o /dev/stdout``)."""
    from ..safe_write import is_stream

    click.echo(f"wrote {output}{more}", err=is_stream(output))


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input exits 2 with one message, a verification mismatch exits 1."""
    from ..limits import set_max_bytes
    from ..safe_write import Interrupted

    try:
        cli.main(args=argv, prog_name="tdc", standalone_mode=False)
    except TdcError as e:
        click.echo(f"tdc: error: {e}", err=True)
        sys.exit(2)
    except VerificationMismatch as e:
        click.echo(f"tdc: {e}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("tdc: aborted", err=True)
        sys.exit(2)
    except click.ClickException as e:
        e.show()
        sys.exit(2)
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(2)
    except Interrupted as e:  # SIGTERM / SIGHUP: temporaries are gone; end as signalled
        sys.exit(128 + e.signum)
    except Exception as e:  # noqa: BLE001  (a bug must still not print a traceback)
        click.echo(f"tdc: internal error: {type(e).__name__}: {e} (please report this)", err=True)
        sys.exit(2)
    finally:
        set_max_bytes(None)  # --max-bytes holds for this command only, not the process
    sys.exit(0)


if __name__ == "__main__":
    main()
