"""Files in and out: arrays read safely, outputs written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import TdcError
from .loader import InputSpec


def write_atomic(pairs: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write every file to a temporary beside it, then rename them all into place."""
    temps: list[tuple[Path, Path]] = []
    try:
        for target, writer in pairs:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            os.close(fd)
            temps.append((Path(tmp), target))
            writer(Path(tmp))
        mode = 0o666 & ~_umask()
        for tmp, target in temps:
            os.chmod(tmp, mode)
            os.replace(tmp, target)
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def read_array(path: str | Path) -> np.ndarray:
    """One array from a ``.npy`` file (``allow_pickle=False``)."""
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise TdcError("input file not found", file=str(path)) from None
    except (OSError, ValueError, EOFError) as e:
        raise TdcError(
            f"cannot read array: {e}", file=str(path), accepted="a .npy file of numbers"
        ) from None
    if not isinstance(arr, np.ndarray):
        raise TdcError("expected a .npy file holding one array, not an .npz", file=str(path))
    return arr


def check_input(arr: np.ndarray, spec: InputSpec, source: str) -> np.ndarray:
    """Shape and dtype of ``arr`` against the model input; returns it in the model's dtype."""
    want = ("batch", *["any" if d is None else d for d in spec.shape])
    ok = arr.ndim == len(spec.shape) + 1 and all(
        d is None or d == s for d, s in zip(spec.shape, arr.shape[1:], strict=False)
    )
    if not ok:
        raise TdcError(f"input '{spec.name}' has shape {arr.shape}, expected {want}", file=source)
    if spec.dtype.startswith("int"):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TdcError(
                f"input '{spec.name}' has dtype {arr.dtype}, expected integers", file=source
            )
    elif not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TdcError(f"input '{spec.name}' has dtype {arr.dtype}, expected float32", file=source)
    return arr.astype(spec.dtype, copy=False)


def save_outputs(path: Path, outputs: dict[str, np.ndarray]) -> None:
    """One output: ``.npy``; several: ``.npz`` keyed by output name."""
    if len(outputs) == 1 and path.suffix != ".npz":
        (arr,) = outputs.values()
        write_atomic([(path, lambda p: _save_npy(p, arr))])
        return
    if path.suffix != ".npz":
        raise TdcError(f"the model has {len(outputs)} outputs: give -o a .npz path", file=str(path))
    from .weights import write_npz

    write_atomic([(path, lambda p: write_npz(p, outputs))])


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)
