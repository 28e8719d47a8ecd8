"""GroupNormalization and UnitNormalization against live Keras: options, TimeDistributed
forms, masks passing through, the step form where the layer has one, refused values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from oracle import (
    assert_steps_match_keras,
    check,
    check_inputs,
    model,
    td,
    write_model,
)


def gn(**kw: Any) -> dict[str, Any]:
    return {"type": "GroupNormalization", **{"groups": 2, **kw}}


def un(**kw: Any) -> dict[str, Any]:
    return {"type": "UnitNormalization", **kw}


SEQ, IMG, VID = [5, 6], [4, 5, 6], [None, 4, 3, 6]

CASES = {
    # GroupNormalization: gamma, beta (channels,)
    "gn-seq": (SEQ, gn()),
    "gn-default-32-groups": ([3, 64], {"type": "GroupNormalization"}),
    "gn-one-group": (IMG, gn(groups=1)),
    "gn-instance": (IMG, gn(groups=-1)),
    "gn-channels-as-groups": (IMG, gn(groups=6, epsilon=1e-5)),
    "gn-no-center": (IMG, gn(center=False)),
    "gn-no-scale-no-center": (IMG, gn(scale=False, center=False, epsilon=0.1)),
    "gn-axis-1": ([6, 5, 3], gn(groups=3, axis=1)),
    "gn-axis-minus-2": ([5, 6, 3], gn(groups=3, axis=-2)),
    "gn-dynamic-length": ([None, 6], gn(groups=3)),
    "gn-vector": ([8], gn(groups=4)),
    "gn-inert-args": (IMG, gn(gamma_regularizer="l2", beta_constraint="non_neg")),
    # UnitNormalization: no variables
    "un-seq": (SEQ, un()),
    "un-axis-1": (SEQ, un(axis=1)),
    "un-axes": (IMG, un(axis=[1, -1])),
    "un-all-axes": (IMG, un(axis=[1, 2, 3])),
    "un-dynamic-length": ([None, 6], un(axis=-1)),
}

TD_CASES = {
    "td-gn": (VID, [gn(groups=3)]),
    "td-gn-axis-1": ([None, 6, 4], [gn(groups=3, axis=1)]),
    "td-gn-instance-no-scale": ([None, 5, 4], [gn(groups=-1, scale=False)]),
    "td-un": (VID, [un(axis=[1, 2])]),
    "td-un-last": ([None, 6], [un()]),
}


@pytest.mark.slow
@pytest.mark.parametrize("shape,entry", CASES.values(), ids=CASES.keys())
def test_layer(tmp_path, shape, entry):
    check(tmp_path, model(shape, entry))


@pytest.mark.slow
@pytest.mark.parametrize("shape,entries", TD_CASES.values(), ids=TD_CASES.keys())
def test_time_distributed(tmp_path, shape, entries):
    check(tmp_path, model(shape, *[td(e) for e in entries]))


def test_quick_chain(tmp_path):
    """The fast tier's representative: both layers, a Dense between them."""
    check(tmp_path, model(IMG, gn(groups=3), {"type": "Dense", "units": 4}, un(axis=[2, 3])))


@pytest.mark.slow
def test_masks_pass_through_both(tmp_path):
    """Keras keeps the input's mask: the LSTM after them skips the masked steps."""
    m = model(
        [None, 4],
        {"type": "Masking", "mask_value": 0.0},
        td(gn(groups=2)),
        un(),
        {"type": "LSTM", "units": 3},
    )
    x = np.random.default_rng(2).normal(size=(3, 6, 4)).astype(np.float32)
    x[0, 2:4] = 0.0
    x[1, 0] = 0.0
    check_inputs(tmp_path, m, [x])


REFUSED = {
    "gn-groups-not-dividing": (IMG, gn(groups=4), "divide"),
    "gn-too-many-groups": (IMG, gn(groups=12), "divide"),
    "gn-zero-groups": (IMG, gn(groups=0), "groups"),
    "gn-two-axes": (IMG, gn(axis=[1, 2]), "integer axis"),
    "gn-batch-axis": (IMG, gn(axis=0), "batch axis"),
    "gn-axis-out-of-range": (IMG, gn(axis=4), "out of range"),
    "gn-dynamic-channels": ([None, 6], gn(axis=1), "static"),
    "gn-unknown-argument": (IMG, gn(momentum=0.9), "momentum"),
    "un-batch-axis": (SEQ, un(axis=0), "batch axis"),
    "un-axis-twice": (IMG, un(axis=[-1, 3]), "twice"),
    "un-bad-axis": (SEQ, un(axis="last"), "axis"),
}


@pytest.mark.parametrize("shape,entry,needle", REFUSED.values(), ids=REFUSED.keys())
def test_refused(tmp_path, shape, entry, needle):
    path = write_model(tmp_path, model(shape, entry))
    with pytest.raises(TdcError, match=needle):
        compile_file(path)


# -- streaming -------------------------------------------------------------------------------


@pytest.mark.slow
def test_per_frame_forms_step_frame_by_frame(tmp_path):
    """TimeDistributed(GroupNormalization) normalizes each frame alone, UnitNormalization
    over feature axes each step alone: both have a step form."""
    m = model(VID, td(gn(groups=3)), un(axis=[2, -1]), td(gn(groups=-1, center=False)))
    assert_steps_match_keras(tmp_path, m, time=5)


@pytest.mark.parametrize(
    "entry,why",
    [(gn(), "the time axis included"), (un(axis=1), "time axis"), (un(axis=[1, 2]), "time axis")],
    ids=["gn", "un-time-axis", "un-time-and-feature-axes"],
)
def test_normalizing_over_time_has_no_step_form(tmp_path, entry, why):
    shape = [None, 4, 6]
    compiled = compile_file(write_model(tmp_path, model(shape, {"name": "culprit", **entry})))
    with pytest.raises(TdcError, match=f"culprit.*{why}"):
        compiled.step()
