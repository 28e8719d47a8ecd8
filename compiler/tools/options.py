"""Options shared by the ``tdc`` commands: output paths and the memory cap."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import TdcError


class OutputPath(click.ParamType):
    """An output file: not empty, not a folder (``out/`` or an existing folder)."""

    name = "path"

    def convert(self, value: object, param: click.Parameter | None, ctx: object) -> Path:
        text = str(value)
        hint = "/".join(param.opts) if param is not None else "-o"
        if not text.strip():
            raise TdcError(f"{hint} '{text}': no file name", accepted=f"{hint} FILE")
        if text.endswith(("/", "\\")) or Path(text).is_dir():
            raise TdcError(
                f"{hint} {text}: this is a folder, not a file",
                file=text,
                accepted=f"{hint} FILE (a file path; missing folders are created)",
            )
        return Path(text)


def _set_max_bytes(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    from ..limits import SIZE_FORM, parse_size, set_max_bytes

    if value is None:
        set_max_bytes(None)
        return
    try:
        set_max_bytes(parse_size(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not {SIZE_FORM}") from None


MAX_BYTES = click.option(
    "--max-bytes",
    expose_value=False,
    is_eager=True,
    callback=_set_max_bytes,
    metavar="SIZE",
    help="Memory cap for the arrays tdc may hold (weights, inputs, the largest value), "
    "checked before anything is allocated. Default 2GiB (or TDC_MAX_BYTES).",
)


PRECISION = click.option(
    "--precision",
    type=click.Choice(["float32", "float16", "int8"]),
    default="float32",
    show_default=True,
    help="float16: weights stored as float16 (onnx: float16 where onnxruntime's CPU kernels "
    "allow, float32 elsewhere; numpy: computed in float32). int8 (onnx): onnxruntime "
    "quantization, static on calibration data or dynamic for recurrent models. Inputs and "
    "outputs stay float32.",
)
CALIBRATION = click.option(
    "--calibration",
    type=click.Path(dir_okay=False, path_type=Path),
    help="int8: calibration inputs, DATA.npz keyed by input name or DATA.npy for a "
    "one-input model, shaped (samples, ...) like the model's inputs. Default: seeded "
    "standard-normal inputs (with a warning).",
)
