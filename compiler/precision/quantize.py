"""int8 models through onnxruntime's quantization tools, chosen per model.

- **Static QDQ** (``quantize_static``: per-channel int8 weights, uint8 activations whose
  ranges come from calibration, MinMax) for models with a ``Conv`` in the main graph and for
  models without recurrent layers (``TimeDistributed`` MLPs): every Conv, MatMul and Gemm,
  and the pooling, activation and layout ops between them, run on int8.
- **Dynamic** (``quantize_dynamic``: int8 weights, activations quantized per run) for
  recurrent models without convolutions (LSTM / GRU / SimpleRNN over embeddings or
  features): their MatMul and Gemm ops (Dense heads, the step form's cell products). No
  calibration is needed; a given file is then not used (a warning says so).

Recurrent layers themselves stay float32 in the whole-sequence model: tdc emits ONNX
``LSTM``/``GRU``/``RNN`` inside an ``If`` (the empty-sequence guard), which onnxruntime's
quantizer does not reach, and GRU and RNN have no int8 kernel. Calibration runs in input
order with one sample per batch, so the same model and data give the same bytes. The
calibrator holds every value of every sample until it computes the ranges: that total is
checked against the memory cap first.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ..errors import TdcError
from .calibration import batches, load_calibration, seeded_calibration

#: ops that make a model recurrent (or hold subgraphs the quantizer does not enter).
RECURRENT = {"LSTM", "GRU", "RNN", "Scan", "Loop", "If"}
#: what static quantization puts on int8 (Softmax and Sigmoid outputs stay float32).
STATIC_OPS = [
    "Conv",
    "MatMul",
    "Gemm",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Relu",
    "Clip",
    "Add",
    "Mul",
    "Transpose",
    "Reshape",
    "Concat",
    "Squeeze",
    "Unsqueeze",
    "Resize",
]


def method(proto: onnx.ModelProto) -> str:
    """``static`` or ``dynamic`` for this model (see the module docstring)."""
    ops = {n.op_type for n in proto.graph.node}
    return "static" if "Conv" in ops or not ops & RECURRENT else "dynamic"


def quantize(
    proto: onnx.ModelProto, spec: Any, calibration: Path | None = None, step: Any = None
) -> onnx.ModelProto:
    """``proto`` in int8; ``calibration``: a .npy/.npz file (None: seeded inputs)."""
    xs = load_calibration(calibration, spec) if calibration is not None else None
    how = method(proto)
    if how == "dynamic":
        if xs is not None:
            _warn(
                "the model is quantized dynamically (recurrent, no Conv): --calibration is not used"
            )
        return _dynamic(proto)
    if xs is None:
        _warn(
            "no --calibration given: calibrating int8 ranges on seeded standard-normal "
            "inputs; pass data like the real inputs for accurate ranges"
        )
        xs = seeded_calibration(spec)
    _check_size(spec, xs)
    feeds = _step_feeds(proto, step, xs) if step is not None else _feeds(proto, xs)
    return _static(proto, feeds)


def _warn(text: str) -> None:
    print(f"tdc: warning: {text}", file=sys.stderr)


def _check_size(spec: Any, xs: list[np.ndarray]) -> None:
    """Refuse calibration whose recorded values (all samples, every value) pass the cap."""
    from ..api import compile_spec
    from ..limits import check_bytes, shape_bytes

    graph = compile_spec(spec).graph
    values = [*graph.inputs, *(v for node in graph.nodes for v in node.outputs)]
    samples = xs[0].shape[0]
    time = max((x.shape[1] for x in xs if x.ndim > 1), default=1)
    total = sum(shape_bytes(v.shape, {"N": samples}, time) for v in values)
    check_bytes(total, f"calibrating on {samples} samples (every value of each)")


def _feeds(proto: onnx.ModelProto, xs: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    names = [i.name for i in proto.graph.input]
    return batches(names, xs)


def _step_feeds(proto: onnx.ModelProto, step: Any, xs: list[np.ndarray]) -> list[dict]:
    """One feed per time step: the frame and the state the float32 step model carries."""
    from ..backends.onnx.session import session

    sess = session(proto)
    outs = [o.name for o in sess.get_outputs()]
    in_names = [v.name for v in step.graph.inputs[: len(xs)]]
    state = step.zero_feeds(xs[0].shape[0])
    feeds = []
    for t in range(xs[0].shape[1]):
        feed = {**{n: x[:, t] for n, x in zip(in_names, xs, strict=True)}, **state}
        feeds.append(feed)
        got = dict(zip(outs, sess.run(outs, feed), strict=True))
        state = {s.onnx_in: got[s.onnx_out] for s in step.states}
    return feeds


class _Reader:
    """onnxruntime's CalibrationDataReader over a fixed list of feeds."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self._it = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def __iter__(self) -> Any:
        return self._it


def _static(proto: onnx.ModelProto, feeds: list[dict]) -> onnx.ModelProto:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    def run(src: str, dst: str) -> None:
        quantize_static(
            src,
            dst,
            _Reader(feeds),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=STATIC_OPS,
            calibrate_method=CalibrationMethod.MinMax,
        )

    return _through_files(proto, run)


def _dynamic(proto: onnx.ModelProto) -> onnx.ModelProto:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def run(src: str, dst: str) -> None:
        quantize_dynamic(
            src,
            dst,
            op_types_to_quantize=["MatMul", "Gemm"],
            per_channel=True,
            weight_type=QuantType.QInt8,
        )

    return _through_files(proto, run)


def _through_files(proto: onnx.ModelProto, run: Any) -> onnx.ModelProto:
    """Run a quantizer that takes and writes files, in a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="tdc-quant-") as tmp:
        src, dst = Path(tmp, "model.onnx"), Path(tmp, "model.int8.onnx")
        src.write_bytes(proto.SerializeToString(deterministic=True))
        logging.disable(logging.WARNING)  # its advice to pre-process, on the root logger
        try:
            run(str(src), str(dst))
        except Exception as e:  # noqa: BLE001  (the quantizer's own failure, named)
            why = " ".join(str(e).split())[:200] or type(e).__name__
            raise TdcError(
                f"onnxruntime's int8 quantization failed on this model: {why}",
                accepted="--precision float16 or float32 for this model",
            ) from None
        finally:
            logging.disable(logging.NOTSET)
        out = onnx.load(str(dst))
    out.graph.name = proto.graph.name
    out.producer_name, out.producer_version = proto.producer_name, proto.producer_version
    return out
