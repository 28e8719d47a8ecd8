"""Keras operations on shapes: ``reshape``, ``transpose``, ``expand_dims``, ``squeeze``,
``concatenate``, ``stack``, ``split`` and ``getitem`` (IR ops in ``keras_shape_ir.py``,
``reshape`` / ``transpose`` / ``concat`` shared with the layers).

Axes count the batch axis, as ``keras.ops`` sees it; none of these may move, index, split
or drop it. ``reshape``'s ``newshape`` starts with ``-1`` for the batch axis (Keras takes
the symbolic batch as -1 too, and at run time -1 absorbs whatever the other axes leave):
the other axes must then hold one sample, except that ``(-1, *S)`` on ``(N, T, *S)`` with a
null T merges batch and time as Keras does (the result's batch axis is N*T).

``concatenate`` and ``stack`` take a list of tensors, their ``inputs:`` (``inputs: [a, b,
c]`` is ``keras.ops.concatenate([a, b, c], axis=...)``). ``split`` has one output per part,
``name``, ``name:1``, ... ``getitem``'s ``key`` is Python's indexing syntax as a string
(``key: "[:, :, :4]"``, see ``keras_getitem.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import REQUIRED, Param
from ..ir.graph import shape_str, static_size
from ..ir.registry import register
from .keras_base import KerasOp, cast, check_axis, integer_axis, result_dtype
from .keras_checks import axes_arg, newshape_arg, perm_arg, sections_arg
from .keras_getitem import ELLIPSIS, expand, is_whole, key_text, parse_key
from .merge import shapes_str

if TYPE_CHECKING:
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

#: The most parts ``split`` makes.
MAX_PARTS = 1024


@register("ops.reshape")
class Reshape(KerasOp):
    """``reshape(x, newshape)``; ``newshape[0]`` is -1, the batch axis."""

    params = {"newshape": Param(REQUIRED, newshape_arg)}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x, shape = self.tensor(b, spec, inputs), spec.attrs["newshape"]
        rest = shape[1:]
        if shape[0] != -1:
            raise TdcError(
                f"ops.reshape to {list(shape)} fixes the batch axis at {shape[0]}",
                accepted="newshape starting with -1 for the batch axis, as Keras takes "
                "the symbolic batch: [-1, ...]",
            )
        want = static_size(rest) or 0
        per = static_size(x.shape[1:])
        if per == want:
            return b.emit("reshape", [x], {"shape": tuple(rest)})
        tail = x.shape[2:]
        timed = x.rank >= 3 and not isinstance(x.shape[1], int)
        if per is None and timed and static_size(tail) == want:
            (y,) = b.emit("fold", [x])  # (N, T, *S) -> (N*T, *S): Keras's -1 takes N*T
            if tuple(rest) == tuple(tail):
                return [y]
            return b.emit("reshape", [y], {"shape": tuple(rest)})
        raise TdcError(
            f"ops.reshape of {shape_str(x.shape)} to {list(shape)} changes the batch axis: "
            f"the axes after -1 hold {want} values, a sample holds "
            f"{per if per is not None else 'a number of values that depends on its null axes'}",
            accepted="newshape [-1, *S] with S holding one sample's values, or [-1, *S] on "
            "(batch, null time, *S) to merge batch and time",
        )


@register("ops.transpose")
class Transpose(KerasOp):
    """``transpose(x, axes)``; the batch axis stays first."""

    params = {"axes": Param(None, lambda v: None if v is None else perm_arg(v))}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x, axes = self.tensor(b, spec, inputs), spec.attrs["axes"]
        if axes is None:
            if x.rank > 1:
                raise TdcError(
                    "ops.transpose without axes reverses every axis, the batch axis included",
                    accepted="axes: a permutation that keeps 0 first, e.g. [0, 2, 1]",
                )
            return [x]
        perm = tuple(a % x.rank if -x.rank <= a < x.rank else -1 for a in axes)
        if sorted(perm) != list(range(x.rank)):
            raise TdcError(
                f"ops.transpose axes {list(axes)} are not a permutation of the {x.rank} axes "
                f"of {shape_str(x.shape)}"
            )
        if perm[0] != 0:
            raise TdcError(
                f"ops.transpose axes {list(axes)} move the batch axis",
                accepted="a permutation that keeps axis 0 first",
            )
        return b.emit("transpose", [x], {"perm": perm})


@register("ops.expand_dims")
class ExpandDims(KerasOp):
    """``expand_dims(x, axis)``: new axes of size 1 (positions in the result)."""

    params = {"axis": Param(REQUIRED, axes_arg)}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x, axis = self.tensor(b, spec, inputs), spec.attrs["axis"]
        listed = axis if isinstance(axis, tuple) else (axis,)
        rank = x.rank + len(listed)
        axes = sorted({check_axis(self.name, a, rank) for a in listed})
        if len(axes) != len(listed):
            raise TdcError(f"ops.expand_dims: axis {list(listed)} names an axis twice")
        return b.emit("expand_dims", [x], {"axes": tuple(axes)})


@register("ops.squeeze")
class Squeeze(KerasOp):
    """``squeeze(x, axis)`` of axes of size 1; without ``axis`` refused (Keras then also
    drops a batch, or a null axis, that happens to have length 1)."""

    params = {"axis": Param(None, lambda v: None if v is None else axes_arg(v))}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x, axis = self.tensor(b, spec, inputs), spec.attrs["axis"]
        if axis is None:
            raise TdcError(
                "ops.squeeze without axis drops every axis of length 1 at run time, the "
                "batch axis and null axes included, so its result has no fixed rank",
                accepted="axis: the axes (of size 1) to drop",
            )
        listed = axis if isinstance(axis, tuple) else (axis,)
        axes = sorted({check_axis(self.name, a, x.rank) for a in listed})
        for a in axes:
            if x.shape[a] != 1:
                raise TdcError(
                    f"ops.squeeze: axis {a} of {shape_str(x.shape)} has size {x.shape[a]}, not 1"
                )
        return b.emit("squeeze", [x], {"axes": tuple(axes)})


class _Joining(KerasOp):
    """A list of tensors (``inputs:``) joined along ``axis``."""

    operands = ("*xs",)
    params = {"axis": Param(0, integer_axis)}

    def call_keras(self, ops: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return getattr(ops, self.name.removeprefix("ops."))(args, **kwargs)

    def joined(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        if len(inputs) != len(spec.operands):
            raise TdcError(
                f"{self.name} takes a list of tensors, not constants",
                accepted="inputs: [a, b, ...], each a layer or input",
            )
        rank = inputs[0].rank
        if any(v.rank != rank for v in inputs):
            raise TdcError(f"{self.name} needs tensors of one rank, got {shapes_str(inputs)}")
        dtype = result_dtype([v.dtype for v in inputs])
        return [cast(b, v, dtype) for v in inputs]

    def axis(self, spec: LayerSpec, rank: int) -> int:
        if spec.attrs["axis"] == 0 and "axis" not in spec.args:
            raise TdcError(
                f"{self.name} joins along the batch axis by default (axis 0), which a "
                "compiled model keeps as it is",
                accepted="axis: an axis other than 0, e.g. axis: -1",
            )
        return check_axis(self.name, spec.attrs["axis"], rank)


@register("ops.concatenate")
class Concatenate(_Joining):
    """``concatenate(xs, axis)``: ``inputs: [a, b, ...]`` is the list ``xs``."""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        xs = self.joined(b, spec, inputs)
        return b.emit("concat", xs, {"axis": self.axis(spec, xs[0].rank)})


@register("ops.stack")
class Stack(_Joining):
    """``stack(x, axis)``: ``inputs: [a, b, ...]`` is the list ``x``; a new axis."""

    operands = ("*x",)

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        xs = self.joined(b, spec, inputs)
        axis = self.axis(spec, xs[0].rank + 1)
        parts = [b.emit("expand_dims", [v], {"axes": (axis,)})[0] for v in xs]
        return b.emit("concat", parts, {"axis": axis})


@register("ops.split")
class Split(KerasOp):
    """``split(x, indices_or_sections, axis)``: one output per part."""

    operands = ("x", "indices_or_sections")
    params = {"indices_or_sections": Param(None, sections_arg), "axis": Param(0, integer_axis)}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x, raw = inputs[0], spec.attrs["indices_or_sections"]
        try:  # an operand in inputs: is a number the loader made a float
            how = sections_arg(_whole(raw))
        except ValueError as e:
            raise TdcError(f"ops.split: bad indices_or_sections {raw!r}", accepted=str(e)) from None
        if spec.attrs["axis"] == 0 and "axis" not in spec.args:
            raise TdcError(
                "ops.split splits the batch axis by default (axis 0)",
                accepted="axis: an axis other than 0, e.g. axis: -1",
            )
        axis = check_axis(self.name, spec.attrs["axis"], x.rank)
        d = x.shape[axis]
        n = int(how) if not isinstance(how, tuple) else len(how) + 1
        if n > MAX_PARTS:
            raise TdcError(f"ops.split into {n} parts", accepted=f"at most {MAX_PARTS} parts")
        if not isinstance(d, int):
            if isinstance(how, tuple):
                raise TdcError(
                    f"ops.split at indices of the null axis {axis} of {shape_str(x.shape)}",
                    accepted="a number of equal parts on a null axis",
                )
            return b.emit("split", [x], {"axis": axis, "sections": n})
        return b.emit("split", [x], {"axis": axis, "sizes": _sizes(how, d, axis)})


def _whole(v: Any) -> Any:
    """A number operand (the loader makes it a float) as the integer it is."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _sizes(how: int | tuple[int, ...], d: int, axis: int) -> tuple[int, ...]:
    if not isinstance(how, tuple):
        if d % how:
            raise TdcError(
                f"ops.split: axis {axis} of size {d} does not split into {how} equal parts"
            )
        return (d // how,) * how
    cuts = [0, *how, d]
    if any(a >= c for a, c in zip(cuts, cuts[1:], strict=False)):
        raise TdcError(
            f"ops.split: indices {list(how)} do not increase within axis {axis} of size {d}",
            accepted=f"increasing indices between 1 and {d - 1}",
        )
    return tuple(int(v) for v in np.diff(cuts))


def _key(v: Any) -> tuple:
    return parse_key(v)


@register("ops.getitem")
class GetItem(KerasOp):
    """``x[key]``; ``key`` a string in Python's indexing syntax, parsed as data."""

    params = {"key": Param(REQUIRED, _key)}

    def call_keras(self, ops: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        key = tuple(_python(e) for e in parse_key(kwargs["key"]))
        return ops.get_item(args[0], key)

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = self.tensor(b, spec, inputs)
        key = expand(spec.attrs["key"], x.rank)
        if not is_whole(key[0]):
            raise TdcError(
                f"ops.getitem {key_text(key)} on {shape_str(x.shape)} indexes the batch axis",
                accepted="a key whose first entry is ':' (the batch axis), e.g. \"[:, :, :4]\"",
            )
        return b.emit("getitem", [x], {"key": key})


def _python(e: tuple) -> Any:
    """A key entry as the Python object of the same indexing."""
    if e == ELLIPSIS:
        return Ellipsis
    if e[0] == "slice":
        return slice(*e[1:])
    return e[1] if e[0] == "index" else None
