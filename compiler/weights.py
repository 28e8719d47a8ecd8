"""Weights: read from ``.npz`` (``<layer>/<variable>`` keys, Keras layouts) or drawn from a seed.

Without a file each variable is drawn from its Keras default initialiser's distribution
with a generator seeded by the model seed and the key, so the draw does not depend on
the order of the layers.

A weights file is read member by member through ``io.read_npy`` (headers checked before
any data, no pickles). Any real dtype is accepted and converted to float32, as Keras's
``set_weights`` does; bool, complex and text are refused, and so are NaN and infinite
values (also those a float64 value becomes in float32): they can only be a damaged file.
A model may hold at most ``MAX_WEIGHTS`` weight elements in all, checked before drawing
or reading each variable.
"""

from __future__ import annotations

import io
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import TdcError, short
from .io import READ_ERRORS, read_npy
from .params import MAX_WEIGHTS
from .registry import WeightSpec

#: Most arrays in a weights file.
MAX_ARRAYS = 100_000
NPZ_ACCEPTED = "an .npz of numeric arrays keyed <layer>/<variable> (numpy.savez; no pickles)"


class WeightSource:
    """Hands each layer its arrays and, at the end, checks that no key was left over."""

    def __init__(self, path: Path | None, seed: int) -> None:
        self.path = path
        self.seed = seed
        self.arrays = read_npz(path) if path is not None else None
        self.used: set[str] = set()
        #: Every array handed out, by Keras key (what Keras gets via ``set_weights``).
        self.taken: dict[str, np.ndarray] = {}
        self.total = 0

    def take(self, layer: str, specs: dict[str, WeightSpec]) -> dict[str, np.ndarray]:
        for var, spec in specs.items():
            self._count(f"{layer}/{var}", spec.shape)
        out = {}
        for var, spec in specs.items():
            key = f"{layer}/{var}"
            out[var] = self._file(key, spec) if self.arrays is not None else self._draw(key, spec)
            self.used.add(key)
            self.taken[key] = out[var]
        return out

    def _count(self, key: str, shape: tuple[int, ...]) -> None:
        """Refuse a model whose weights would pass ``MAX_WEIGHTS``, before allocating."""
        self.total += math.prod(int(d) for d in shape)
        if self.total > MAX_WEIGHTS:
            raise TdcError(
                f"too many weights: '{key}' of shape {tuple(shape)} brings the model to "
                f"{self.total} weight elements",
                accepted=f"at most {MAX_WEIGHTS} weight elements in all "
                f"({MAX_WEIGHTS * 4 >> 20} MiB of float32)",
            )

    def _file(self, key: str, spec: WeightSpec) -> np.ndarray:
        assert self.arrays is not None
        if key not in self.arrays:
            raise TdcError(
                f"weights file has no key '{key}' (expected shape {spec.shape})",
                file=str(self.path),
                layer=key.split("/")[0],
            )
        arr = self.arrays[key]
        if tuple(arr.shape) != tuple(spec.shape):
            raise TdcError(
                f"weight '{key}' has shape {tuple(arr.shape)}, expected {tuple(spec.shape)}",
                file=str(self.path),
                layer=key.split("/")[0],
                accepted=f"an array of shape {tuple(spec.shape)} (Keras's layout)",
            )
        if arr.dtype.kind not in "iuf":
            raise TdcError(
                f"weight '{key}' has dtype {arr.dtype}, expected float32",
                file=str(self.path),
                layer=key.split("/")[0],
                accepted="float or integer arrays (converted to float32)",
            )
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.ascontiguousarray(arr, dtype=np.float32)
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
        if self.arrays is None:
            return
        extra = sorted(set(self.arrays) - self.used)
        if extra:
            raise TdcError(
                f"weights file has keys no layer uses: {', '.join(extra)}",
                file=str(self.path),
                accepted=", ".join(sorted(self.used)) or "none",
            )


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file; each header is checked before its data is read."""
    file = str(path)
    member = ""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ARRAYS:
                raise TdcError(
                    f"weights file has {len(infos)} arrays", file=file, accepted=NPZ_ACCEPTED
                )
            out: dict[str, np.ndarray] = {}
            budget = MAX_WEIGHTS
            for info in infos:
                member = info.filename
                key = _key(info.filename, out, file)
                with zf.open(info) as f:
                    out[key] = read_npy(f, info.file_size, budget)
                budget -= out[key].size
            return out
    except FileNotFoundError:
        raise TdcError("weights file not found", file=file, accepted=NPZ_ACCEPTED) from None
    except READ_ERRORS as e:
        where = f"array {short(member)}: " if member else ""
        reason = " ".join((getattr(e, "strerror", None) or str(e) or type(e).__name__).split())
        raise TdcError(
            f"cannot read weights file: {where}{reason[:200]}",
            file=file,
            accepted=NPZ_ACCEPTED,
        ) from None


def _key(member: str, seen: dict[str, np.ndarray], file: str) -> str:
    """``conv1/kernel.npy`` -> ``conv1/kernel``; anything else in the archive is refused."""
    key = member[:-4] if member.endswith(".npy") else ""
    if not key or key in seen:
        what = "twice" if key else "not an .npy array"
        raise TdcError(
            f"weights file member {short(member)} is {what}", file=file, accepted=NPZ_ACCEPTED
        )
    return key


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A byte-reproducible ``.npz``: sorted keys, fixed timestamps, no compression."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            data = io.BytesIO()
            np.lib.format.write_array(data, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            zf.writestr(info, data.getvalue())
    path.write_bytes(buf.getvalue())


# -- Keras default initialisers --------------------------------------------------------------


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    x = rng.standard_normal(shape)
    bad = np.abs(x) > 2
    while bad.any():
        x[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(x) > 2
    return x * std


def _variance_scaling(
    rng: np.random.Generator, shape: tuple[int, ...], scale: float, mode: str, dist: str
) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    var = scale / max(1.0, n)
    if dist == "uniform":
        lim = np.sqrt(3.0 * var)
        return rng.uniform(-lim, lim, shape)
    return _truncated(rng, shape, np.sqrt(var) / 0.87962566103423978)


def _orthogonal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q.reshape(shape)


_SCALING = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "normal"),
}


def initialise(init: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Draw ``shape`` from the named Keras initialiser (plus ``lstm_bias``: unit_forget_bias)."""
    if init in _SCALING:
        out = _variance_scaling(rng, shape, *_SCALING[init])
    elif init == "zeros":
        out = np.zeros(shape)
    elif init == "ones":
        out = np.ones(shape)
    elif init == "orthogonal":
        out = _orthogonal(rng, shape)
    elif init == "random_normal":
        out = rng.standard_normal(shape) * 0.05
    elif init == "random_uniform":
        out = rng.uniform(-0.05, 0.05, shape)
    elif init == "truncated_normal":
        out = _truncated(rng, shape, 0.05)
    elif init == "identity":
        out = np.eye(*shape[-2:]) if len(shape) == 2 else np.ones(shape)
    elif init == "lstm_bias":
        out = np.zeros(shape)
        units = shape[0] // 4
        out[units : 2 * units] = 1.0
    else:
        raise AssertionError(f"unknown initialiser {init}")
    return np.asarray(out, dtype=np.float32)
