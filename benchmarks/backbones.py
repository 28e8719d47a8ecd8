"""keras.applications backbones through ``tdc import``: tdc-ONNX and tdc-NumPy against
Keras-JAX (jitted) and Keras's own ONNX export (Keras-ONNX), side by side in one run.

Models (weights=None, 64x64 RGB, include_top=False, pooling="avg", BatchNormalization
statistics calibrated on one random batch so features are of order one): flat MobileNetV2
and ResNet50 at batch 8 and 16, and ``TimeDistributed(MobileNetV2) -> LSTM(32) -> Dense(5,
softmax)`` at batch 2 x 8 frames. Each is saved as ``.keras``, imported with ``tdc import``
and timed by ``compiler.tools.bench`` (interleaved rounds, median latency). Prints per
model the latencies, tdc-ONNX / Keras-ONNX, tdc-ONNX / Keras-JAX, tdc-NumPy / tdc-ONNX, and
tdc-ONNX's GFLOP/s and share of the machine's float32 matmul peak (measured in this run).

    python benchmarks/backbones.py                   # a few minutes on 2 cores
    python benchmarks/backbones.py --quick           # smoke: MobileNetV2 32x32, batch 2
    TDC_EXPORT_PYTHON=/path/tfvenv/bin/python python benchmarks/backbones.py

Keras-ONNX goes through TensorFlow + tf2onnx in a child process (``--keras-export``);
``TDC_EXPORT_PYTHON`` names an interpreter with TensorFlow when tdc's own has none.
Without an exporter its column says n/a and the rest is timed as usual.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's compiler

from compiler.keras.calibrate import calibrate_batchnorm  # noqa: E402
from compiler.tools.bench import Result, bench, machine_peak  # noqa: E402

#: (row name, keras.applications class, batch, frames: None for the flat backbone)
FULL = [
    ("MobileNetV2", "MobileNetV2", 8, None),
    ("MobileNetV2", "MobileNetV2", 16, None),
    ("ResNet50", "ResNet50", 8, None),
    ("ResNet50", "ResNet50", 16, None),
    ("TD(MobileNetV2)-LSTM", "MobileNetV2", 2, 8),
]
QUICK = [("MobileNetV2", "MobileNetV2", 2, None)]


def imported_backbone(tmp: Path, name: str, size: int) -> Path:
    """keras.applications ``name`` saved and imported: the model file's path."""
    import keras

    from compiler.keras.importer import import_keras

    keras.utils.set_random_seed(0)
    make = getattr(keras.applications, name)
    model = make(weights=None, include_top=False, input_shape=(size, size, 3), pooling="avg")
    calibrate_batchnorm(
        model, np.random.default_rng(0).normal(size=(64, size, size, 3)).astype("f4")
    )
    src = tmp / f"{name.lower()}_{size}.keras"
    model.save(src)
    dst = src.with_suffix(".yaml")
    import_keras(src, dst)
    return dst


def video_model(tmp: Path, backbone: Path, size: int) -> Path:
    """Frames -> TimeDistributed(backbone) -> LSTM(32) -> Dense(5, softmax)."""
    model = {
        "name": "video_backbone",
        "inputs": {"frames": {"shape": [None, size, size, 3], "dtype": "float32"}},
        "layers": [
            {
                "name": "cnn",
                "type": "TimeDistributed",
                "layer": {"type": "Functional", "file": backbone.name},
            },
            {"name": "lstm", "type": "LSTM", "units": 32},
            {"name": "probs", "type": "Dense", "units": 5, "activation": "softmax"},
        ],
        "seed": 0,
    }
    path = tmp / f"video_{backbone.stem}.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    return path


def measure(
    tmp: Path, cases: list, size: int, repeats: int, args: argparse.Namespace
) -> list[dict[str, Any]]:
    files: dict[str, Path] = {}
    rows = []
    for label, app, batch, frames in cases:
        if app not in files:
            print(f"building and importing {app} {size}x{size}", file=sys.stderr, flush=True)
            files[app] = imported_backbone(tmp, app, size)
        path = files[app] if frames is None else video_model(tmp, files[app], size)
        print(f"timing {label} batch {batch}", file=sys.stderr, flush=True)
        results = bench(
            path,
            batch,
            frames or 1,
            repeats,
            args.warmup,
            ort_threads=args.ort_threads,
            keras_export=args.keras_export,
        )
        rows.append(
            {"name": label, "batch": batch, "frames": frames} | {r.backend: r for r in results}
        )
    return rows


def _ms(r: Result | None) -> float:
    return float("nan") if r is None or r.note else r.median_ms


def _f(v: float, width: int, digits: int = 2) -> str:
    return f"{v:>{width}.{digits}f}" if v == v else f"{'n/a':>{width}}"


def table(rows: list[dict[str, Any]], peak: float) -> str:
    head = (
        f"{'model':<21} {'batch':>6} {'tdc-onnx':>9} {'keras-onnx':>10} {'keras-jax':>9} "
        f"{'tdc-numpy':>9} {'onnx/k-onnx':>11} {'onnx/k-jax':>10} {'numpy/onnx':>10} "
        f"{'GFLOP/s':>8} {'% peak':>7} {'GFLOP':>7}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        onnx, konnx, kjax, npy = (_ms(row.get(k)) for k in ("onnx", "keras-onnx", "keras", "numpy"))
        r = row["onnx"]
        gfs = r.flops / (onnx * 1e6) if onnx == onnx else float("nan")
        batch = f"{row['batch']}x{row['frames']}" if row["frames"] else str(row["batch"])
        lines.append(
            f"{row['name']:<21} {batch:>6} {_f(onnx, 9, 1)} {_f(konnx, 10, 1)} {_f(kjax, 9, 1)} "
            f"{_f(npy, 9, 1)} {_f(onnx / konnx, 11)} {_f(onnx / kjax, 10)} {_f(npy / onnx, 10)} "
            f"{_f(gfs, 8, 1)} {_f(100 * gfs * 1e9 / peak, 7, 1)} {_f(r.flops / 1e9, 7)}"
        )
    notes = {
        f"{row['name']} {k}: {row[k].note}"
        for row in rows
        for k in row
        if getattr(row[k], "note", "")
    }
    lines += sorted(notes)
    lines.append(
        "latencies: median ms per batch; ratios of medians (below 1: the first is faster); "
        f"GFLOP/s and % peak of tdc-onnx; peak {peak / 1e9:.1f} GFLOP/s "
        "(best of 5 float32 2048x2048 np.matmul)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="MobileNetV2 32x32, batch 2, 2 rounds")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved rounds per model")
    ap.add_argument("--warmup", type=int, default=2, help="rounds before timing")
    ap.add_argument("--size", type=int, default=None, help="input side (default 64)")
    ap.add_argument("--ort-threads", type=int, default=0, help="onnxruntime intra-op threads")
    ap.add_argument(
        "--keras-export",
        choices=("auto", "tensorflow", "jax"),
        default="auto",
        help="how Keras-ONNX is exported (auto: TensorFlow when importable)",
    )
    args = ap.parse_args(argv)
    cases = QUICK if args.quick else FULL
    size = args.size or (32 if args.quick else 64)
    repeats = args.repeats or (2 if args.quick else 10)
    with tempfile.TemporaryDirectory(prefix="tdc-backbones-") as name:
        rows = measure(Path(name), cases, size, repeats, args)
    peak = machine_peak()
    print(table(rows, peak))
    print(
        f"{size}x{size} inputs; {repeats} interleaved rounds after {args.warmup} warmup; CPU "
        f"({os.cpu_count()} cores); onnxruntime intra-op threads: "
        f"{args.ort_threads or 'default'} (no spinning)"
    )


if __name__ == "__main__":
    main()
