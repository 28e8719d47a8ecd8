"""Weights: read from ``.npz`` (``<layer>/<variable>`` keys, Keras layouts) or drawn from a seed.

Without a file each variable is drawn from its Keras default initialiser's distribution
with a generator seeded by the model seed and the key, so the draw does not depend on
the order of the layers.

A weights file is indexed first: every member's ``.npy`` header is read (no data), and a
member that is not a plain numeric array, or a file whose arrays add up to more than the
memory cap in bytes, is refused before anything is inflated. A member's data is read only
when a layer asks for its key, so keys no layer uses are never inflated (and are refused
at the end). Any real dtype is accepted and converted to float32, as Keras's
``set_weights`` does; bool, complex and text are refused, and so are NaN and infinite
values (also those a float64 value becomes in float32): they can only be a damaged file.
The model's weights in float32 must also fit the cap, checked before drawing or reading
each variable.
"""

from __future__ import annotations

import contextlib
import math
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TdcError, listing, short
from ..ir.registry import WeightSpec
from ..limits import check_bytes, max_bytes
from .arrays import READ_ERRORS, npy_bytes, read_header, read_npy
from .initializers import initialise

#: Most arrays in a weights file.
MAX_ARRAYS = 100_000
NPZ_ACCEPTED = "an .npz of numeric arrays keyed <layer>/<variable> (numpy.savez; no pickles)"


class WeightSource:
    """Hands each layer its arrays and, at the end, checks that no key was left over."""

    def __init__(self, path: Path | None, seed: int) -> None:
        self.path = path
        self.seed = seed
        self.index = NpzIndex(path) if path is not None else None
        self.used: set[str] = set()
        #: Every array handed out, by Keras key (what Keras gets via ``set_weights``).
        self.taken: dict[str, np.ndarray] = {}
        self.total = 0

    def take(self, layer: str, specs: dict[str, WeightSpec]) -> dict[str, np.ndarray]:
        for var, spec in specs.items():
            _check_init(layer, var, spec)
            self._count(f"{layer}/{var}", spec.shape)
        out = {}
        for var, spec in specs.items():
            key = f"{layer}/{var}"
            out[var] = self._file(key, spec) if self.index is not None else self._draw(key, spec)
            self.used.add(key)
            self.taken[key] = out[var]
        return out

    def _count(self, key: str, shape: tuple[int, ...]) -> None:
        """Refuse a model whose float32 weights would pass the memory cap, before allocating."""
        self.total += 4 * math.prod(int(d) for d in shape)
        check_bytes(
            self.total,
            f"the model's weights (up to '{key}' of shape {tuple(shape)}, in float32)",
            layer=key.split("/")[0],
        )

    def _file(self, key: str, spec: WeightSpec) -> np.ndarray:
        assert self.index is not None
        if key not in self.index.members:
            raise TdcError(
                f"weights file has no key '{key}' (expected shape {spec.shape})",
                file=str(self.path),
                layer=key.split("/")[0],
            )
        found = self.index.members[key]
        if tuple(found.shape) != tuple(spec.shape):
            raise TdcError(
                f"weight '{key}' has shape {tuple(found.shape)}, expected {tuple(spec.shape)}",
                file=str(self.path),
                layer=key.split("/")[0],
                accepted=f"an array of shape {tuple(spec.shape)} (Keras's layout)",
            )
        if found.dtype.kind not in "iuf":
            raise TdcError(
                f"weight '{key}' has dtype {found.dtype}, expected float32",
                file=str(self.path),
                layer=key.split("/")[0],
                accepted="float or integer arrays (converted to float32)",
            )
        arr = self.index.read(key)
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.asarray(arr, dtype=np.float32, order="C")  # 0-d stays 0-d
        bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        if bad:
            raise TdcError(
                f"weight '{key}' has {bad} NaN or infinite value(s) (in float32)",
                file=str(self.path),
                layer=key.split("/")[0],
                accepted="finite float32 values",
            )
        return out

    def _draw(self, key: str, spec: WeightSpec) -> np.ndarray:
        rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
        return initialise(spec.init, spec.shape, rng)

    def finish(self) -> None:
        """Extra keys are an error: they usually mean a misspelt layer name."""
        if self.index is None:
            return
        self.index.close()
        extra = sorted(set(self.index.members) - self.used)
        if extra:
            raise TdcError(
                f"weights file has keys no layer uses: {listing(extra)}",
                file=str(self.path),
                accepted=listing(sorted(self.used)) or "none",
            )


def _check_init(layer: str, var: str, spec: WeightSpec) -> None:
    """Keras builds every variable with its initialiser, even when weights are loaded later:
    what it refuses to draw is refused here too."""
    if spec.init == "identity" and len(spec.shape) != 2:
        raise TdcError(
            f"the identity initializer cannot draw '{var}' of shape {tuple(spec.shape)} "
            "(Keras: only 2D matrices)",
            layer=layer,
            accepted="identity for 2-D weights only (a Dense kernel, an RNN's kernels)",
        )


@dataclass
class Member:
    """One array of an ``.npz``: its place in the archive and its header."""

    info: zipfile.ZipInfo
    shape: tuple[int, ...]
    dtype: np.dtype


class NpzIndex:
    """The arrays of an ``.npz`` by key, from their headers; data read on request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.members: dict[str, Member] = {}
        self._zip: zipfile.ZipFile | None = None
        with _reading(path, ""), zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ARRAYS:
                raise TdcError(
                    f"weights file has {len(infos)} arrays, more than {MAX_ARRAYS}",
                    file=str(path),
                    accepted=NPZ_ACCEPTED,
                )
            for info in infos:
                key = _key(info.filename, self.members, str(path))
                with _reading(path, info.filename), zf.open(info) as f:
                    self.members[key] = Member(info, *_header(f))
        total = sum(npy_bytes(m.shape, m.dtype) for m in self.members.values())
        check_bytes(total, f"the weights file's {len(self.members)} arrays", file=str(path))

    def read(self, key: str) -> np.ndarray:
        """The array under ``key``, header checked again as its data is read. The archive
        is opened once for all reads (its directory parsed once, not once per array)."""
        info = self.members[key].info
        with _reading(self.path, info.filename):
            if self._zip is None:
                self._zip = zipfile.ZipFile(self.path)
            with self._zip.open(info) as f:
                return read_npy(f, info.file_size, max_bytes())

    def close(self) -> None:
        """Close the archive ``read`` opened (reading again reopens it)."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def _header(f) -> tuple[tuple[int, ...], np.dtype]:
    shape, _, dtype = read_header(f)
    return shape, dtype


@contextlib.contextmanager
def _reading(path: Path, member: str) -> Iterator[None]:
    """Turns what reading a damaged archive raises into one located ``TdcError``."""
    try:
        yield
    except FileNotFoundError:
        if member:
            raise
        raise TdcError("weights file not found", file=str(path), accepted=NPZ_ACCEPTED) from None
    except READ_ERRORS as e:
        where = f"array {short(member)}: " if member else ""
        text = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise TdcError(
            f"cannot read weights file: {where}{' '.join(text.split())[:200]}",
            file=str(path),
            layer=member.split("/")[0] if "/" in member else None,
            accepted=NPZ_ACCEPTED,
        ) from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (headers and the byte total checked first)."""
    index = NpzIndex(path)
    try:
        return {key: index.read(key) for key in index.members}
    finally:
        index.close()


def _key(member: str, seen: dict, file: str) -> str:
    """``conv1/kernel.npy`` -> ``conv1/kernel``; anything else in the archive is refused."""
    key = member[:-4] if member.endswith(".npy") else ""
    if not key or key in seen:
        what = "twice" if key else "not an .npy array"
        raise TdcError(
            f"weights file member {short(member)} is {what}", file=file, accepted=NPZ_ACCEPTED
        )
    return key
