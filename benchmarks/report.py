"""Progress bar, results table and chart of the benchmark suite."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

COLUMNS = (("onnx", "tdc-ONNX"), ("numpy", "tdc-NumPy"), ("keras-onnx", "Keras-ONNX"))


class Bar:
    """A one-line text progress bar on stderr (rewritten in place with a carriage return)."""

    def __init__(self, total: int, width: int = 30) -> None:
        self.total, self.width = total, width

    def show(self, index: int, name: str, what: str, done: float) -> None:
        frac = min((index + done) / self.total, 1.0)
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {frac * 100:3.0f}%  {index + 1}/{self.total} {name}: {what}"
        print(f"\r{line[:110]:<110}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        print(file=sys.stderr, flush=True)


def gmean(values: list[float]) -> float:
    values = [v for v in values if v == v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def _ratio(row: dict[str, Any], key: str) -> float:
    r = row.get(key)
    if r is None or r.note or not row["keras"].median_ms:
        return float("nan")
    return r.median_ms / row["keras"].median_ms


def _f(value: float, width: int, digits: int = 2) -> str:
    """``value`` right-aligned, or "n/a" where there is none (NaN)."""
    return f"{value:>{width}.{digits}f}" if value == value else f"{'n/a':>{width}}"


def table(rows: list[dict[str, Any]], peak: float) -> str:
    """Latency (ms) and throughput (samples/s) per backend; ratios to Keras-JAX; GFLOP/s."""
    head = (
        f"{'model':<22} {'B':>3} {'T':>3} {'onnx ms':>8} {'numpy ms':>9} {'keras ms':>9} "
        f"{'k-onnx ms':>9} {'onnx/s':>8} {'keras/s':>8} "
        f"{'onnx/keras':>10} {'numpy/keras':>11} {'numpy/onnx':>10} {'onnx/k-onnx':>11} "
        f"{'onnx GF/s':>9}"
    )
    lines = [head, "-" * len(head)]
    cols: dict[str, list[float]] = {
        "onnx": [],
        "numpy": [],
        "np_onnx": [],
        "vs_konnx": [],
        "frac": [],
    }
    for r in rows:
        o, k = r["onnx"], r["keras"]
        ko = r.get("keras-onnx")
        ko_ms = ko.median_ms if ko is not None and not ko.note else float("nan")
        vs_konnx = o.median_ms / ko_ms
        cols["onnx"].append(_ratio(r, "onnx"))
        cols["numpy"].append(_ratio(r, "numpy"))
        cols["np_onnx"].append(r["numpy"].median_ms / o.median_ms)
        cols["vs_konnx"].append(vs_konnx)
        cols["frac"].append(o.gflops_per_s * 1e9 / peak)
        lines.append(
            f"{r['name']:<22} {r['batch']:>3} {r['time']:>3} {o.median_ms:>8.2f} "
            f"{r['numpy'].median_ms:>9.2f} {k.median_ms:>9.2f} {_f(ko_ms, 9)} "
            f"{o.samples_per_s:>8.0f} {k.samples_per_s:>8.0f} {cols['onnx'][-1]:>10.2f} "
            f"{cols['numpy'][-1]:>11.2f} {cols['np_onnx'][-1]:>10.2f} {_f(vs_konnx, 11)} "
            f"{o.gflops_per_s:>9.2f}"
        )
    lines.append("-" * len(head))
    g = [gmean(cols[c]) for c in ("onnx", "numpy", "np_onnx", "vs_konnx")]
    lines.append(f"{'geometric mean':<95} {g[0]:>10.2f} {g[1]:>11.2f} {g[2]:>10.2f} {_f(g[3], 11)}")
    notes = {r.note for row in rows for r in row.values() if hasattr(r, "note") and r.note}
    for note in sorted(notes):
        lines.append(f"Keras-ONNX: {note}")
    details = {r.detail for row in rows for r in row.values() if getattr(r, "detail", "")}
    lines += [f"Keras-ONNX: {d}" for d in sorted(details)]
    lines.append(
        "ms = median latency per batch; /s = samples per second at that latency; ratios are "
        "latency ratios (lower = tdc faster);\nGF/s = model FLOPs per batch / tdc-ONNX median "
        f"latency; machine peak {peak / 1e9:.1f} GFLOP/s, tdc-ONNX reaches "
        f"{gmean(cols['frac']) * 100:.1f}% of it (geometric mean)"
    )
    return "\n".join(lines)


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Grouped bars: each backend's latency / Keras-JAX latency per model (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install tdc[bench]): no chart", file=sys.stderr)
        return
    shown = [(k, label) for k, label in COLUMNS if any(_ratio(r, k) == _ratio(r, k) for r in rows)]
    x = range(len(rows))
    width = 0.8 / len(shown)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for j, (key, label) in enumerate(shown):
        offs = [i + (j - (len(shown) - 1) / 2) * width for i in x]
        ax.bar(offs, [_ratio(r, key) for r in rows], width=width, label=label)
    ax.axhline(1.0, color="black", linewidth=0.8, label="Keras-JAX (jit)")
    ax.set_xticks(list(x), [r["name"] for r in rows], rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("latency / Keras-JAX latency (lower is faster)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}", file=sys.stderr)
