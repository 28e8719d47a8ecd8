"""Model file inputs -> ``InputSpec``; and the name and line helpers the loader shares.

Each input is a name (restricted, since names reach generated code and ONNX) mapped to
``{shape: [...], dtype: ...}``: at most ``MAX_RANK`` axes, each null or a positive size of
at most ``MAX_SIZE``, at most ``MAX_ELEMENTS`` elements per batch item.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import TdcError, did_you_mean, listing, short
from .params import MAX_ELEMENTS, MAX_RANK, MAX_SIZE

INPUT_DTYPES = ("float32", "int32", "int64")
#: The name a nested Sequential model's input has inside it (never a valid layer name).
SEQUENTIAL_INPUT = "<input>"
MAX_DIM = MAX_SIZE


@dataclass
class InputSpec:
    name: str
    shape: tuple[int | None, ...]
    dtype: str
    line: int


def parse_inputs(err: Callable[..., Any], doc: dict, file: str) -> list[InputSpec]:
    """The model's inputs, in file order; ``err`` raises a located TdcError."""
    raw = doc.get("inputs")
    if not isinstance(raw, dict) or not raw:
        err(
            f"bad 'inputs' {short(raw)}",
            _kl(doc, "inputs"),
            accepted="a mapping of each input name to {shape: [...], dtype: ...}",
        )
    return [one_input(err, file, name, spec, _kl(raw, name)) for name, spec in raw.items()]


def one_input(
    err: Callable[..., Any], file: str, name: str, spec: Any, line: int | None
) -> InputSpec:
    check_name(name, file, line)
    if not isinstance(spec, dict) or "shape" not in spec:
        err(f"input '{name}' needs a shape", line, accepted="{shape: [...], dtype: ...}")
    for key in spec:
        if key not in ("shape", "dtype"):
            err(
                f"input '{name}': unknown key {short(key)}",
                _kl(spec, key),
                accepted="shape, dtype",
            )
    shape = spec["shape"]
    ok = isinstance(shape, list) and len(shape) <= MAX_RANK
    ok = ok and all(d is None or (_is_int(d) and 0 < d <= MAX_DIM) for d in shape)
    if not ok:
        err(
            f"input '{name}': bad shape {short(shape)}",
            _kl(spec, "shape"),
            accepted=f"a list of at most {MAX_RANK} positive integers (at most {MAX_DIM}) "
            "or nulls, the batch axis excluded",
        )
    size = 1
    for d in shape:
        size *= d or 1
    if size > MAX_ELEMENTS:
        err(
            f"input '{name}': shape {short(shape)} has {size} elements per batch item",
            _kl(spec, "shape"),
            accepted=f"at most {MAX_ELEMENTS} elements per batch item",
        )
    dtype = spec.get("dtype", "float32")
    if not isinstance(dtype, str) or dtype not in INPUT_DTYPES:
        err(
            f"input '{name}': unknown dtype {short(dtype)}",
            _kl(spec, "dtype"),
            accepted=listing(INPUT_DTYPES) + did_you_mean(dtype, INPUT_DTYPES),
        )
    return InputSpec(name, tuple(shape), dtype, line or 0)


NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")


def check_name(name: Any, file: str, line: int | None) -> None:
    """Names reach generated code and ONNX: only letters, digits, '_', '.', '-'."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise TdcError(
            f"bad name {short(name)}",
            file=file,
            line=line,
            accepted="a letter or _ followed by up to 127 letters, digits, '_', '.', '-'",
        )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _kind(v: Any) -> str:
    """What a YAML value is, for messages."""
    if v is None:
        return "empty"
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    kinds.update({list: "a list", dict: "a mapping"})
    return next((k for t, k in kinds.items() if isinstance(v, t)), type(v).__name__)


def _line(mapping: Any) -> int | None:
    return getattr(mapping, "line", None)


def _kl(mapping: Any, key: str) -> int | None:
    lines = getattr(mapping, "key_lines", None)
    if lines and key in lines:
        return lines[key]
    return getattr(mapping, "line", None)
