"""Calibration data for static int8 quantization: read from a file, or seeded.

A ``.npz`` holds one array per model input, keyed by the input's name; a ``.npy`` one array
for a one-input model. Arrays are read with tdc's own header-checked reader (no pickle,
``allow_pickle=False`` semantics), after the file's size and every array's size in bytes
were checked against the memory cap (``compiler/limits.py``); shapes and dtypes are checked
against the model's inputs, with exit 2 naming the file on a mismatch.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TdcError, listing
from ..frontend.arrays import READ_ERRORS, check_input, read_array, read_npy
from ..limits import check_bytes, max_bytes

#: Seeded calibration when no file is given: this many samples of this length (null axes).
SEEDED_BATCH, SEEDED_TIME, SEEDED_SEED = 16, 8, 1
ACCEPTED = "--calibration DATA.npz (one array per model input, keyed by name) or DATA.npy"


def load_calibration(path: Path, spec: Any) -> list[np.ndarray]:
    """The calibration arrays, in the model's input order, checked against its inputs."""
    file = str(path)
    if path.suffix not in (".npy", ".npz"):
        raise TdcError(
            f"--calibration {path.name}: not a .npy or .npz file", file=file, accepted=ACCEPTED
        )
    try:
        size = os.stat(path).st_size
    except OSError:
        raise TdcError("calibration file not found", file=file, accepted=ACCEPTED) from None
    check_bytes(size, "the calibration file", file=file)
    arrays = _read_npz(path, spec) if path.suffix == ".npz" else _read_npy(path, spec)
    xs = [check_input(arrays[s.name], s, file, spec.id_limits.get(s.name)) for s in spec.inputs]
    if len({x.shape[0] for x in xs}) != 1 or xs[0].shape[0] == 0:
        raise TdcError(
            "calibration arrays need the same batch size, at least 1",
            file=file,
            accepted="arrays of (samples, ...) with one sample count",
        )
    if not all(np.isfinite(x).all() for x in xs if x.dtype.kind == "f"):
        raise TdcError(
            "calibration data holds NaN or infinity", file=file, accepted="finite values"
        )
    return xs


def _read_npy(path: Path, spec: Any) -> dict[str, np.ndarray]:
    if len(spec.inputs) != 1:
        names = listing(s.name for s in spec.inputs)
        raise TdcError(
            f"the model has {len(spec.inputs)} inputs; a .npy holds one array",
            file=str(path),
            accepted=f"a .npz keyed by {names}",
        )
    return {spec.inputs[0].name: read_array(path)}


def _read_npz(path: Path, spec: Any) -> dict[str, np.ndarray]:
    names = [s.name for s in spec.inputs]
    file = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            members = {i.filename.removesuffix(".npy"): i for i in zf.infolist()}
            if sorted(members) != sorted(names):
                raise TdcError(
                    f"calibration keys {listing(sorted(members))} are not the model's inputs",
                    file=file,
                    accepted=f"keys {listing(names)}",
                )
            out, left = {}, max_bytes()
            for name in names:
                with zf.open(members[name]) as f:
                    out[name] = read_npy(f, members[name].file_size, left)
                left -= out[name].nbytes
            return out
    except TdcError:
        raise
    except READ_ERRORS as e:
        raise TdcError(f"cannot read calibration data: {e}", file=file, accepted=ACCEPTED) from None


def seeded_calibration(spec: Any) -> list[np.ndarray]:
    """Seeded inputs from the model's input specs (another seed than ``verify``'s)."""
    from ..tools.verify import seeded_inputs

    return seeded_inputs(spec, SEEDED_BATCH, SEEDED_TIME, seed=SEEDED_SEED)


def batches(names: list[str], xs: list[np.ndarray], size: int = 1) -> list[dict[str, np.ndarray]]:
    """Feeds of ``size`` samples each, in order (calibration is deterministic)."""
    n = xs[0].shape[0]
    return [{k: x[i : i + size] for k, x in zip(names, xs, strict=True)} for i in range(0, n, size)]
