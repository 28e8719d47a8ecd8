"""Property-based equivalence: random valid models give ONNX == NumPy == Keras.

A Hypothesis strategy builds model files layer by layer while tracking the tensor shape,
so every drawn model is valid by construction: an input of rank 3 (features), 4 (1-D
signals per step) or 5 (frames), a stack of TimeDistributed layers (nested ones too),
layers applied directly at any rank, SimpleRNN/LSTM/GRU and Bidirectional, occasional
Masking or Embedding front ends and merges of two branches. Each example draws its own
weight and input seeds; both backends must match live Keras at the oracle's tolerances.
The per-layer strategies are in ``property_layers.py``; the whole models are drawn here.

The examples are derandomised, so CI is reproducible. ``TDC_PROPERTY_EXAMPLES`` sets the
total number of examples (default 100), split evenly over the four tests below.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from property_layers import Stack, frames_to_features, merge, sequence_layers

from oracle import compare, compile_with_random_weights

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

TOTAL = int(os.environ.get("TDC_PROPERTY_EXAMPLES", "100"))
PER_TEST = max(1, TOTAL // 4)
SETTINGS = settings(
    max_examples=PER_TEST,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


# -- whole models ----------------------------------------------------------------------------


def _time(draw: Any) -> int | None:
    return draw(st.none() | st.integers(1, 5))


@st.composite
def float_model(draw: Any, rank: int) -> dict[str, Any]:
    """An input (N, T, ...) of ``rank`` and a valid stack on it."""
    frame = [draw(st.integers(1, 6)) for _ in range(rank - 3)] + [draw(st.integers(1, 4))]
    s = Stack([_time(draw), *frame])
    if rank == 3 and draw(st.integers(0, 4)) == 0:
        s.add({"type": "Masking", "mask_value": 0.0}, s.shape)
        s.masked = True
    if rank == 3 and draw(st.integers(0, 3)) == 0:
        draw(merge(s))
    draw(frames_to_features(s))
    draw(sequence_layers(s))
    return _model(draw, {"x": {"shape": [s.time, *frame]}}, s)


@st.composite
def token_model(draw: Any) -> dict[str, Any]:
    """An int input (N, T) through an Embedding (maybe ``mask_zero``) and a sequence stack."""
    vocab, dim = draw(st.integers(2, 8)), draw(st.integers(1, 4))
    s = Stack([_time(draw)])
    mask_zero = draw(st.booleans())
    emb = {"type": "Embedding", "input_dim": vocab, "output_dim": dim, "mask_zero": mask_zero}
    s.add(emb, [s.shape[0], dim])
    s.masked = mask_zero
    draw(sequence_layers(s))
    return _model(draw, {"x": {"shape": [s.time], "dtype": "int32"}}, s, vocab=vocab)


def _model(draw: Any, inputs: dict[str, Any], s: Stack, vocab: int = 0) -> dict[str, Any]:
    run = {
        "batch": draw(st.integers(1, 2)),
        "time": s.time or draw(st.integers(1, 5)),
        "weights_seed": draw(st.integers(0, 2**16)),
        "inputs_seed": draw(st.integers(0, 2**16)),
        "vocab": vocab,
        "masked": s.masked,
    }
    return {"model": {"inputs": inputs, "layers": s.layers}, "run": run}


def make_inputs(case: dict[str, Any], shape: list[Any]) -> list[np.ndarray]:
    """Seeded inputs; masked models get whole steps equal to the mask value (zero)."""
    run = case["run"]
    rng = np.random.default_rng(run["inputs_seed"])
    full = (run["batch"], run["time"], *shape[1:])
    if run["vocab"]:
        return [rng.integers(0, run["vocab"], full).astype(np.int32)]
    x = rng.normal(0.0, 1.0, full).astype(np.float32)
    if run["masked"]:
        x[rng.random(full[:2]) < 0.3] = 0.0
    return [x]


def check_case(case: dict[str, Any]) -> None:
    """Compile with the case's weights and compare both backends with Keras."""
    with tempfile.TemporaryDirectory() as tmp:
        compiled = compile_with_random_weights(
            Path(tmp), case["model"], case["run"]["weights_seed"]
        )
        compare(compiled, make_inputs(case, case["model"]["inputs"]["x"]["shape"]))
    RUNS[0] += 1


RUNS = [0]


def _run(strategy: st.SearchStrategy) -> None:
    """Run ``strategy``'s examples through ``check_case``; all of them must have run."""
    start = RUNS[0]
    SETTINGS(given(strategy)(check_case))()
    ran = RUNS[0] - start
    print(f"property examples run: {ran}")
    assert ran >= PER_TEST


def test_features_random_models() -> None:
    _run(float_model(3))


def test_signals_random_models() -> None:
    _run(float_model(4))


def test_frames_random_models() -> None:
    _run(float_model(5))


def test_tokens_random_models() -> None:
    _run(token_model())
