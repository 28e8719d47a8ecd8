"""``tdc bench``: latency and throughput of each backend against Keras (JAX, jitted).

The model is compiled once; every backend is prepared once (an onnxruntime CPU session,
the generated NumPy module loaded in memory, a jitted Keras call, and for ``keras-onnx``
Keras's own ``model.export(format="onnx")`` run on an onnxruntime session with the same
options as tdc's) and warmed up. The measurement is interleaved: each round runs every
backend once in turn (the order rotating from round to round), so background load
affects all backends alike. A backend that cannot be prepared (``keras-onnx`` without
the exporter Keras needs) gets a row saying why instead of timings.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import TdcError

BACKENDS = ("onnx", "numpy", "keras", "keras-onnx")
LABELS = {
    "onnx": "tdc-onnx",
    "numpy": "tdc-numpy",
    "keras": "keras-jax",
    "keras-onnx": "keras-onnx",
}
Progress = Callable[[str, float], None]  # (what is happening, fraction done of this model)


@dataclass
class Result:
    backend: str  # onnx, numpy or keras
    median_ms: float  # median latency of one batch, after warmup
    p90_ms: float  # 90th-percentile latency
    samples_per_s: float  # batch / median latency
    ratio: float | None  # median latency / Keras median latency (None without keras)
    setup_s: float  # preparing this backend (session, module load, model build + jit)
    compile_s: float  # YAML -> ONNX model and NumPy module (once, shared by all rows)
    batch: int
    time: int
    repeats: int
    flops: int = 0  # floating-point operations of one batch (model FLOPs, not the backend's)
    note: str = ""  # why a backend has no timings ("n/a (...)")

    @property
    def gflops_per_s(self) -> float:
        """Achieved GFLOP/s: model FLOPs of one batch / median latency."""
        return self.flops / self.median_ms / 1e6 if self.median_ms > 0 else float("nan")


def parse_backends(text: str) -> list[str]:
    """``onnx,numpy,keras`` (any subset, any order) -> a list; TdcError on anything else."""
    chosen = [b.strip() for b in text.split(",") if b.strip()]
    bad = [b for b in chosen if b not in BACKENDS]
    if bad or not chosen or len(set(chosen)) != len(chosen):
        raise TdcError(
            f"--backend {text}: unknown or repeated backend", accepted=",".join(BACKENDS)
        )
    return chosen


def _onnx_runner(
    compiled: Any, proto: Any, xs: list[np.ndarray], threads: int
) -> Callable[[], Any]:
    from .backends.onnx import session

    sess = session(proto, "cpu", threads)
    names = [o.name for o in sess.get_outputs()]
    feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
    return lambda: sess.run(names, feeds)


def _numpy_runner(source: tuple[str, dict], xs: list[np.ndarray]) -> Callable[[], Any]:
    from .backends.numpy import load_module

    model = load_module(*source)
    return lambda: model.predict(*xs)


def _keras_runner(compiled: Any, xs: list[np.ndarray]) -> Callable[[], Any]:
    """A jitted, stateless Keras forward pass (inference mode) that blocks until ready."""
    from .backends.keras import keras_model

    model = keras_model(compiled.spec, compiled.weights)
    import jax

    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def forward(tv: Any, ntv: Any, inputs: Any) -> Any:
        return model.stateless_call(tv, ntv, inputs, training=False)[0]

    inputs = xs if len(xs) > 1 else xs[0]
    return lambda: jax.block_until_ready(forward(trainable, frozen, inputs))


def _keras_onnx_runner(compiled: Any, xs: list[np.ndarray], threads: int) -> Callable[[], Any]:
    """Keras's own ONNX export of the oracle's model, on tdc's onnxruntime session options."""
    import tempfile

    import onnx

    from .backends.keras import keras_model
    from .backends.onnx import session

    model = keras_model(compiled.spec, compiled.weights)
    import keras

    specs = [keras.InputSpec(shape=x.shape, dtype=str(x.dtype)) for x in xs]
    try:
        with tempfile.TemporaryDirectory(prefix="tdc-keras-onnx-") as tmp:
            path = Path(tmp) / "keras.onnx"
            signature = specs if len(specs) == 1 else [specs]  # fixed shapes: batch and time
            model.export(str(path), format="onnx", verbose=False, input_signature=signature)
            proto = onnx.load(str(path))
    except ImportError as e:
        text = str(e)
        missing = text.split("pip install ")[-1].strip("`. ") if "pip install" in text else text
        raise Unavailable(f"n/a (Keras's ONNX export needs {missing})") from e
    except Exception as e:  # any exporter failure: report it and time the other backends
        raise Unavailable(f"n/a (export failed: {str(e).splitlines()[0][:80]})") from e
    sess = session(proto, "cpu", threads)
    names = [o.name for o in sess.get_outputs()]
    kinds = {"tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(float)": np.float32}
    feeds = {
        i.name: x.astype(kinds.get(i.type, x.dtype))
        for i, x in zip(sess.get_inputs(), xs, strict=True)
    }
    try:
        sess.run(names, feeds)
    except Exception as e:  # the exported model does not run on onnxruntime
        raise Unavailable(f"n/a (onnxruntime rejects the export: {str(e)[-80:]})") from e
    return lambda: sess.run(names, feeds)


class Unavailable(Exception):
    """A backend that cannot be prepared here; the message says why."""


def model_flops(spec: Any, batch: int, time: int) -> int:
    """FLOPs of one batch: the IR ops' counts with null axes set to ``time``, times ``batch``."""
    from dataclasses import replace

    from .lowering import Builder
    from .registry import get_op

    fixed = [
        replace(i, shape=tuple(time if d is None else d for d in i.shape)) for i in spec.inputs
    ]
    graph = Builder(replace(spec, inputs=fixed)).build()
    for node in graph.nodes:  # per batch item: "N" is 1, so "N*8" (folded time) is 8
        for v in [*node.inputs, *node.outputs]:
            v.shape = tuple(_per_item(d) for d in v.shape)
    return batch * sum(get_op(n.op).flops(n) for n in graph.nodes)


def _per_item(dim: Any) -> int:
    """A dim with the batch symbol ``N`` set to 1 (all other axes are static here)."""
    if isinstance(dim, int):
        return dim
    return math.prod(1 if part == "N" else int(part) for part in str(dim).split("*"))


def machine_peak(size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a float32 ``size`` x ``size`` np.matmul (NumPy's BLAS, all its threads), best of
    ``repeats``: the reference peak achieved FLOP/s are compared with."""
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    np.matmul(a, a)
    best = min(_timed(lambda: np.matmul(a, a)) for _ in range(repeats))
    return 2 * size**3 / best


def _timed(fn: Callable[[], Any]) -> float:
    start = _time.perf_counter()
    fn()
    return _time.perf_counter() - start


def _compile(model_path: Path) -> tuple[Any, Any, tuple[str, dict], float]:
    from .api import compile_file

    start = _time.perf_counter()
    compiled = compile_file(model_path)
    proto = compiled.onnx()
    proto.SerializeToString()
    source = compiled.numpy_source()
    return compiled, proto, source, _time.perf_counter() - start


def _runners(
    compiled: Any,
    proto: Any,
    source: tuple[str, dict],
    xs: list[np.ndarray],
    backends: list[str],
    progress: Progress,
    ort_threads: int = 0,
) -> tuple[dict[str, tuple[Callable[[], Any], float]], dict[str, str]]:
    """Each backend's zero-argument call and the seconds it took to prepare it; and the
    backends that could not be prepared, with the reason."""
    makers = {
        "onnx": lambda: _onnx_runner(compiled, proto, xs, ort_threads),
        "numpy": lambda: _numpy_runner(source, xs),
        "keras": lambda: _keras_runner(compiled, xs),
        "keras-onnx": lambda: _keras_onnx_runner(compiled, xs, ort_threads),
    }
    out, missing = {}, {}
    for k, name in enumerate(backends):
        progress(f"preparing {LABELS[name]}", 0.3 * k / len(backends))
        start = _time.perf_counter()
        try:
            fn = makers[name]()
        except Unavailable as e:
            missing[name] = str(e)
            continue
        fn()  # first call: jit compilation, lazy initialisation
        out[name] = (fn, _time.perf_counter() - start)
    return out, missing


def interleaved(
    fns: dict[str, Callable[[], Any]], repeats: int, warmup: int, progress: Progress
) -> dict:
    """Seconds per call for each backend, ``repeats`` rounds after ``warmup`` rounds."""
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + repeats):
        progress(f"round {r + 1}/{warmup + repeats}", 0.3 + 0.7 * r / (warmup + repeats))
        k = r % len(names)
        for name in names[k:] + names[:k]:
            start = _time.perf_counter()
            fns[name]()
            elapsed = _time.perf_counter() - start
            if r >= warmup:
                times[name].append(elapsed)
    return times


def bench(
    model_path: str | Path,
    batch: int = 8,
    time: int = 16,
    repeats: int = 20,
    warmup: int = 3,
    backends: list[str] | None = None,
    progress: Progress | None = None,
    ort_threads: int = 0,
) -> list[Result]:
    """Compile ``model_path`` once and time each backend on the same seeded inputs.

    ``ort_threads``: onnxruntime's intra-op threads (0: its default, one per core).
    """
    from .verify import seeded_inputs

    backends = list(backends or BACKENDS)
    parse_backends(",".join(backends))
    if batch < 1 or time < 1 or repeats < 1 or warmup < 0:
        raise TdcError("batch, time and repeats must be >= 1 and warmup >= 0")
    progress = progress or (lambda what, done: None)
    progress("compiling", 0.0)
    compiled, proto, source, compile_s = _compile(Path(model_path))
    xs = seeded_inputs(compiled.spec, batch, time)
    runners, missing = _runners(compiled, proto, source, xs, backends, progress, ort_threads)
    times = interleaved({n: f for n, (f, _) in runners.items()}, repeats, warmup, progress)
    progress("done", 1.0)
    medians = {n: float(np.median(t)) for n, t in times.items()}
    ref = medians.get("keras")
    common = dict(
        compile_s=compile_s,
        batch=batch,
        time=time,
        repeats=repeats,
        flops=model_flops(compiled.spec, batch, time),
    )
    nan = float("nan")
    return [
        Result(n, nan, nan, nan, None, 0.0, note=missing[n], **common)
        if n in missing
        else Result(
            backend=n,
            median_ms=medians[n] * 1e3,
            p90_ms=float(np.percentile(times[n], 90)) * 1e3,
            samples_per_s=batch / medians[n] if medians[n] > 0 else float("inf"),
            ratio=medians[n] / ref if ref else None,
            setup_s=runners[n][1],
            **common,
        )
        for n in backends
    ]


def format_results(results: list[Result]) -> str:
    """The table ``tdc bench`` prints."""
    head = (
        f"{'backend':<10} {'median ms':>10} {'p90 ms':>10} {'samples/s':>11} "
        f"{'GFLOP/s':>8} {'vs keras':>9} {'setup s':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        if r.note:
            lines.append(f"{LABELS[r.backend]:<10} {r.note}")
            continue
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        lines.append(
            f"{LABELS[r.backend]:<10} {r.median_ms:>10.3f} {r.p90_ms:>10.3f} "
            f"{r.samples_per_s:>11.1f} {r.gflops_per_s:>8.2f} {ratio:>9} {r.setup_s:>8.2f}"
        )
    if results:
        r = results[0]
        lines.append(
            f"batch {r.batch}, time {r.time}, {r.repeats} interleaved rounds; "
            f"{r.flops / 1e6:.3g} MFLOP per batch; "
            f"compile (YAML -> ONNX + NumPy) {r.compile_s * 1e3:.1f} ms\n"
            "vs keras = median latency / Keras median latency (lower is faster); "
            "GFLOP/s = model FLOPs / median latency"
        )
    return "\n".join(lines)
