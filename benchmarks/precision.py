"""int8 and float16 against float32: tdc-ONNX latency and agreement, side by side.

For the suite's conv models, a TimeDistributed MLP and a keras.applications MobileNetV2
(alpha 0.35, 64x64, 10 classes, weights=None, BatchNormalization statistics set on one
random batch, brought in through ``tdc import``), this times the ONNX model in float32,
float16 and int8 (``tdc bench --precision``, interleaved rounds, onnxruntime CPU) and
measures, on seeded inputs other than the calibration's, each reduced model's max and mean
abs error and top-1 agreement against float32 (which matches Keras float32 to 1e-5).

    python benchmarks/precision.py            # about 3-5 minutes on 2 cores
    python benchmarks/precision.py --quick    # the small models only, fewer rounds
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
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


def models(quick: bool) -> list[tuple[dict, int, int]]:
    small = [
        (video("video_cnn_lstm_small", 24, (8,), "LSTM", 32), 4, 8),
        (td_mlp(64, 256, 3), 32, 50),
    ]
    if quick:
        return small
    return [
        *small,
        (video("video_cnn_lstm_large", 48, (16, 32), "LSTM", 128), 4, 8),
        (video("video_cnn_gru_large", 48, (16, 32), "GRU", 128), 4, 8),
    ]


def mobilenet(tmp: Path) -> Path:
    """MobileNetV2 with a 10-class softmax head, saved by Keras and brought in by tdc import."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    from compiler.keras.calibrate import calibrate_batchnorm
    from compiler.tools.commands import import_model

    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(
        weights=None, input_shape=(64, 64, 3), alpha=0.35, classes=10
    )
    calibrate_batchnorm(model, np.random.default_rng(0).normal(size=(64, 64, 64, 3)).astype("f4"))
    model.save(tmp / "mobilenet_v2.keras")
    import_model(tmp / "mobilenet_v2.keras", tmp / "mobilenet_v2.yaml")
    return tmp / "mobilenet_v2.yaml"


def accuracy(path: Path, batch: int, time: int) -> dict[str, tuple[float, float, float]]:
    """(max abs, mean abs, top-1 %) of each reduced model against float32, first output."""
    compiled = compile_file(path)
    proto = compiled.onnx()
    xs = seeded_inputs(compiled.spec, max(batch, 32), time)
    feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
    name = compiled.graph.output_names[0]
    want = session(proto).run([name], feeds)[0]
    out = {}
    for p in PRECISIONS[1:]:
        got = session(reduce(proto, compiled.spec, p)).run([name], feeds)[0]
        r = row("onnx", name, time, got, want, None, Thresholds.defaults(p))
        out[p] = (r.max_abs, r.mean_abs, agreement(got, want, "softmax"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    repeats = 10 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        todo: list[tuple[Path, int, int]] = []
        for model, batch, time in models(args.quick):
            path = Path(tmp, f"{model['name']}.yaml")
            path.write_text(yaml.safe_dump(model, sort_keys=False))
            todo.append((path, batch, time))
        if not args.quick:
            todo.append((mobilenet(Path(tmp)), 8, 1))
        print(head())
        for path, batch, time in todo:
            print(line(path, batch, time, repeats), flush=True)


def head() -> str:
    cols = "float32 ms  float16 ms  int8 ms  int8 speed-up"
    errs = "int8 max/mean abs err  int8 top-1 %  fp16 max abs err"
    return f"{'model':<22} {'batch':>5} {'T':>3}  {cols}  {errs}"


def line(path: Path, batch: int, time: int, repeats: int) -> str:
    results = bench(path, batch, time, repeats, 3, ["onnx"], precisions=PRECISIONS)
    ms = {r.backend: r.median_ms for r in results}
    acc = accuracy(path, batch, time)
    f32, f16, i8 = ms["onnx"], ms["onnx-float16"], ms["onnx-int8"]
    mx, mean, top1 = acc["int8"]
    return (
        f"{path.stem:<22} {batch:>5} {time:>3}  {f32:>10.2f}  {f16:>10.2f}  {i8:>7.2f}  "
        f"{f32 / i8:>12.2f}x  {mx:>10.2e}/{mean:.2e}  {top1:>12.1f}  {acc['float16'][0]:>16.2e}"
    )


if __name__ == "__main__":
    sys.exit(main())
