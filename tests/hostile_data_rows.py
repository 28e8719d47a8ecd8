"""Hostile input, part two: weights files, input arrays for `tdc run`, other commands."""

from __future__ import annotations

import numpy as np
from hostile_rows import ACC, EMB, GOOD, Row, header_only, lay, npy, npz, weights

DATA_ROWS: dict[str, Row] = {
    # -- weights files -------------------------------------------------------------------
    "weights_missing_file": Row(GOOD + "weights: w.npz\n", ["not found", ACC], blame="w.npz"),
    "weights_not_zip": Row(
        GOOD + "weights: w.npz\n", ["not a zip", ACC], weights=b"hello", blame="w.npz"
    ),
    "weights_empty": Row(GOOD + "weights: w.npz\n", ["not a zip"], weights=b"", blame="w.npz"),
    "weights_truncated": Row(
        GOOD + "weights: w.npz\n", [ACC], weights=weights()[:300], blame="w.npz"
    ),
    "weights_npy_not_npz": Row(
        GOOD + "weights: w.npz\n", ["not a zip"], weights=npy(np.zeros(3)), blame="w.npz"
    ),
    "weights_pickled": Row(
        GOOD + "weights: w.npz\n",
        ["Python objects", "no pickles"],
        weights=weights(d1__kernel=np.array([{"a": 1}] * 24, dtype=object).reshape(6, 4)),
        blame="w.npz",
    ),
    "weights_missing_key": Row(
        GOOD + "weights: w.npz\n",
        ["no key 'd2/bias'", "(3,)"],
        weights=weights(d2__bias=None),
        layer="d2",
        blame="w.npz",
    ),
    "weights_extra_key": Row(
        GOOD + "weights: w.npz\n",
        ["zz/kernel", ACC],
        weights=weights(zz__kernel=np.zeros(2)),
        blame="w.npz",
    ),
    "weights_wrong_shape": Row(
        GOOD + "weights: w.npz\n",
        ["shape (4, 6), expected (6, 4)"],
        weights=weights(d1__kernel=np.zeros((4, 6), np.float32)),
        layer="d1",
        blame="w.npz",
    ),
    "weights_bool": Row(
        GOOD + "weights: w.npz\n",
        ["dtype bool", ACC],
        weights=weights(d1__kernel=np.ones((6, 4), bool)),
        layer="d1",
        blame="w.npz",
    ),
    "weights_text": Row(
        GOOD + "weights: w.npz\n",
        ["dtype <U1", ACC],
        weights=weights(d1__kernel=np.full((6, 4), "a")),
        layer="d1",
        blame="w.npz",
    ),
    "weights_nan": Row(
        GOOD + "weights: w.npz\n",
        ["NaN or infinite", ACC],
        weights=weights(d2__bias=np.full(3, np.nan, np.float32)),
        layer="d2",
        blame="w.npz",
    ),
    "weights_float64_overflow": Row(
        GOOD + "weights: w.npz\n",
        ["NaN or infinite", ACC],
        weights=weights(d2__bias=np.full(3, 1e300)),
        layer="d2",
        blame="w.npz",
    ),
    "weights_record_dtype": Row(
        GOOD + "weights: w.npz\n",
        ["record type", ACC],
        weights=weights(d1__kernel=np.zeros((6, 4), dtype=[("a", "f4")])),
        blame="w.npz",
    ),
    "weights_header_promises_too_much": Row(
        GOOD + "weights: w.npz\n",
        ["memory cap", ACC],
        weights=header_only((100000, 100000, 1000), "d1/kernel"),
        blame="w.npz",
    ),
    "weights_header_without_data": Row(
        GOOD + "weights: w.npz\n",
        ["bytes", ACC],
        weights=header_only((6, 4), "d1/kernel"),
        blame="w.npz",
    ),
    # -- input arrays for tdc run -----------------------------------------------------------
    "input_wrong_shape": Row(
        GOOD,
        ["shape (2, 5, 7)", ACC],
        cmd="run",
        input=npy(np.zeros((2, 5, 7), np.float32)),
        blame="in.npy",
    ),
    "input_wrong_rank": Row(
        GOOD, ["shape (2, 6)"], cmd="run", input=npy(np.zeros((2, 6), np.float32)), blame="in.npy"
    ),
    "input_text": Row(
        GOOD, ["dtype <U1", ACC], cmd="run", input=npy(np.full((2, 3, 6), "a")), blame="in.npy"
    ),
    "input_bool": Row(
        GOOD, ["dtype bool", ACC], cmd="run", input=npy(np.ones((2, 3, 6), bool)), blame="in.npy"
    ),
    "input_complex": Row(
        GOOD, ["complex128"], cmd="run", input=npy(np.ones((2, 3, 6), complex)), blame="in.npy"
    ),
    "input_pickled": Row(
        GOOD,
        ["Python objects", ACC],
        cmd="run",
        input=npy(np.array([None, 1], object)),
        blame="in.npy",
    ),
    "input_overflows_float32": Row(
        GOOD,
        ["float32 range", ACC],
        cmd="run",
        input=npy(np.full((1, 2, 6), 1e300)),
        blame="in.npy",
    ),
    "input_junk": Row(GOOD, ["cannot read array", ACC], cmd="run", input=b"junk", blame="in.npy"),
    "input_npz": Row(
        GOOD, ["npz archive", ACC], cmd="run", input=npz({"a": np.zeros(3)}), blame="in.npy"
    ),
    "input_huge_header": Row(
        GOOD, ["memory cap", ACC], cmd="run", input=header_only((100000, 100000, 6)), blame="in.npy"
    ),
    "input_truncated": Row(
        GOOD, ["bytes", ACC], cmd="run", input=header_only((2, 3, 6)), blame="in.npy"
    ),
    "ids_out_of_range": Row(
        EMB,
        ["ids from 1 to 7", "[0, 5)"],
        cmd="run",
        input=npy(np.array([[1, 7]], np.int32)),
        blame="in.npy",
    ),
    "ids_negative": Row(
        EMB,
        ["ids from -1", "[0, 5)"],
        cmd="run",
        input=npy(np.array([[-1, 2]], np.int64)),
        blame="in.npy",
    ),
    "ids_float": Row(
        EMB,
        ["integer ids", ACC],
        cmd="run",
        input=npy(np.array([[1.0]], np.float32)),
        blame="in.npy",
    ),
    # -- other commands -----------------------------------------------------------------
    "numpy_target": Row(lay("name: d, type: Dense, units: true"), ["'units'"], 4, "d", "numpy"),
    "inspect": Row(lay("name: d, type: Dense, units: -1"), ["'units'"], 4, "d", "inspect"),
    "verify": Row(GOOD.replace("[null, 6]", "[6]"), ["rank >= 3"], 4, "d1", "verify"),
}
