"""Benchmark suite: tdc-ONNX and tdc-NumPy against Keras (JAX, jitted) on realistic models.

Writes a few model files into a temporary directory, runs the interleaved measurement of
``compiler.bench`` on each (every round runs each backend once, in turn), and prints a
table of median latencies and latency ratios with geometric means; then the compile time
of a generated 100-layer model and the wall time of ``tdc --help``. With matplotlib
importable, also saves a bar chart (benchmarks/results.png by default).

    python benchmarks/run.py            # the default suite (a few minutes at most)
    python benchmarks/run.py --quick    # a ~30 s smoke run
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from compiler.bench import bench

HERE = Path(__file__).resolve().parent


def td(layer: dict[str, Any], name: str) -> dict[str, Any]:
    return {"name": name, "type": "TimeDistributed", "layer": layer}


def video(name: str, side: int, filters: tuple[int, ...], rnn: str, units: int) -> dict:
    """Frames -> per-frame Conv2D/MaxPool stack (TimeDistributed) -> LSTM/GRU -> softmax."""
    layers = []
    for i, f in enumerate(filters):
        conv = {"type": "Conv2D", "filters": f, "kernel_size": 3, "padding": "same"}
        layers.append(td({**conv, "activation": "relu"}, f"conv{i}"))
        layers.append(td({"type": "MaxPooling2D", "pool_size": 2}, f"pool{i}"))
    layers.append(td({"type": "Flatten"}, "flat"))
    layers.append({"name": "rnn", "type": rnn, "units": units})
    layers.append({"name": "probs", "type": "Dense", "units": 10, "activation": "softmax"})
    inputs = {"frames": {"shape": [None, side, side, 3], "dtype": "float32"}}
    return {"name": name, "inputs": inputs, "layers": layers, "seed": 0}


def tagger(vocab: int, dim: int, units: int, tags: int) -> dict:
    """Token ids -> Embedding -> Bidirectional(LSTM) -> per-step softmax over tags."""
    lstm = {"type": "LSTM", "units": units, "return_sequences": True}
    layers = [
        {"name": "emb", "type": "Embedding", "input_dim": vocab, "output_dim": dim},
        {"name": "bilstm", "type": "Bidirectional", "layer": lstm},
        td({"type": "Dense", "units": tags, "activation": "softmax"}, "tags"),
    ]
    inputs = {"ids": {"shape": [None], "dtype": "int32"}}
    return {"name": "bilstm_tagger", "inputs": inputs, "layers": layers, "seed": 0}


def td_mlp(features: int, hidden: int, depth: int) -> dict:
    """A per-step MLP: TimeDistributed(Dense) layers over a (time, features) sequence."""
    layers = [
        td({"type": "Dense", "units": hidden, "activation": "relu"}, f"fc{i}") for i in range(depth)
    ]
    layers.append(td({"type": "Dense", "units": 10}, "head"))
    inputs = {"x": {"shape": [None, features], "dtype": "float32"}}
    return {"name": "td_mlp", "inputs": inputs, "layers": layers, "seed": 0}


def deep_mlp(depth: int) -> dict:
    """A generated ``depth``-layer model (Dense layers over a sequence) for compile time."""
    acts = ("relu", "tanh", "sigmoid", None)
    layers = [
        {"name": f"d{i}", "type": "Dense", "units": 32, "activation": acts[i % 4]}
        for i in range(depth)
    ]
    inputs = {"x": {"shape": [None, 32], "dtype": "float32"}}
    return {"name": f"deep{depth}", "inputs": inputs, "layers": layers, "seed": 0}


def suite(quick: bool) -> list[tuple[dict, int, int]]:
    """(model, batch, time) for each benchmark; --quick shrinks sizes, not coverage."""
    if quick:
        return [
            (video("video_cnn_lstm", 16, (8,), "LSTM", 16), 2, 4),
            (video("video_cnn_gru_small", 16, (8,), "GRU", 16), 2, 4),
            (tagger(100, 16, 16, 5), 4, 10),
            (td_mlp(16, 32, 2), 4, 10),
        ]
    return [
        (video("video_cnn_lstm", 32, (16, 32), "LSTM", 64), 4, 8),
        (video("video_cnn_gru_small", 24, (8,), "GRU", 32), 4, 8),
        (video("video_cnn_gru_large", 48, (16, 32), "GRU", 128), 4, 8),
        (tagger(2000, 64, 64, 12), 16, 40),
        (td_mlp(64, 256, 3), 32, 50),
    ]


def write(tmp: Path, model: dict) -> Path:
    path = tmp / f"{model['name']}.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    return path


def gmean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def measure(tmp: Path, quick: bool, repeats: int) -> list[dict[str, Any]]:
    rows = []
    models = suite(quick)
    for i, (model, batch, length) in enumerate(models, 1):
        label = f"[{i}/{len(models)}] {model['name']} (batch {batch}, time {length})"
        print(f"{label} ...", end="", flush=True, file=sys.stderr)
        start = time.perf_counter()
        results = {r.backend: r for r in bench(write(tmp, model), batch, length, repeats, 2)}
        print(f" done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        rows.append({"name": model["name"], "batch": batch, "time": length, **results})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'model':<22} {'B':>3} {'T':>4} {'onnx ms':>9} {'numpy ms':>9} {'keras ms':>9} "
        f"{'onnx/keras':>11} {'numpy/keras':>12} {'numpy/onnx':>11}"
    )
    lines = [head, "-" * len(head)]
    ratios: list[tuple[float, float, float]] = []
    for r in rows:
        o, n, k = r["onnx"].median_ms, r["numpy"].median_ms, r["keras"].median_ms
        ratios.append((o / k, n / k, n / o))
        lines.append(
            f"{r['name']:<22} {r['batch']:>3} {r['time']:>4} {o:>9.3f} {n:>9.3f} {k:>9.3f} "
            f"{o / k:>11.2f} {n / k:>12.2f} {n / o:>11.2f}"
        )
    g = [gmean([x[j] for x in ratios]) for j in range(3)]
    lines.append("-" * len(head))
    lines.append(f"{'geometric mean':<52} {g[0]:>11.2f} {g[1]:>12.2f} {g[2]:>11.2f}")
    lines.append(
        "ms = median latency per batch; ratios are latency ratios (lower = first is faster)"
    )
    return "\n".join(lines)


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
    cmd = [exe, "--help"] if exe else [sys.executable, "-m", "compiler.cli", "--help"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the chart", file=sys.stderr)
        return
    names = [r["name"] for r in rows]
    x = range(len(rows))
    fig, ax = plt.subplots(figsize=(9, 4))
    for j, (key, label) in enumerate([("onnx", "tdc-ONNX"), ("numpy", "tdc-NumPy")]):
        ratios = [r[key].median_ms / r["keras"].median_ms for r in rows]
        ax.bar([i + (j - 0.5) * 0.4 for i in x], ratios, width=0.4, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8, label="Keras-JAX")
    ax.set_xticks(list(x), names, rotation=20, ha="right")
    ax.set_ylabel("latency / Keras-JAX latency (lower is faster)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small models, few rounds (~30 s)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved rounds per model")
    ap.add_argument("--chart", type=Path, default=HERE / "results.png", help="PNG to write")
    ap.add_argument("--no-chart", action="store_true", help="do not draw the chart")
    args = ap.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 15)
    with tempfile.TemporaryDirectory(prefix="tdc-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rows = measure(tmp, args.quick, repeats)
        depth = 100
        compile_s = compile_time(tmp, depth)
    help_s = help_time(1 if args.quick else 3)
    print(table(rows))
    print(
        f"\ncompile time, generated {depth}-layer model (YAML -> ONNX + NumPy): "
        f"{compile_s * 1e3:.0f} ms"
    )
    print(f"tdc --help wall time (fresh process, median): {help_s * 1e3:.0f} ms")
    print(
        f"{repeats} interleaved rounds per model after 2 warmup rounds; CPU; "
        "onnxruntime default threads"
    )
    if not args.no_chart:
        chart(rows, args.chart)


if __name__ == "__main__":
    main()
