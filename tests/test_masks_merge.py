"""Keras masks through Concatenate, Dot, Maximum / Minimum, Multiply and Softmax (ONNX and NumPy
against live Keras).

Keras facts compiled here (keras/src/layers/merging, keras/src/layers/activations):

* ``Concatenate.compute_mask``: every mask (``ones_like`` for an unmasked input) is
  widened to its input's shape, concatenated on ``axis`` and reduced with ``any`` over the
  last axis: on the feature axis the OR of the masks (all-True when an input has none), on
  the time axis the masks joined in time;
* ``Dot.compute_mask`` returns None: the mask is dropped;
* ``Maximum`` / ``Minimum`` (``_apply_merge_op_and_or_mask``): a masked step takes the
  other operand's value before the max / min;
* ``Multiply``: a masked step of an input counts as 1; when every input has a mask the
  product is zeroed where none is valid (the output mask, their OR);
* ``Softmax`` broadcasts its mask against the input's trailing axes, which a (batch, time)
  mask on a (batch, time, features) input does not fit: refused.

Masked steps sit mid-sequence, first, everywhere and nowhere; a downstream LSTM or
GlobalAveragePooling1D makes the output mask visible.
"""

from typing import Any

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from oracle import check_inputs, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

#: (batch 4, time 7) ids: zeros mid-sequence, at t=0, everywhere, nowhere.
IDS = np.array(
    [
        [3, 5, 0, 0, 7, 0, 2],
        [0, 4, 9, 1, 0, 6, 8],
        [0, 0, 0, 0, 0, 0, 0],
        [1, 2, 3, 4, 5, 6, 7],
    ],
    dtype="int32",
)
#: a second id input whose zeros fall elsewhere (and a sample with none masked).
OTHER = np.array(
    [
        [0, 5, 1, 0, 7, 2, 2],
        [3, 0, 0, 1, 4, 6, 0],
        [1, 0, 2, 0, 3, 0, 4],
        [6, 0, 0, 0, 0, 0, 0],
    ],
    dtype="int32",
)
LSTM = {"type": "LSTM", "units": 3, "return_sequences": True, "name": "lstm"}
GAP = {"type": "GlobalAveragePooling1D", "name": "gap"}


def emb(name: str, src: str, mask_zero: bool = True) -> dict[str, Any]:
    return {
        "type": "Embedding",
        "input_dim": 10,
        "output_dim": 4,
        "mask_zero": mask_zero,
        "name": name,
        "inputs": src,
    }


def two(merge: dict[str, Any], *tail: dict[str, Any], masks=(True, True), time=None) -> dict:
    """Ids ``a`` and ``b`` -> Embeddings ``ea``, ``eb`` -> ``merge`` -> ``tail``."""
    ids = {"shape": [time], "dtype": "int32"}
    return {
        "inputs": {"a": ids, "b": dict(ids)},
        "layers": [
            emb("ea", "a", masks[0]),
            emb("eb", "b", masks[1]),
            {**merge, "name": "merge", "inputs": ["ea", "eb"]},
            *tail,
        ],
    }


def run(tmp_path, m: dict, xs: list[np.ndarray]) -> None:
    worst = check_inputs(tmp_path, m, xs)
    print("worst abs error", worst)


MASKS = [(True, True), (True, False), (False, True)]
MASK_IDS = ["both", "first", "second"]


@pytest.mark.parametrize("masks", MASKS, ids=MASK_IDS)
@pytest.mark.parametrize("tail", [LSTM, GAP], ids=["lstm", "gap"])
def test_concatenate_features(tmp_path, masks, tail):
    run(tmp_path, two({"type": "Concatenate"}, tail, masks=masks), [IDS, OTHER])


@pytest.mark.parametrize("masks", MASKS, ids=MASK_IDS)
@pytest.mark.parametrize("tail", [LSTM, GAP], ids=["lstm", "gap"])
def test_concatenate_time(tmp_path, masks, tail):
    m = two({"type": "Concatenate", "axis": 1}, tail, masks=masks)
    run(tmp_path, m, [IDS, OTHER[:, :5]])


def test_concatenate_masking_time(tmp_path):
    x = np.random.default_rng(3).normal(size=(4, 6, 3)).astype(np.float32)
    x[0, 2:4] = 0.0
    x[1, 0] = 0.0
    x[2] = 0.0
    m = {
        "inputs": {"x": {"shape": [None, 3]}, "y": {"shape": [None, 3]}},
        "layers": [
            {"type": "Masking", "name": "mx", "inputs": "x"},
            {"type": "Concatenate", "axis": -2, "name": "cat", "inputs": ["mx", "y"]},
            {"type": "Dense", "units": 4, "name": "d"},
            LSTM,
        ],
    }
    run(tmp_path, m, [x, x[:, ::-1] + 1.0])


def test_concatenate_then_add(tmp_path):
    """The concatenated mask flows on into a merge and an LSTM."""
    m = two({"type": "Concatenate"}, time=7)
    m["layers"] += [
        {"type": "Add", "name": "add", "inputs": ["merge", "merge"]},
        {**LSTM, "return_sequences": False},
    ]
    run(tmp_path, m, [IDS, OTHER])


@pytest.mark.parametrize("tail", [LSTM, GAP], ids=["lstm", "gap"])
def test_dot_drops_the_mask(tmp_path, tail):
    run(tmp_path, two({"type": "Dot", "axes": 2}, tail, time=7), [IDS, OTHER])


@pytest.mark.parametrize("kind", ["Maximum", "Minimum"])
@pytest.mark.parametrize("masks", MASKS, ids=MASK_IDS)
@pytest.mark.parametrize("tail", [LSTM, GAP], ids=["lstm", "gap"])
def test_extremum_takes_the_other_value(tmp_path, kind, masks, tail):
    run(tmp_path, two({"type": kind}, tail, masks=masks, time=7), [IDS, OTHER])


@pytest.mark.parametrize("masks", MASKS, ids=MASK_IDS)
@pytest.mark.parametrize("tail", [[], [LSTM], [GAP]], ids=["out", "lstm", "gap"])
def test_multiply_counts_masked_steps_as_one(tmp_path, masks, tail):
    run(tmp_path, two({"type": "Multiply"}, *tail, masks=masks, time=7), [IDS, OTHER])


def test_multiply_three_inputs(tmp_path):
    m = two({"type": "Multiply"}, time=7)
    m["inputs"]["c"] = {"shape": [7], "dtype": "int32"}
    m["layers"].insert(2, emb("ec", "c", mask_zero=False))
    m["layers"][3]["inputs"].append("ec")
    run(tmp_path, m, [IDS, OTHER, np.roll(IDS, 3, axis=1)])


def test_maximum_three_inputs(tmp_path):
    m = two({"type": "Maximum"}, time=7, masks=(True, False))
    m["inputs"]["c"] = {"shape": [7], "dtype": "int32"}
    m["layers"].insert(2, emb("ec", "c"))
    m["layers"][3]["inputs"].append("ec")
    m["layers"].append(GAP)
    run(tmp_path, m, [IDS, OTHER, np.roll(IDS, 3, axis=1)])


def test_softmax_refuses_a_step_mask(tmp_path):
    m = two({"type": "Add"}, {"type": "Softmax"})
    with pytest.raises(TdcError, match="Softmax on a masked input"):
        compile_file(write_model(tmp_path, m))


def test_maximum_needs_one_shape(tmp_path):
    with pytest.raises(TdcError, match="Maximum on masked inputs"):
        compile_file(write_model(tmp_path, two({"type": "Maximum"})))
