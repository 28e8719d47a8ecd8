"""int8 and float16 against float32: tdc-ONNX latency and agreement, side by side.

Models: the suite's conv models and a TimeDistributed MLP (random weights); keras.applications
MobileNetV2 (alpha 1.0) and ResNet50 (64x64, include_top=False, pooled features) and
``TimeDistributed(MobileNetV2) -> LSTM -> softmax`` (weights=None, BatchNormalization
statistics calibrated on 64 random images, brought in through ``tdc import``); and a
MobileNetV2 (alpha 0.35) *trained* on a seeded synthetic task (``trained.py``), int8
calibrated on its training images. Each ONNX model is timed in float32, float16 and int8
(``tdc bench --precision``, interleaved rounds, onnxruntime CPU); each reduced model's max
and mean abs error and top-1 agreement are measured against float32 (which matches Keras
float32 to 1e-5) on inputs other than the calibration's: seeded ones, or the trained
model's held-out images. The last column is float32 against itself with 1% Gaussian noise
added to the inputs: how often a model's decision flips under a perturbation that small
(random-weight networks flip often; a trained one rarely).

    python benchmarks/precision.py            # about 6-8 minutes on 2 cores
    python benchmarks/precision.py --quick    # the small models only, fewer rounds
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from models import td_mlp, video

from compiler.api import compile_file
from compiler.backends.onnx.session import session
from compiler.precision import reduce
from compiler.tools.bench import bench
from compiler.tools.precision_verify import Thresholds, agreement, row
from compiler.tools.verify import seeded_inputs

PRECISIONS = ["float32", "float16", "int8"]


@dataclass
class Case:
    path: Path
    batch: int
    time: int
    softmax: bool = True  # the first output ends in softmax (top-1 applies)
    calibration: Path | None = None  # int8 calibration file (None: seeded inputs)
    held_out: np.ndarray | None = None  # inputs for the errors (None: seeded)


def suite(tmp: Path, quick: bool) -> list[Case]:
    small = [
        (video("video_cnn_lstm_small", 24, (8,), "LSTM", 32), 4, 8),
        (td_mlp(64, 256, 3), 32, 50),
    ]
    large = [
        (video("video_cnn_lstm_large", 48, (16, 32), "LSTM", 128), 4, 8),
        (video("video_cnn_gru_large", 48, (16, 32), "GRU", 128), 4, 8),
    ]
    cases = []
    for model, batch, time in small if quick else small + large:
        path = Path(tmp, f"{model['name']}.yaml")
        path.write_text(yaml.safe_dump(model, sort_keys=False))
        cases.append(Case(path, batch, time))
    return cases


def backbones(tmp: Path) -> list[Case]:
    """Flat MobileNetV2 and ResNet50 (pooled features) and TD(MobileNetV2) -> LSTM."""
    from backbones import imported_backbone, video_model

    mobilenet = imported_backbone(tmp, "MobileNetV2", 64)
    return [
        Case(mobilenet, 8, 1, softmax=False),
        Case(imported_backbone(tmp, "ResNet50", 64), 8, 1, softmax=False),
        Case(video_model(tmp, mobilenet, 64), 2, 8),
    ]


def trained(tmp: Path) -> Case:
    """MobileNetV2 0.35 trained on the synthetic task; calibrated on its training images."""
    from trained import trained_mobilenet

    path, calib, held_out, _ = trained_mobilenet(tmp)
    np.save(tmp / "calibration.npy", calib)
    return Case(path, 8, 1, calibration=tmp / "calibration.npy", held_out=held_out)


def accuracy(case: Case) -> dict[str, tuple[float, float, float | None]]:
    """(max abs, mean abs, top-1 %) of each reduced model against float32, first output;
    under ``float32-noise`` float32 with 1% input noise against float32."""
    compiled = compile_file(case.path)
    proto = compiled.onnx()
    if case.held_out is not None:
        xs = [case.held_out]
    else:
        xs = seeded_inputs(compiled.spec, max(case.batch, 32), case.time)
    feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
    name = compiled.graph.output_names[0]
    f32 = session(proto)
    want = f32.run([name], feeds)[0]
    noise = np.random.default_rng(99)
    noisy = {
        k: v + 0.01 * v.std() * noise.standard_normal(v.shape, np.float32) for k, v in feeds.items()
    }
    reduced = {p: reduce(proto, compiled.spec, p, case.calibration if p == "int8" else None)
               for p in PRECISIONS[1:]}  # fmt: skip
    got = {p: session(m).run([name], feeds)[0] for p, m in reduced.items()}
    got["float32-noise"] = f32.run([name], noisy)[0]
    out = {}
    for p, y in got.items():
        r = row("onnx", name, case.time, y, want, None, Thresholds.defaults("int8"))
        top1 = agreement(y, want, "softmax") if case.softmax else None
        out[p] = (r.max_abs, r.mean_abs, top1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    repeats = 10 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        cases = suite(Path(tmp), args.quick)
        if not args.quick:
            cases += [*backbones(Path(tmp)), trained(Path(tmp))]
        print(head())
        for case in cases:
            print(line(case, repeats), flush=True)


def head() -> str:
    cols = "float32 ms  float16 ms  int8 ms  int8 speed-up"
    errs = "int8 max/mean abs err  int8 top-1 %  fp16 max abs err  f32+1% noise top-1 %"
    return f"{'model':<28} {'batch':>5} {'T':>3}  {cols}  {errs}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def line(case: Case, repeats: int) -> str:
    results = bench(case.path, case.batch, case.time, repeats, 3, ["onnx"], precisions=PRECISIONS)
    ms = {r.backend: r.median_ms for r in results}
    acc = accuracy(case)
    f32, f16, i8 = ms["onnx"], ms["onnx-float16"], ms["onnx-int8"]
    mx, mean, top1 = acc["int8"]
    return (
        f"{case.path.stem:<28} {case.batch:>5} {case.time:>3}  {f32:>10.2f}  {f16:>10.2f}  "
        f"{i8:>7.2f}  {f32 / i8:>12.2f}x  {mx:>10.2e}/{mean:.2e}  {_pct(top1):>12}  "
        f"{acc['float16'][0]:>16.2e}  {_pct(acc['float32-noise'][2]):>20}"
    )


if __name__ == "__main__":
    sys.exit(main())
