"""The IR ops of the shape operations (``keras_shape_ops.py``): ``squeeze`` (``axes``),
``expand_dims`` (``axes`` of the result), ``split`` (``axis``; ``sizes`` of a static axis,
or ``sections`` equal parts of a null one; one output per part) and ``getitem``
(``key``: the entries of ``keras_getitem``, ``...`` spelled out). None of them touches
axis 0, the batch axis; ``reshape``, ``transpose`` and ``concat`` (in ``core.py`` and
``merge.py``) serve the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..ir.graph import Node, Shape
from ..ir.registry import OpDef, StepRefused, register, step_axis
from .keras_getitem import is_whole, key_text, out_shape

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder

#: An ONNX Slice bound past any end (clamped to the axis).
FAR = 2**62


@register("squeeze")
class SqueezeOp(OpDef):
    """Drops ``axes`` (positive, sorted, each of size 1)."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        return {"axes": tuple(step_axis(a, rank) for a in node.attrs["axes"])}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, axes = node.inputs[0], node.attrs["axes"]
        return [(tuple(d for k, d in enumerate(x.shape) if k not in axes), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        axes = g.ints(list(node.attrs["axes"]), "axes")
        g.set(node, g.op("Squeeze", [g[node.inputs[0]], axes]))

    def numpy(self, node: Node) -> dict[str, Any]:
        axes = tuple(node.attrs["axes"])
        return {"what": f"squeeze axes {axes}", "expr": f"np.squeeze(x, axis={axes!r})"}


@register("expand_dims")
class ExpandDimsOp(OpDef):
    """New axes of size 1 at ``axes`` of the result (positive, sorted, never 0)."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if min(node.attrs["axes"]) <= 1:
            raise StepRefused("adds an axis before the time axis")
        return {"axes": tuple(a - 1 for a in node.attrs["axes"])}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, axes = node.inputs[0], node.attrs["axes"]
        dims = iter(x.shape)
        rank = x.rank + len(axes)
        return [(tuple(1 if k in axes else next(dims) for k in range(rank)), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        axes = g.ints(list(node.attrs["axes"]), "axes")
        g.set(node, g.op("Unsqueeze", [g[node.inputs[0]], axes]))

    def numpy(self, node: Node) -> dict[str, Any]:
        axes = tuple(node.attrs["axes"])
        return {"what": f"new axes {axes}", "expr": f"np.expand_dims(x, axis={axes!r})"}


@register("split")
class SplitOp(OpDef):
    """Splits ``axis`` into parts of ``sizes``, or into ``sections`` equal parts."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        return {**node.attrs, "axis": step_axis(node.attrs["axis"], rank)}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, axis = node.inputs[0], node.attrs["axis"]
        sizes = node.attrs.get("sizes")
        if sizes is None:
            n = node.attrs["sections"]
            part = x.shape[axis] if n == 1 else f"{x.shape[axis]}/{n}"
            sizes = (part,) * n
        return [(x.shape[:axis] + (s,) + x.shape[axis + 1 :], x.dtype) for s in sizes]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x, axis, n = g[node.inputs[0]], node.attrs["axis"], len(node.outputs)
        sizes = node.attrs.get("sizes")
        ins = [x] if sizes is None else [x, g.ints(list(sizes), "split")]
        outs = g.op("Split", ins, n_out=n, axis=axis)
        for k, name in enumerate([outs] if n == 1 else outs):
            g.set(node, name, k)

    def numpy(self, node: Node) -> dict[str, Any]:
        axis, sizes = node.attrs["axis"], node.attrs.get("sizes")
        if sizes is None:
            parts = str(node.attrs["sections"])
        else:
            parts = repr([int(v) for v in np.cumsum(sizes)[:-1]])
        expr = f"tuple(np.split(x, {parts}, axis={axis}))"
        if len(node.outputs) == 1:
            expr = f"np.split(x, {parts}, axis={axis})[0]"
        return {"what": f"split axis {axis}", "expr": expr}


@register("getitem")
class GetItemOp(OpDef):
    """``x[key]``: basic indexing with slices, integer indices and new axes."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        key = node.attrs["key"]
        if not is_whole(key[1]):
            raise StepRefused("indexes the time axis")
        return {"key": (key[0], *key[2:])}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        return [(out_shape(node.attrs["key"], x.shape), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        """Slice the sliced axes, Gather the indexed ones (last first, so that the axes
        before keep their numbers), then Unsqueeze the new axes (output positions)."""
        y, key = g[node.inputs[0]], node.attrs["key"]
        axis, cut, picks, new = 0, [], [], []
        for k, e in enumerate(key):
            if e[0] == "new":
                new.append(k - sum(1 for f in key[:k] if f[0] == "index"))
                continue
            if e[0] == "index":
                picks.append((axis, e[1]))
            elif not is_whole(e):
                cut.append((axis, e))
            axis += 1
        if cut:
            y = g.op("Slice", [y, *_bounds(g, cut)])
        for a, i in reversed(picks):
            y = g.op("Gather", [y, g.const(np.int64(i), "index", np.int64)], axis=a)
        if new:
            y = g.op("Unsqueeze", [y, g.ints(new, "axes")])
        g.set(node, y if cut or picks or new else g.op("Identity", [y]))

    def numpy(self, node: Node) -> dict[str, Any]:
        text = key_text(node.attrs["key"])
        return {"what": f"x{text}", "expr": f"x{text}"}


def _bounds(g: OnnxBuilder, cut: list[tuple[int, tuple]]) -> list[str]:
    """Slice's starts, ends, axes and steps for the (axis, slice entry) pairs."""
    starts, ends, axes, steps = [], [], [], []
    for axis, (_, start, stop, step) in cut:
        step = 1 if step is None else step
        if step > 0:
            starts.append(0 if start is None else start)
            ends.append(FAR if stop is None else stop)
        else:
            starts.append(FAR if start is None else start)
            ends.append(-FAR if stop is None else stop)
        axes.append(axis)
        steps.append(step)
    if any(s == 0 for s in steps):
        raise TdcError("ops.getitem: slice step 0")
    names = ("starts", "ends", "axes", "steps")
    return [g.ints(v, n) for v, n in zip((starts, ends, axes, steps), names, strict=True)]
