"""Running an ONNX model on onnxruntime: sessions on the CPU or CUDA provider, and ``run``."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

from ...errors import TdcError
from . import save as onnx_save


def session(
    model: onnx.ModelProto, provider: str = "cpu", threads: int = 0, spinning: bool = True
) -> Any:
    """An onnxruntime session; ``provider`` is cpu, cuda or auto; ``threads`` the intra-op
    threads (0: onnxruntime's default, one per physical core). ``spinning=False`` stops idle
    intra-op threads from busy-waiting after a run, which would take the CPU from whatever
    runs next (the benchmark's other backends)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if provider == "cuda" and "CUDAExecutionProvider" not in available:
        raise TdcError(
            "--provider cuda: onnxruntime has no CUDA provider here "
            f"(available: {', '.join(available)}); install onnxruntime-gpu on a machine with "
            "an NVIDIA GPU, or use --provider cpu|auto"
        )
    providers = ["CPUExecutionProvider"]
    if provider in ("cuda", "auto") and "CUDAExecutionProvider" in available:
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if onnx_save.initializer_bytes(model) <= onnx_save.THRESHOLD:
        return ort.InferenceSession(model.SerializeToString(), opts, providers=providers)
    # past protobuf's 2 GiB: load from a scratch model file plus external data (this moves
    # the large initializers of ``model`` out to that file)
    text, data = onnx_save.serialise(model, "model.onnx.data", onnx_save.THRESHOLD)
    with onnx_save.on_disk(text, data or b"", "model.onnx.data") as path:
        return ort.InferenceSession(str(path), opts, providers=providers)


def run(
    model: onnx.ModelProto, inputs: dict[str, np.ndarray], provider: str = "cpu"
) -> dict[str, np.ndarray]:
    sess = session(model, provider)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, inputs), strict=True))
