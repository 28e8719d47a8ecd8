"""The wiring of a model file: references between layers, outputs, and the dtypes flowing.

Layers are wired in file order: a layer's ``inputs:`` may name model inputs and earlier
layers only, so a cycle (or a reference to itself) is refused with the line of the
reference. Only integer ids flow through ``Embedding`` (possibly inside
``TimeDistributed``); every other layer takes float32, and ``check_dtypes`` says which
``input_dim`` bounds the ids of each integer input.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from ..errors import did_you_mean, listing, short
from ..ir.registry import get_op

if TYPE_CHECKING:
    from ..ir.registry import OpDef
    from .loader import InputSpec, LayerSpec

#: The parser's ``err(message, line, layer, **kw)``: raises a located ``TdcError``.
Err = Callable[..., NoReturn]


def snake_case(name: str) -> str:
    """Keras's default layer-name stem: ``Conv2D`` -> ``conv2d``, ``PReLU`` -> ``p_re_lu``."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def default_names(raw: list[dict], used: set[str], known: list[str]) -> list[str]:
    """Each entry's ``name:``, or Keras's default for an unnamed one: the snake_case type
    with ``_1``, ``_2``... appended as needed to avoid every name in ``used``."""
    out: list[str] = []
    counts: dict[str, int] = {}
    for entry in raw:
        name = entry.get("name")
        if name is None:
            typ = entry.get("type")
            stem = "layer"
            if typ in known:
                stem = typ[4:] if typ.startswith("ops.") else snake_case(typ)
            while True:
                k = counts.get(stem, 0)
                counts[stem] = k + 1
                name = stem if k == 0 else f"{stem}_{k}"
                if name not in used:
                    break
            used.add(name)
        out.append(name)
    return out


#: Most elements of one constant operand.
MAX_CONSTANT = 2**16


def _numbers(v: Any, depth: int = 0) -> bool:
    if isinstance(v, list):
        return depth < 8 and all(_numbers(x, depth + 1) for x in v)
    return isinstance(v, int | float) and not isinstance(v, bool)


def is_constant(v: Any) -> bool:
    """A constant operand: a finite number or a rectangular nested list of them."""
    if not _numbers(v):
        return False
    try:
        arr = np.asarray(v, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        return False
    return arr.size <= MAX_CONSTANT and arr.ndim <= 8 and bool(np.isfinite(arr).all())


REF_FORMS = "a name, or name:k (k >= 1) for output k of a multi-output layer"


def split_ref(ref: str) -> tuple[str, int]:
    """``name`` -> (name, 0); ``name:k`` (k >= 1) -> (name, k); anything else ValueError."""
    if ":" not in ref:
        return ref, 0
    name, _, k = ref.partition(":")
    if not k.isdigit() or not k.isascii() or len(k) > 6 or int(k) < 1 or k != str(int(k)):
        raise ValueError(ref)
    return name, int(k)


def reference(err: Err, ref: str, line: int | None, layer: str | None = None) -> tuple[str, int]:
    """``split_ref`` with a located error."""
    try:
        return split_ref(ref)
    except ValueError:
        err(f"bad reference {short(ref)}", line, layer, accepted=REF_FORMS)


def layer_inputs(
    err: Err,
    entry: dict,
    spec: LayerSpec,
    previous: str | None,
    seen: set[str],
    later: dict[str, int],
    line: int | None,
    constants: bool = False,
) -> list[Any]:
    """The references of one top-level layer: ``inputs:`` or the previous layer; with
    ``constants`` (a Keras operation), numbers and lists of numbers too, as written."""
    raw = entry.get("inputs")
    if raw is None:
        if previous is None:
            err(
                "the first layer of a model with several inputs needs 'inputs:'",
                spec.line,
                spec.name,
                accepted="inputs: NAME or inputs: [NAME, ...]",
            )
        return [previous]
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        if not constants or not isinstance(names, list) or not names:
            numbers = isinstance(names, list) and any(is_constant(n) for n in names)
            err(
                f"bad 'inputs' {short(raw)}"
                + (
                    ": a number is a constant operand, which only Keras operations "
                    "(type: ops.<name>) take"
                    if numbers and not constants
                    else ""
                ),
                line,
                spec.name,
                accepted=(
                    "a non-empty list of names and constant operands (numbers, lists of numbers)"
                    if constants
                    else "a name or a non-empty list of names"
                ),
            )
        bad = [n for n in names if not isinstance(n, str) and not is_constant(n)]
        if bad:
            err(
                f"bad operand {short(bad[0])} in 'inputs'",
                line,
                spec.name,
                accepted="a layer or input name, a finite number, or a (nested) list of "
                f"finite numbers of at most {MAX_CONSTANT} elements",
            )
        if not any(isinstance(n, str) for n in names):
            err(
                f"{spec.type} has only constant operands",
                line,
                spec.name,
                accepted="at least one operand that names a layer or an input",
            )
    for n in names:
        if not isinstance(n, str):
            continue
        target = reference(err, n, line, spec.name)[0]
        if target in seen:
            continue
        if target == spec.name:
            err(f"input {short(n)} is the layer itself (a cycle)", line, spec.name)
        if target in later:
            err(
                f"input {short(n)} is defined later, at line {later[target]}: a layer takes "
                "model inputs and earlier layers only, so the graph has no cycles",
                line,
                spec.name,
                accepted=listing(sorted(seen)),
            )
        err(
            f"input {short(n)} is not an input or an earlier layer"
            + did_you_mean(target, sorted(seen), close=True),
            line,
            spec.name,
            accepted=listing(sorted(seen)),
        )
    return list(names)


def outputs(err: Err, raw: Any, line: int | None, layers: list[LayerSpec]) -> list[str]:
    """``outputs:`` checked against the layers; default: the last layer."""
    if raw is None:
        return [layers[-1].name]
    names = [raw] if isinstance(raw, str) else raw
    known = [lay.name for lay in layers]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        err(
            f"bad 'outputs' {short(raw)}",
            line,
            accepted="a layer name or a non-empty list of layer names",
        )
    for n in names:
        target = reference(err, n, line)[0]
        if target not in known:
            hint = did_you_mean(target, known, close=True)
            err(f"output {short(n)} is not a layer{hint}", line, accepted=listing(known))
    if len(set(names)) != len(names):
        err("'outputs' lists a layer twice", line, accepted="each output once")
    return list(names)


def _innermost(spec: LayerSpec) -> LayerSpec:
    while spec.inner is not None and spec.type == "TimeDistributed":
        spec = spec.inner
    return spec


def check_dtypes(err: Err, inputs: list[InputSpec], layers: list[LayerSpec]) -> dict[str, int]:
    """Refuse integer values reaching anything but Embedding; return, for each integer
    input, the smallest ``input_dim`` of the Embeddings it feeds (its ids must be below)."""
    int_inputs = {i.name for i in inputs if i.dtype != "float32"}
    limits: dict[str, int] = {}
    for lay in layers:
        inner = _innermost(lay)
        free = 0 if inner.model is not None else get_op(inner.type).dtype_free_inputs(inner.attrs)
        ids = [r for r in lay.inputs[: len(lay.inputs) - free] if split_ref(r)[0] in int_inputs]
        if not ids:
            continue
        if inner.model is not None:  # a nested model checks its own inputs' dtypes
            continue
        if lay.type.startswith("ops."):  # a Keras operation takes integers (keras_base.py)
            continue
        if inner.type != "Embedding" or len(lay.inputs) != 1:
            err(
                f"{lay.label} takes float32 values, but input '{ids[0]}' holds integer ids",
                lay.line,
                lay.name,
                accepted="integer inputs feed Embedding (or TimeDistributed(Embedding)) and "
                "Keras operations (ops.<name>) only",
            )
        name = split_ref(ids[0])[0]
        limits[name] = min(limits.get(name, inner.attrs["input_dim"]), inner.attrs["input_dim"])
    return limits


def operands(err: Err, op: OpDef, spec: LayerSpec, refs: list[Any], line: Any) -> list[Any]:
    """A Keras operation's positional operands: as many as it takes, constants only
    where a number fits, an operand that is also a keyword argument given once."""
    names = op.operands or ()
    rest = bool(names) and names[-1].startswith("*")  # a list operand: every input
    if len(refs) > len(names) and not rest:
        err(
            f"{spec.type} takes at most {len(names)} operand(s), got {len(refs)}",
            line,
            spec.name,
            accepted=f"inputs: [{', '.join(names)}]" if names else "no inputs: keywords only",
        )
    for k, (ref, pname) in enumerate(zip(refs, names, strict=False)):
        if pname in (op.params or {}):
            if pname in spec.args:
                err(f"{spec.type}: '{pname}' given twice", line, spec.name)
            if isinstance(ref, str) or not isinstance(ref, int | float):
                err(
                    f"{spec.type}: operand {k + 1} ('{pname}') must be a number",
                    line,
                    spec.name,
                    accepted=f"a number as '{pname}'",
                )
            spec.attrs[pname] = float(ref)
    for pname in names[len(refs) :]:
        if pname not in (op.params or {}) or spec.attrs.get(pname) is None:
            err(
                f"{spec.type}: missing operand '{pname}'",
                line,
                spec.name,
                accepted=f"inputs: [{', '.join(names)}]",
            )
    return list(refs)


def text_operand(err: Err, op: OpDef, spec: LayerSpec, entry: dict, line: Any) -> dict:
    """The entry without a leading text operand (``ops.einsum``'s subscripts first, as
    Keras's signature has them): a first ``inputs:`` string that is no name (it holds
    ',' or '->') becomes the op's ``text_operand`` keyword argument."""
    from .inputs import NAME_RE

    key, raw = getattr(op, "text_operand", None), entry.get("inputs")
    if key is None or not isinstance(raw, list) or not raw or not isinstance(raw[0], str):
        return entry
    if NAME_RE.fullmatch(raw[0]):
        return entry
    if key in spec.args:
        err(f"{spec.type}: '{key}' given twice", line, spec.name)
    try:
        spec.attrs[key] = (op.params or {})[key].check(raw[0])
    except ValueError as e:
        err(f"{spec.type}: bad {key} {short(raw[0])}", line, spec.name, accepted=str(e))
    spec.args[key] = raw[0]
    return {**entry, "inputs": raw[1:]}
