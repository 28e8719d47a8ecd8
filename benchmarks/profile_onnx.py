"""Where tdc's ONNX spends its time: onnxruntime's profiler, per op type and per node.

Compiles a model file, runs its ONNX model on a CPU session with
``SessionOptions.enable_profiling`` (after warm-up runs, which are profiled too and left
out), and prints the kernel time per op type (share, count, mean) and the slowest nodes.

    python benchmarks/profile_onnx.py examples/video_mobilenet.yaml --batch 2 --time 8
    python benchmarks/profile_onnx.py model.yaml --batch 8 --runs 20 --top 15
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")


def profile(model: Path, batch: int, time: int, runs: int, warmup: int) -> list[dict[str, Any]]:
    """The profiler's kernel events (``cat`` Node, ``*_kernel_time``) of the timed runs."""
    import onnxruntime as ort

    from compiler.api import compile_file
    from compiler.tools.verify import seeded_inputs

    compiled = compile_file(model)
    xs = seeded_inputs(compiled.spec, batch, time)
    with tempfile.TemporaryDirectory(prefix="tdc-profile-") as tmp:
        opts = ort.SessionOptions()
        opts.enable_profiling = True
        opts.profile_file_prefix = str(Path(tmp) / "ort")
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sess = ort.InferenceSession(
            compiled.onnx().SerializeToString(), opts, providers=["CPUExecutionProvider"]
        )
        feeds = {i.name: x for i, x in zip(sess.get_inputs(), xs, strict=True)}
        for _ in range(warmup + runs):
            sess.run(None, feeds)
        events = json.loads(Path(sess.end_profiling()).read_text())
    kernels = [
        e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")
    ]
    per_run = len(kernels) // (warmup + runs)
    return kernels[per_run * warmup :]


def report(kernels: list[dict[str, Any]], runs: int, top: int) -> str:
    by_type: dict[str, list[float]] = defaultdict(list)
    by_node: dict[str, tuple[str, float]] = {}
    for e in kernels:
        op = e["args"].get("op_name", "?")
        by_type[op].append(e["dur"])
        name = e["name"][: -len("_kernel_time")]
        by_node[name] = (op, by_node.get(name, (op, 0.0))[1] + e["dur"])
    total = sum(sum(d) for d in by_type.values()) or 1.0
    lines = [f"{'op type':<24} {'share':>6} {'ms/run':>8} {'nodes':>6}", "-" * 47]
    for op, durs in sorted(by_type.items(), key=lambda kv: -sum(kv[1])):
        lines.append(
            f"{op:<24} {100 * sum(durs) / total:>5.1f}% {sum(durs) / runs / 1e3:>8.2f} "
            f"{len(durs) // runs:>6}"
        )
    lines.append(f"kernel time per run: {total / runs / 1e3:.2f} ms")
    lines += ["", f"slowest {top} nodes (ms/run):"]
    for name, (op, dur) in sorted(by_node.items(), key=lambda kv: -kv[1][1])[:top]:
        lines.append(f"  {dur / runs / 1e3:7.3f}  {op:<20} {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--time", type=int, default=8, help="length of null axes")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args(argv)
    kernels = profile(args.model, args.batch, args.time, args.runs, args.warmup)
    print(report(kernels, args.runs, args.top))


if __name__ == "__main__":
    main()
