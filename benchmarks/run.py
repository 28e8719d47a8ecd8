"""Benchmark suite: tdc-ONNX and tdc-NumPy against Keras (JAX, jitted) and Keras's own ONNX
export on realistic models (``models.py``).

Writes the model files into a temporary directory, runs the interleaved measurement of
``compiler.tools.bench`` on each (every round runs each backend once, in turn) with a progress
bar on stderr, and prints latency and throughput per backend, latency ratios with
geometric means, and tdc-ONNX's achieved FLOP/s against the machine's peak (a large
float32 ``np.matmul`` measured in the same run); then the compile time of a generated
100-layer model and the wall time of ``tdc --help``. With matplotlib importable
(``pip install tdc[bench]``), also saves a bar chart (benchmarks/results.png by default).

    python benchmarks/run.py            # the default suite (a few minutes at most)
    python benchmarks/run.py --quick    # a ~30 s smoke run
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from models import deep_mlp, suite
from report import Bar, chart, table

from compiler.tools.bench import bench, machine_peak

HERE = Path(__file__).resolve().parent


def write(tmp: Path, model: dict) -> Path:
    path = tmp / f"{model['name']}.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    return path


def measure(tmp: Path, args: argparse.Namespace, repeats: int) -> list[dict[str, Any]]:
    """Each suite model timed interleaved on every backend, with a progress bar on stderr."""
    rows = []
    models = suite(args.quick)
    bar = Bar(len(models))
    for i, (model, batch, length) in enumerate(models):
        name = model["name"]

        def progress(what: str, done: float, i: int = i, name: str = name) -> None:
            bar.show(i, name, what, done)

        results = bench(
            write(tmp, model),
            batch,
            length,
            repeats,
            2,
            progress=progress,
            ort_threads=args.ort_threads,
            keras_export=args.keras_export,
        )
        rows.append(
            {"name": name, "batch": batch, "time": length} | {r.backend: r for r in results}
        )
    bar.close()
    return rows


def compile_time(tmp: Path, depth: int) -> float:
    """Seconds from the YAML file to both outputs (ONNX bytes and NumPy source)."""
    from compiler.api import compile_file

    path = write(tmp, deep_mlp(depth))
    start = time.perf_counter()
    compiled = compile_file(path)
    compiled.onnx().SerializeToString()
    compiled.numpy_source()
    return time.perf_counter() - start


def help_time(runs: int) -> float:
    """Median wall time of ``tdc --help`` in a fresh process."""
    exe = shutil.which("tdc", path=str(Path(sys.executable).parent))
    cmd = [exe, "--help"] if exe else [sys.executable, "-m", "compiler.tools.cli", "--help"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small models, few rounds (~30 s)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved rounds per model")
    ap.add_argument("--chart", type=Path, default=HERE / "results.png", help="PNG to write")
    ap.add_argument("--no-chart", action="store_true", help="do not draw the chart")
    ap.add_argument(
        "--ort-threads",
        type=int,
        default=0,
        help="onnxruntime intra-op threads (0: its default, one per core; idle threads do not "
        "spin, so they leave the CPU to the backend timed next)",
    )
    ap.add_argument(
        "--keras-export",
        choices=("auto", "tensorflow", "jax"),
        default="auto",
        help="how Keras-ONNX is exported: Keras with TensorFlow (tf2onnx, in a child process) "
        "or with JAX (jax2onnx); auto takes TensorFlow when it is installed",
    )
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)
    with tempfile.TemporaryDirectory(prefix="tdc-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rows = measure(tmp, args, repeats)
        peak = machine_peak()
        depth = 100
        compile_s = compile_time(tmp, depth)
    help_s = help_time(1 if args.quick else 3)
    print(table(rows, peak))
    print(
        f"\ncompile time, generated {depth}-layer model (YAML -> ONNX + NumPy): "
        f"{compile_s * 1e3:.0f} ms"
    )
    print(f"tdc --help wall time (fresh process, median): {help_s * 1e3:.0f} ms")
    print(
        f"{repeats} interleaved rounds per model after 2 warmup rounds; CPU; "
        f"onnxruntime intra-op threads: {args.ort_threads or 'default'} (no spinning); "
        "peak = best of 5 float32 2048x2048 np.matmul "
        "(NumPy's BLAS, all threads)"
    )
    if not args.no_chart:
        chart(rows, args.chart)


if __name__ == "__main__":
    main()
