"""``tdc bench``: latency and throughput of each backend against Keras (JAX, jitted).

The model is compiled once; every backend is prepared once (an onnxruntime CPU session,
the generated NumPy module loaded in memory, a jitted Keras call) and warmed up. The
measurement is interleaved: each round runs every backend once in turn (the order
rotating from round to round), so background load affects all backends alike.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import TdcError

BACKENDS = ("onnx", "numpy", "keras")
LABELS = {"onnx": "tdc-onnx", "numpy": "tdc-numpy", "keras": "keras-jax"}


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


def parse_backends(text: str) -> list[str]:
    """``onnx,numpy,keras`` (any subset, any order) -> a list; TdcError on anything else."""
    chosen = [b.strip() for b in text.split(",") if b.strip()]
    bad = [b for b in chosen if b not in BACKENDS]
    if bad or not chosen or len(set(chosen)) != len(chosen):
        raise TdcError(
            f"--backend {text}: unknown or repeated backend", accepted="onnx,numpy,keras"
        )
    return chosen


def _onnx_runner(compiled: Any, proto: Any, xs: list[np.ndarray]) -> Callable[[], Any]:
    from .backends.onnx import session

    sess = session(proto, "cpu")
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


def _compile(model_path: Path) -> tuple[Any, Any, tuple[str, dict], float]:
    from .api import compile_file

    start = _time.perf_counter()
    compiled = compile_file(model_path)
    proto = compiled.onnx()
    proto.SerializeToString()
    source = compiled.numpy_source()
    return compiled, proto, source, _time.perf_counter() - start


def _runners(
    compiled: Any, proto: Any, source: tuple[str, dict], xs: list[np.ndarray], backends: list[str]
) -> dict[str, tuple[Callable[[], Any], float]]:
    """Each backend's zero-argument call and the seconds it took to prepare it."""
    makers = {
        "onnx": lambda: _onnx_runner(compiled, proto, xs),
        "numpy": lambda: _numpy_runner(source, xs),
        "keras": lambda: _keras_runner(compiled, xs),
    }
    out = {}
    for name in backends:
        start = _time.perf_counter()
        fn = makers[name]()
        fn()  # first call: jit compilation, lazy initialisation
        out[name] = (fn, _time.perf_counter() - start)
    return out


def _interleaved(fns: dict[str, Callable[[], Any]], repeats: int, warmup: int) -> dict:
    """Seconds per call for each backend, ``repeats`` rounds after ``warmup`` rounds."""
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(warmup + repeats):
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
) -> list[Result]:
    """Compile ``model_path`` once and time each backend on the same seeded inputs."""
    from .verify import seeded_inputs

    backends = list(backends or BACKENDS)
    parse_backends(",".join(backends))
    if batch < 1 or time < 1 or repeats < 1 or warmup < 0:
        raise TdcError("batch, time and repeats must be >= 1 and warmup >= 0")
    compiled, proto, source, compile_s = _compile(Path(model_path))
    xs = seeded_inputs(compiled.spec, batch, time)
    runners = _runners(compiled, proto, source, xs, backends)
    times = _interleaved({n: f for n, (f, _) in runners.items()}, repeats, warmup)
    medians = {n: float(np.median(t)) for n, t in times.items()}
    ref = medians.get("keras")
    return [
        Result(
            backend=n,
            median_ms=medians[n] * 1e3,
            p90_ms=float(np.percentile(times[n], 90)) * 1e3,
            samples_per_s=batch / medians[n] if medians[n] > 0 else float("inf"),
            ratio=medians[n] / ref if ref else None,
            setup_s=runners[n][1],
            compile_s=compile_s,
            batch=batch,
            time=time,
            repeats=repeats,
        )
        for n in backends
    ]


def format_results(results: list[Result]) -> str:
    """The table ``tdc bench`` prints."""
    head = (
        f"{'backend':<10} {'median ms':>10} {'p90 ms':>10} {'samples/s':>11} "
        f"{'vs keras':>9} {'setup s':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        lines.append(
            f"{LABELS[r.backend]:<10} {r.median_ms:>10.3f} {r.p90_ms:>10.3f} "
            f"{r.samples_per_s:>11.1f} {ratio:>9} {r.setup_s:>8.2f}"
        )
    if results:
        r = results[0]
        lines.append(
            f"batch {r.batch}, time {r.time}, {r.repeats} interleaved rounds; "
            f"compile (YAML -> ONNX + NumPy) {r.compile_s * 1e3:.1f} ms\n"
            "vs keras = median latency / Keras median latency (lower is faster)"
        )
    return "\n".join(lines)
