"""Files in and out: arrays read safely, outputs written whole or not at all.

``.npy`` data is parsed here rather than by ``np.load``: the header is read and checked
first (no pickled objects, a plain numeric dtype, at most ``limit`` elements, no more
bytes promised than the file holds), so a hostile or truncated file is refused before
anything is allocated, and nothing in it is ever executed.
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import TdcError
from .loader import InputSpec
from .params import MAX_ELEMENTS

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
#: Most elements of one input array (the file must also hold every byte its header promises).
MAX_INPUT_ELEMENTS = MAX_ELEMENTS * 16
NPY_ACCEPTED = "a .npy file of a plain numeric array (written by numpy.save)"


def write_atomic(pairs: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write every file to a temporary beside it, then rename them all into place."""
    temps: list[tuple[Path, Path]] = []
    target = pairs[0][0] if pairs else Path()
    try:
        for target, writer in pairs:
            for folder in (target.parent, *target.parent.parents):
                if folder.exists() and not folder.is_dir():
                    raise NotADirectoryError(0, f"{folder} is not a folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            os.close(fd)
            temps.append((Path(tmp), target))
            writer(Path(tmp))
        mode = 0o666 & ~_umask()
        for tmp, target in temps:
            os.chmod(tmp, mode)
            os.replace(tmp, target)
    except OSError as e:
        raise TdcError(
            f"cannot write the output: {e.strerror or e}",
            file=str(target),
            accepted="a writable file path (missing folders are created)",
        ) from None
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def read_npy(f: BinaryIO, available: int, limit: int) -> np.ndarray:
    """One array from an open ``.npy`` stream of ``available`` bytes; ``ValueError`` says
    what is wrong. Plain (non-record) dtypes only; never pickled objects."""
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
    count = math.prod(shape)
    if count > limit:
        raise ValueError(f"shape {shape} has {count} elements, more than the {limit} accepted")
    nbytes = count * dtype.itemsize
    if nbytes > available:
        raise ValueError(f"shape {shape} needs {nbytes} bytes but the file holds {available}")
    data = f.read(nbytes)
    if len(data) != nbytes:
        raise ValueError(f"truncated: shape {shape} needs {nbytes} bytes, found {len(data)}")
    order = "F" if fortran else "C"
    return np.frombuffer(bytearray(data), dtype).reshape(shape, order=order)


def read_array(path: str | Path) -> np.ndarray:
    """One array from a ``.npy`` file, header checked before any data is read."""
    file = str(path)
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as f:
            if f.read(4) == b"PK\x03\x04":
                raise TdcError(
                    "this is an .npz archive, not one array", file=file, accepted=NPY_ACCEPTED
                )
            f.seek(0)
            return read_npy(f, size, MAX_INPUT_ELEMENTS)
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
    from .weights import write_npz

    write_atomic([(path, lambda p: write_npz(p, outputs))])


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)
