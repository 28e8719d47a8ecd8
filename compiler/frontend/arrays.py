"""Files in and out: arrays read safely, outputs written whole or not at all.

``.npy`` data is parsed here rather than by ``np.load``: the header is read and checked
first (no pickled objects, a plain numeric dtype, at most the memory cap in bytes, no
more bytes promised than the file holds), so a hostile or truncated file is refused before
anything is allocated, and nothing in it is ever executed.
"""

from __future__ import annotations

import io
import math
import os
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import TdcError
from ..limits import human, max_bytes
from ..safe_write import write_atomic
from .loader import InputSpec

#: What reading a damaged ``.npy`` or ``.npz`` may raise; each becomes a ``TdcError``.
READ_ERRORS = (
    OSError,
    ValueError,
    EOFError,
    SyntaxError,
    TypeError,
    RecursionError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)
#: The dtype kinds an array may have: bool, integers, floats, complex (refused later with a
#: reason where they do not fit); text, objects, records and dates never.
NUMERIC_KINDS = "biufc"
NPY_ACCEPTED = "a .npy file of a plain numeric array (written by numpy.save)"


def read_header(f: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from an open ``.npy`` stream; nothing else is read.
    ``ValueError`` says what is wrong: plain numeric dtypes only, never pickled objects."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
    else:
        raise ValueError(f".npy format version {version} is not supported")
    if dtype.hasobject:
        raise ValueError("it holds Python objects (pickled data is never loaded)")
    if dtype.kind == "V" or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"dtype {dtype} is a record type, not plain values")
    if dtype.kind not in NUMERIC_KINDS:
        raise ValueError(f"dtype {dtype} is not numeric (text, dates and bytes are refused)")
    return shape, fortran, dtype


def npy_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """The bytes an array of ``shape`` and ``dtype`` holds in memory."""
    return math.prod(shape) * dtype.itemsize


def read_npy(f: BinaryIO, available: int, limit: int) -> np.ndarray:
    """One array from an open ``.npy`` stream of ``available`` bytes, of at most ``limit``
    bytes in memory: the header is checked before a byte of data is read."""
    shape, fortran, dtype = read_header(f)
    nbytes = npy_bytes(shape, dtype)
    if nbytes > limit:
        raise ValueError(
            f"shape {shape} of {dtype} takes {human(nbytes)}, more than the {human(limit)} "
            "memory cap (--max-bytes)"
        )
    if nbytes > available:
        raise ValueError(f"shape {shape} needs {nbytes} bytes but the file holds {available}")
    data = f.read(nbytes)
    if len(data) != nbytes:
        raise ValueError(f"truncated: shape {shape} needs {nbytes} bytes, found {len(data)}")
    order = "F" if fortran else "C"
    return np.frombuffer(bytearray(data), dtype).reshape(shape, order=order)


def read_array(path: str | Path, limit: int | None = None) -> np.ndarray:
    """One array from a ``.npy`` file, header checked before any data is read; at most
    ``limit`` bytes (default: the memory cap)."""
    file = str(path)
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":
                raise TdcError(
                    "this is an .npz archive, not one array", file=file, accepted=NPY_ACCEPTED
                )
            f.seek(0)
            return read_npy(f, size, max_bytes() if limit is None else limit)
    except FileNotFoundError:
        raise TdcError("input file not found", file=file, accepted=NPY_ACCEPTED) from None
    except READ_ERRORS as e:
        raise TdcError(
            f"cannot read array: {_reason(e)}", file=file, accepted=NPY_ACCEPTED
        ) from None


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return " ".join(text.split())[:200]


def check_input(
    arr: np.ndarray, spec: InputSpec, source: str, id_limit: int | None = None
) -> np.ndarray:
    """Shape, dtype and values of ``arr`` against the model input; returns it in the
    model's dtype. Integer ids must lie in [0, ``id_limit``) (the Embedding's input_dim)."""
    want = ("batch", *["any" if d is None else d for d in spec.shape])
    ok = arr.ndim == len(spec.shape) + 1 and all(
        d is None or d == s for d, s in zip(spec.shape, arr.shape[1:], strict=False)
    )
    if not ok:
        raise TdcError(
            f"input '{spec.name}' has shape {arr.shape}, expected {want}",
            file=source,
            accepted=f"shape {want}",
        )
    if spec.dtype.startswith("int"):
        return _check_ids(arr, spec, source, id_limit)
    if arr.dtype.kind not in "iuf":
        raise TdcError(
            f"input '{spec.name}' has dtype {arr.dtype}, expected float32",
            file=source,
            accepted="float or integer arrays (converted to float32)",
        )
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(np.float32, copy=False)
    if arr.dtype.kind == "f" and np.isinf(out).sum() != np.isinf(arr).sum():
        raise TdcError(
            f"input '{spec.name}' has values beyond the float32 range",
            file=source,
            accepted="values of magnitude below 3.4e38",
        )
    return out


def _check_ids(arr: np.ndarray, spec: InputSpec, source: str, limit: int | None) -> np.ndarray:
    accepted = f"integers in [0, {limit})" if limit else f"{spec.dtype} integers"
    if arr.dtype.kind not in "iu":
        raise TdcError(
            f"input '{spec.name}' has dtype {arr.dtype}, expected integer ids",
            file=source,
            accepted=accepted,
        )
    info = np.iinfo(spec.dtype)
    lo, hi = (0, limit - 1) if limit else (info.min, info.max)
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise TdcError(
            f"input '{spec.name}' has ids from {int(arr.min())} to {int(arr.max())}",
            file=source,
            accepted=accepted,
        )
    return arr.astype(spec.dtype, copy=False)


def save_outputs(path: Path, outputs: dict[str, np.ndarray]) -> None:
    """One output: ``.npy``; several: ``.npz`` keyed by output name."""
    if len(outputs) == 1 and path.suffix != ".npz":
        (arr,) = outputs.values()
        write_atomic([(path, lambda p: _save_npy(p, arr))])
        return
    if path.suffix != ".npz":
        raise TdcError(
            f"the model has {len(outputs)} outputs: give -o a .npz path",
            file=str(path),
            accepted="-o OUT.npz",
        )
    write_atomic([(path, lambda p: write_npz(p, outputs))])


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A byte-reproducible ``.npz``: sorted keys, fixed timestamps, no compression."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            data = io.BytesIO()
            np.lib.format.write_array(data, np.asarray(arrays[key], order="C"), allow_pickle=False)
            zf.writestr(info, data.getvalue())
    path.write_bytes(buf.getvalue())
