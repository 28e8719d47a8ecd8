"""Per-frame latency: the step form against re-running the whole window, both backends.

A live video or audio model sees one new frame at a time. Without a step form the only
way to get the output for the newest frame is to run the model again on the last T
frames; the step form runs one frame from the carried state. For each model and window
length T this measures, interleaved round by round, the time to produce one frame's output
both ways on tdc-ONNX (onnxruntime, CPU, one intra-op thread) and tdc-NumPy, and prints
the speed-up. The causal Transformer decoder's step attends over key/value caches that
already hold the window's T - 1 earlier steps, so its step costs what the T-th token's does.

    python benchmarks/streaming.py            # T = 16 and 64 (the decoder: 64 and 256)
    python benchmarks/streaming.py --quick    # the first T only, fewer rounds
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from models import causal_decoder

from compiler.api import compile_file
from compiler.backends.numpy.codegen import load_module
from compiler.backends.onnx.session import session
from compiler.tools.bench import interleaved

#: onnxruntime intra-op threads, as in run.py: one, so that no idle worker thread spins
#: through the next backend's timing on a small machine.
ORT_THREADS = 1


def td(layer: dict[str, Any], name: str) -> dict[str, Any]:
    return {"name": name, "type": "TimeDistributed", "layer": layer}


MODELS: dict[str, dict[str, Any]] = {
    "causal_decoder": causal_decoder(32, 64, 4, 128, 2),
    "video_cnn_lstm": {
        "inputs": {"frames": {"shape": [None, 32, 32, 3]}},
        "layers": [
            td({"type": "Conv2D", "filters": 16, "kernel_size": 3, "activation": "relu"}, "c1"),
            td({"type": "MaxPooling2D", "pool_size": 2}, "p1"),
            td({"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"}, "c2"),
            td({"type": "MaxPooling2D", "pool_size": 2}, "p2"),
            td({"type": "Flatten"}, "flat"),
            {"name": "lstm", "type": "LSTM", "units": 64, "return_sequences": True},
            td({"type": "Dense", "units": 10, "activation": "softmax"}, "probs"),
        ],
    },
    "audio_dense_gru": {
        "inputs": {"frames": {"shape": [None, 40]}},
        "layers": [
            td({"type": "Dense", "units": 128, "activation": "relu"}, "proj"),
            {"name": "gru", "type": "GRU", "units": 128},
            {"name": "out", "type": "Dense", "units": 12, "activation": "softmax"},
        ],
    },
}


#: Window lengths per model (the first alone with --quick).
LENGTHS = {"causal_decoder": (64, 256)}


def _runners(compiled: Any, window: np.ndarray) -> dict[str, Callable[[], Any]]:
    """Four ways to get the newest frame's output for a batch-1 stream; a key/value cache
    holds the window's earlier steps (zeros: the cost does not depend on the values)."""
    whole_sess = session(compiled.onnx(), "cpu", ORT_THREADS)
    step_sess = session(compiled.step_onnx(), "cpu", ORT_THREADS)
    module = load_module(*compiled.numpy_source())
    name = compiled.spec.inputs[0].name
    step = compiled.step()
    zeros = step.zero_feeds(1)
    np_state = module.init_state(1)
    earlier = window.shape[1] - 1
    for st in step.states:
        if st.cache:
            zeros[st.onnx_in] = np_state[st.key] = np.zeros((1, earlier, st.units), np.float32)
    frame = window[:, -1]
    return {
        "onnx whole": lambda: whole_sess.run(None, {name: window}),
        "onnx step": lambda: step_sess.run(None, {name: frame, **zeros}),
        "numpy whole": lambda: module.predict(window),
        "numpy step": lambda: module.step(frame, np_state),
    }


def measure(compiled: Any, length: int, rounds: int) -> dict[str, float]:
    """Median seconds per call of each runner, interleaved round by round (the order
    rotating), after two warm-up rounds."""
    shape = (1, length, *compiled.spec.inputs[0].shape[1:])
    window = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    fns = _runners(compiled, window)

    def progress(what: str, done: float) -> None:
        print(f"\r  {compiled.spec.name} T={length}: {what}", end="", file=sys.stderr)

    times = interleaved(fns, rounds, 2, progress)
    print(file=sys.stderr)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args(argv)
    rounds = args.rounds or (5 if args.quick else 30)
    head = f"{'model':<16} {'T':>3} {'backend':<7} {'whole ms':>9} {'step ms':>8} {'speed-up':>9}"
    lines = [head, "-" * len(head)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, m in MODELS.items():
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(yaml.safe_dump({"name": name, **m}, sort_keys=False))
            compiled = compile_file(path)
            lengths = LENGTHS.get(name, (16, 64))
            for length in lengths[:1] if args.quick else lengths:
                med = measure(compiled, length, rounds)
                for backend in ("onnx", "numpy"):
                    whole, step = med[f"{backend} whole"], med[f"{backend} step"]
                    lines.append(
                        f"{name:<16} {length:>3} {backend:<7} {whole * 1e3:>9.3f} "
                        f"{step * 1e3:>8.3f} {whole / step:>8.1f}x"
                    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
