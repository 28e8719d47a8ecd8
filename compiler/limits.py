"""The memory cap: how many bytes of arrays tdc may hold, checked before anything is allocated.

One number covers what an input could make tdc allocate: a weights file's arrays (summed from
their ``.npy`` headers, before any data is read), the model's weights in float32 (drawn from
the seed or read), an input array read for ``tdc run``, the seeded inputs of ``verify`` and
``bench``, and the largest value the model computes at the batch and length in use. The
default is ``DEFAULT_MAX_BYTES``; ``--max-bytes`` on every command (or ``TDC_MAX_BYTES`` in
the environment) changes it.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence

import numpy as np

from .errors import TdcError

#: The default cap: 2 GiB.
DEFAULT_MAX_BYTES = 2 << 30
#: What ``--max-bytes`` accepts.
SIZE_FORM = "a size such as 4GiB, 512MiB, 8G or a number of bytes"
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_UNITS |= {"ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30, "ti": 1 << 40}
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]i?)?b?", re.IGNORECASE)

_cap: int | None = None


def parse_size(text: str) -> int:
    """``4GiB`` -> 4294967296; ``8G`` and ``8GB`` are powers of ten, as ``df -H`` counts."""
    m = _SIZE_RE.fullmatch(text.strip())
    if not m:
        raise ValueError(SIZE_FORM)
    size = int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])
    if size <= 0:
        raise ValueError(SIZE_FORM + ", above 0")
    return size


def set_max_bytes(size: int | None) -> None:
    """Set the cap for this process (None: back to the environment or the default)."""
    global _cap
    _cap = size


def max_bytes() -> int:
    """The cap in force: ``set_max_bytes``, else ``TDC_MAX_BYTES``, else the default."""
    if _cap is not None:
        return _cap
    env = os.environ.get("TDC_MAX_BYTES")
    if env:
        try:
            return parse_size(env)
        except ValueError:
            raise TdcError(f"TDC_MAX_BYTES={env[:40]!r}", accepted=SIZE_FORM) from None
    return DEFAULT_MAX_BYTES


def human(size: int) -> str:
    """``2147483648`` -> ``2.0 GiB``."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):.1f} {unit}"
    return f"{size} bytes"


def check_bytes(size: int, what: str, **where: str | None) -> None:
    """Refuse ``what`` when it would take more than the cap (``where``: file, layer)."""
    cap = max_bytes()
    if size > cap:
        raise TdcError(
            f"{what} would take {human(size)} ({size} bytes), more than the memory cap of "
            f"{human(cap)}",
            accepted=f"at most {cap} bytes; raise the cap with --max-bytes (or TDC_MAX_BYTES)",
            **where,
        )


def dim_size(dim: int | str, sizes: dict[str, int], default: int) -> int:
    """A symbolic dim ("N", "T", "N*T") at the given sizes; unknown symbols take ``default``."""
    if isinstance(dim, int):
        return dim
    return math.prod(sizes.get(part, default) for part in str(dim).split("*"))


def shape_bytes(
    shape: Sequence[int | str], sizes: dict[str, int], default: int, item: int = 4
) -> int:
    """Bytes of an array of ``shape`` with ``item``-byte elements at the given sizes."""
    return item * math.prod(dim_size(d, sizes, default) for d in shape)


def _value_bytes(value, sizes: dict[str, int], default: int) -> int:
    return shape_bytes(value.shape, sizes, default, np.dtype(value.dtype).itemsize)


def check_values(values: Iterable, sizes: dict[str, int], default: int) -> None:
    """Refuse a run whose largest value (an IR ``Value``) would pass the cap."""
    values = list(values)
    if not values:
        return
    big = max(values, key=lambda v: _value_bytes(v, sizes, default))
    size = _value_bytes(big, sizes, default)
    dims = ", ".join(f"{k}={v}" for k, v in sorted(sizes.items()))
    check_bytes(size, f"at {dims or 'these sizes'}, the value '{big.name}' {tuple(big.shape)}")
