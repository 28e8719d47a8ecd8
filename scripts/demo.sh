#!/usr/bin/env bash
# Set up (venv + tdc with the Keras extra), compile the video classifier to ONNX and to
# NumPy, run both, and verify both against Keras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q ".[keras]"
MODEL=examples/video_classifier.yaml
mkdir -p out
.venv/bin/tdc inspect "$MODEL"
.venv/bin/tdc compile "$MODEL" --target onnx -o out/video_classifier.onnx
.venv/bin/tdc compile "$MODEL" --target numpy -o out/video_classifier.py
.venv/bin/python -c "import numpy as np; np.save('out/frames.npy', np.random.default_rng(0).standard_normal((2, 8, 32, 32, 3)).astype('float32'))"
.venv/bin/tdc run "$MODEL" --backend onnx -i out/frames.npy -o out/probs_onnx.npy
(cd out && ../.venv/bin/python video_classifier.py frames.npy probs_numpy.npy)
.venv/bin/tdc verify "$MODEL" --backend onnx,numpy --time 8 --time 13
