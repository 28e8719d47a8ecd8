"""``tdc bench``: latency and throughput of each backend against Keras (JAX, jitted).

The model is compiled once; every backend is prepared once (an onnxruntime CPU session,
the generated NumPy module loaded in memory, a jitted Keras call, and for ``keras-onnx``
Keras's own ``model.export(format="onnx")`` (``keras_export``: through TensorFlow when it
is installed) run on an onnxruntime session with the same options as tdc's) and warmed
up (``bench_runners``). The measurement is interleaved: each round runs every
backend once in turn (the order rotating from round to round), so background load
affects all backends alike. A backend that cannot be prepared (``keras-onnx`` without
the exporter Keras needs) gets a row saying why instead of timings.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TdcError
from ..keras.export import LABELS as EXPORT_LABELS
from ..keras.export import Unavailable, pick_route
from . import bench_runners as br

BACKENDS = ("onnx", "numpy", "keras", "keras-onnx")
LABELS = {
    "onnx": "tdc-onnx",
    "numpy": "tdc-numpy",
    "keras": "keras-jax",
    "keras-onnx": "keras-onnx",
    "onnx-float16": "tdc-onnx-fp16",
    "onnx-int8": "tdc-onnx-int8",
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
    detail: str = ""  # how the backend ran (keras-onnx: the export route)

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


def model_flops(spec: Any, batch: int, time: int) -> int:
    """FLOPs of one batch: the IR ops' counts with null axes set to ``time``, times ``batch``."""
    from dataclasses import replace

    from ..ir.lowering import Builder
    from ..ops import get_op

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
    from ..api import compile_file

    start = _time.perf_counter()
    compiled = compile_file(model_path)
    proto = compiled.onnx()
    proto.SerializeToString()
    source = compiled.numpy_source()
    return compiled, proto, source, _time.perf_counter() - start


@dataclass(frozen=True)
class Setup:
    """What every backend is prepared from: the compiled model, its inputs and the knobs."""

    model_path: Path
    compiled: Any
    proto: Any  # tdc's ONNX model
    source: tuple[str, dict]  # tdc's NumPy module: source and weights
    xs: list[np.ndarray]
    ort_threads: int = 0  # onnxruntime intra-op threads (0: its default)
    keras_export: str = "auto"  # the route of Keras's ONNX export (keras_export.ROUTES)
    reduced: dict[str, Any] = field(default_factory=dict)  # "onnx-int8" -> its ONNX model


def _runners(
    setup: Setup, backends: list[str], progress: Progress
) -> tuple[dict[str, tuple[Callable[[], Any], float]], dict[str, str]]:
    """Each backend's zero-argument call and the seconds it took to prepare it; and the
    backends that could not be prepared, with the reason."""
    s = setup
    makers = {
        "onnx": lambda: br.onnx_runner(s.proto, s.xs, s.ort_threads),
        "numpy": lambda: br.numpy_runner(s.source, s.xs),
        "keras": lambda: br.keras_runner(s.compiled, s.xs),
        "keras-onnx": lambda: br.keras_onnx_runner(
            s.model_path, s.compiled, s.xs, s.ort_threads, s.keras_export
        ),
    }
    for name, proto in s.reduced.items():
        makers[name] = lambda proto=proto: br.onnx_runner(proto, s.xs, s.ort_threads)
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
    keras_export: str = "auto",
    precisions: list[str] | None = None,
) -> list[Result]:
    """Compile ``model_path`` once and time each backend on the same seeded inputs.

    ``ort_threads``: onnxruntime's intra-op threads (0: its default, one per core).
    ``keras_export``: how ``keras-onnx`` is exported (``auto``, ``tensorflow``, ``jax``).
    ``precisions``: the ONNX model in each (float32, float16, int8), one row each, in
    place of the ``onnx`` row (int8 calibrated on seeded inputs).
    """
    from .commands import check_seeded_size
    from .verify import seeded_inputs

    backends = list(backends or BACKENDS)
    parse_backends(",".join(backends))
    if batch < 1 or time < 1 or repeats < 1 or warmup < 0:
        raise TdcError("batch, time and repeats must be >= 1 and warmup >= 0")
    progress = progress or (lambda what, done: None)
    progress("compiling", 0.0)
    compiled, proto, source, compile_s = _compile(Path(model_path))
    check_seeded_size(compiled, batch, time)
    xs = seeded_inputs(compiled.spec, batch, time)
    backends, reduced = br.with_precisions(backends, precisions, compiled, proto)
    setup = Setup(Path(model_path), compiled, proto, source, xs, ort_threads, keras_export, reduced)
    runners, missing = _runners(setup, backends, progress)
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
            detail=_detail(n, keras_export),
            **common,
        )
        for n in backends
    ]


def _detail(backend: str, keras_export: str) -> str:
    if backend != "keras-onnx":
        return ""
    return f"Keras's model.export(format='onnx') via {EXPORT_LABELS[pick_route(keras_export)]}"


def format_results(results: list[Result]) -> str:
    """The table ``tdc bench`` prints."""
    head = (
        f"{'backend':<14} {'median ms':>10} {'p90 ms':>10} {'samples/s':>11} "
        f"{'GFLOP/s':>8} {'vs keras':>9} {'setup s':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        if r.note:
            lines.append(f"{LABELS[r.backend]:<14} {r.note}")
            continue
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        lines.append(
            f"{LABELS[r.backend]:<14} {r.median_ms:>10.3f} {r.p90_ms:>10.3f} "
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
    lines += [f"{LABELS[r.backend]}: {r.detail}" for r in results if r.detail]
    return "\n".join(lines)
