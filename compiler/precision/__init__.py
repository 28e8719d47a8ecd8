"""Reduced precision: int8 (onnxruntime quantization) and float16 models from tdc's ONNX.

``reduce(proto, spec, precision, calibration)`` is the one entry point: ``quantize.py``
makes int8 models (static QDQ on calibration data, or dynamic where static does not
apply), ``float16.py`` float16 ones, ``calibration.py`` reads or draws the calibration data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import TdcError

#: What ``--precision`` accepts.
PRECISIONS = ("float32", "float16", "int8")


def check_options(target: str, precision: str, calibration: Path | None) -> None:
    """Refuse a precision the target cannot take (numpy: float32 or float16) and a
    calibration file where nothing is calibrated (only int8 is)."""
    allowed = PRECISIONS if target == "onnx" else ("float32", "float16")
    if precision not in allowed:
        raise TdcError(
            f"--precision {precision} with --target {target}", accepted=", ".join(allowed)
        )
    if calibration is not None and precision != "int8":
        raise TdcError(
            f"--calibration with --precision {precision}: only int8 is calibrated",
            accepted="--precision int8 --calibration DATA.npy|DATA.npz",
        )


def reduce(
    proto: Any,
    spec: Any,
    precision: str,
    calibration: Path | None = None,
    step: Any = None,
) -> Any:
    """``proto`` (tdc's float32 ONNX model) in ``precision``; inputs and outputs stay float32.

    ``step``: the model's ``StepGraph`` when ``proto`` is its step form (calibration then
    runs the sequence frame by frame, carrying the state).
    """
    if precision == "float32":
        return proto
    if precision == "float16":
        from .float16 import to_float16

        return to_float16(proto)
    from .quantize import quantize

    return quantize(proto, spec, calibration, step)
