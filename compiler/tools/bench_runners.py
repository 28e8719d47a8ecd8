"""The benchmark's backends: each prepared once into a zero-argument call that runs one batch.

tdc-ONNX and Keras's ONNX export run on onnxruntime CPU sessions with the same options;
tdc-NumPy is the generated module loaded in memory; Keras runs jitted and stateless on JAX.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..keras.export import Unavailable


def _ort_call(proto: Any, xs: list[np.ndarray], threads: int) -> Callable[[], Any]:
    """One batch on an onnxruntime CPU session (spinning off); inputs in the session's
    order, cast to its input types (Keras's export may take int64 ids)."""
    from ..backends.onnx.session import session

    sess = session(proto, "cpu", threads, spinning=False)
    names = [o.name for o in sess.get_outputs()]
    kinds = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float)": np.float32}
    feeds = {
        i.name: x.astype(kinds.get(i.type, x.dtype), copy=False)
        for i, x in zip(sess.get_inputs(), xs, strict=True)
    }
    return lambda: sess.run(names, feeds)


def onnx_runner(proto: Any, xs: list[np.ndarray], threads: int) -> Callable[[], Any]:
    return _ort_call(proto, xs, threads)


def numpy_runner(source: tuple[str, dict], xs: list[np.ndarray]) -> Callable[[], Any]:
    from ..backends.numpy.codegen import load_module

    model = load_module(*source)
    return lambda: model.predict(*xs)


def keras_runner(compiled: Any, xs: list[np.ndarray]) -> Callable[[], Any]:
    """A jitted, stateless Keras forward pass (inference mode) that blocks until ready."""
    from ..keras.oracle import keras_model

    model = keras_model(compiled.spec, compiled.weights)
    import jax

    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def forward(tv: Any, ntv: Any, inputs: Any) -> Any:
        return model.stateless_call(tv, ntv, inputs, training=False)[0]

    inputs = xs if len(xs) > 1 else xs[0]
    return lambda: jax.block_until_ready(forward(trainable, frozen, inputs))


def keras_onnx_runner(
    model_path: Path, compiled: Any, xs: list[np.ndarray], threads: int, via: str
) -> Callable[[], Any]:
    """Keras's own ONNX export of the oracle's model, on tdc's onnxruntime session options."""
    from ..keras.export import export

    call = _ort_call(export(model_path, compiled, xs, via), xs, threads)
    try:
        call()
    except Exception as e:  # the exported model does not run on onnxruntime
        raise Unavailable(f"n/a (onnxruntime rejects the export: {str(e)[-80:]})") from e
    return call


def with_precisions(
    backends: list[str], precisions: list[str] | None, compiled: Any, proto: Any
) -> tuple[list[str], dict[str, Any]]:
    """The backends with ``onnx`` replaced by one row per precision (``onnx`` for float32,
    ``onnx-int8``, ``onnx-float16``), and the reduced ONNX models by row name."""
    if not precisions:
        return backends, {}
    from ..precision import reduce

    rows = ["onnx" if p == "float32" else f"onnx-{p}" for p in precisions]
    at = backends.index("onnx") if "onnx" in backends else 0
    out = [b for b in backends if b != "onnx"]
    out[at:at] = rows
    reduced = {
        row: reduce(proto, compiled.spec, p)
        for row, p in zip(rows, precisions, strict=True)
        if p != "float32"
    }
    return out, reduced


def parse_precisions(text: str | None) -> list[str] | None:
    """``int8,float16,float32`` -> a list (None: float32 only); TdcError on anything else."""
    from ..errors import TdcError
    from ..precision import PRECISIONS

    if text is None:
        return None
    chosen = [p.strip() for p in text.split(",") if p.strip()]
    if not chosen or len(set(chosen)) != len(chosen) or set(chosen) - set(PRECISIONS):
        raise TdcError(f"--precision {text}: unknown or repeated", accepted=",".join(PRECISIONS))
    return chosen
