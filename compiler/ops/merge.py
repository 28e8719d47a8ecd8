"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate) and
RepeatVector; Dot, which shares ``unify`` with them, lives in ``dot.py``.

IR ops here: ``merge`` (elementwise, ``kind`` in add/subtract/multiply/average/maximum/
minimum), ``concat`` and ``repeat``. Shapes follow Keras 3: an elementwise merge
of inputs of lower rank first inserts size-1 axes at axis 1, then broadcasts (a static 1
stretches). Each input's null time axis has its own symbol ("T", "T2", ...); Keras checks
their lengths only at run time, so a symbol meets another symbol or a static size freely,
while two different static sizes are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError, listing
from ..frontend.params import REQUIRED, Param, integer
from ..ir.graph import Dim, Node, Shape, shape_str, static_size
from ..ir.registry import OpDef, StepRefused, register, step_axis
from .core import ones
from .merge_masks import concat_mask, masked_extremum, masked_product

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

_NUMPY = {"add": "+", "subtract": "-", "multiply": "*", "average": "+"}
_NUMPY_FN = {"maximum": "np.maximum", "minimum": "np.minimum"}
_ONNX = {
    "add": "Add",
    "subtract": "Sub",
    "multiply": "Mul",
    "maximum": "Max",
    "minimum": "Min",
    "average": "Add",
}


def shapes_str(values: list[Value]) -> str:
    """The inputs' shapes for an error message, e.g. ``(N, 4) and (N, 5)`` (at most ten)."""
    shapes = [shape_str(v.shape) for v in values]
    return listing(shapes, sep=" and " if len(shapes) <= 10 else ", ")


def unify(a: Dim, b: Dim, values: list[Value], broadcast: bool) -> Dim:
    """The dim two inputs agree on: a static size wins over a symbol (it is what the run
    must have), the first symbol over a later one; with ``broadcast`` a static 1 stretches."""
    if a == b:
        return a
    if broadcast and a == 1:
        return b
    if broadcast and b == 1:
        return a
    if isinstance(a, int) and isinstance(b, int):
        raise TdcError(
            f"inputs have incompatible shapes {shapes_str(values)}",
            accepted="inputs of the same shape"
            + (" (or of size 1 on an axis)" if broadcast else ""),
        )
    return a if isinstance(a, int) or not isinstance(b, int) else b


def _padded(v: Value, rank: int) -> Shape:
    """Keras expands a lower-rank input at axis 1 until the ranks agree."""
    return (v.shape[0], *([1] * (rank - v.rank)), *v.shape[1:])


class _Merge(OpDef):
    """A Keras merge layer: a list of inputs, no weights."""

    params: dict = {}
    multi_input = or_masks = True
    kind = ""
    arity: int | None = None  # exactly this many inputs (None: two or more)

    def check_inputs(self, inputs: list[Value]) -> None:
        n = len(inputs)
        if (self.arity is not None and n != self.arity) or n < 2:
            want = f"exactly {self.arity}" if self.arity else "a list of at least 2"
            raise TdcError(f"{self.name} takes {want} inputs, got {n}")

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        self.check_inputs(inputs)
        if self.kind in ("maximum", "minimum") and any(b.mask(v) is not None for v in inputs):
            return masked_extremum(b, self.kind, inputs)
        if self.kind == "multiply" and any(b.mask(v) is not None for v in inputs):
            return masked_product(b, inputs)
        return b.emit("merge", inputs, {"kind": self.kind})


for _kind, _arity in {
    "Add": None,
    "Subtract": 2,
    "Multiply": None,
    "Average": None,
    "Maximum": None,
    "Minimum": None,
}.items():
    # Maximum, Minimum: ``masked_extremum`` ORs the masks as it merges
    _flow = "custom" if _kind in ("Maximum", "Minimum") else "merge_or"
    _attrs = {"kind": _kind.lower(), "arity": _arity, "mask_flow": _flow}
    register(_kind)(type(_kind, (_Merge,), _attrs))


@register("merge")
class MergeOp(OpDef):
    """Elementwise ``kind`` over all inputs, left to right, with Keras's broadcasting."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if len({v.rank for v in node.inputs}) > 1:
            raise StepRefused("broadcasts over the time axis")
        return dict(node.attrs)

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        rank = max(v.rank for v in node.inputs)
        out = list(_padded(node.inputs[0], rank))
        for v in node.inputs[1:]:
            pairs = zip(out, _padded(v, rank), strict=True)
            out = [unify(a, b, node.inputs, True) for a, b in pairs]
        return [(tuple(out), node.inputs[0].dtype)]

    def _pads(self, node: Node) -> list[int]:
        rank = max(v.rank for v in node.inputs)
        return [rank - v.rank for v in node.inputs]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        names = []
        for v, pad in zip(node.inputs, self._pads(node), strict=True):
            x = g[v]
            if pad:
                x = g.op("Unsqueeze", [x, g.ints(list(range(1, pad + 1)), "axes")])
            names.append(x)
        kind = node.attrs["kind"]
        y = names[0]
        for x in names[1:]:
            y = g.op(_ONNX[kind], [y, x])
        if kind == "average":
            y = g.op("Div", [y, g.const(float(len(names)), "n")])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        terms = []
        for i, pad in enumerate(self._pads(node)):
            x = f"x{i}"
            if pad:
                x = f"{x}.reshape({x}.shape[:1] + {(1,) * pad!r} + {x}.shape[1:])"
            terms.append(x)
        kind = node.attrs["kind"]
        return {
            "kind": kind,
            "terms": terms,
            "binop": _NUMPY.get(kind, ""),
            "func": _NUMPY_FN.get(kind, ""),
            "divide": float(len(terms)) if kind == "average" else None,
        }

    def flops(self, node: Node) -> int:
        size = static_size(ones(node.output.shape)) or 1
        return size * len(node.inputs)


@register("Concatenate")
class Concatenate(OpDef):
    params = {"axis": Param(-1, integer())}
    multi_input = True
    mask_flow = "custom"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        if len(inputs) < 2:
            raise TdcError(f"Concatenate takes a list of at least 2 inputs, got {len(inputs)}")
        rank = inputs[0].rank
        if any(v.rank != rank for v in inputs):
            raise TdcError(f"Concatenate needs inputs of one rank, got {shapes_str(inputs)}")
        axis = spec.attrs["axis"]
        if not -rank <= axis < rank or axis % rank == 0:
            raise TdcError(
                f"Concatenate axis {axis} is out of range for inputs of rank {rank} "
                f"(batch included; the batch axis 0 cannot be concatenated)"
            )
        outputs = b.emit("concat", inputs, {"axis": axis % rank})
        masks = [b.mask(v) for v in inputs]
        if any(m is not None for m in masks):
            b.set_mask(outputs[0], concat_mask(b, inputs, axis % rank))
        return outputs


@register("concat")
class ConcatOp(OpDef):
    """Joins the inputs on ``axis`` (positive, never 0); the other dims must agree."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        return {**node.attrs, "axis": step_axis(node.attrs["axis"], rank)}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        axis, ins = node.attrs["axis"], node.inputs
        out = list(ins[0].shape)
        for v in ins[1:]:
            for k, d in enumerate(v.shape):
                if k == axis:
                    out[k] = _dim_add(out[k], d)
                else:
                    out[k] = unify(out[k], d, ins, False)
        return [(tuple(out), ins[0].dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        g.set(node, g.op("Concat", [g[v] for v in node.inputs], axis=node.attrs["axis"]))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"axis": node.attrs["axis"], "names": [f"x{i}" for i in range(len(node.inputs))]}


def _dim_add(a: Dim, b: Dim) -> Dim:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return f"{a}+{b}"


@register("RepeatVector")
class RepeatVector(OpDef):
    params = {"n": Param(REQUIRED, integer(lo=1))}
    mask_flow = "drop"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        if inputs[0].rank != 2:
            raise TdcError(
                f"RepeatVector expects an input of rank 2 (batch, features), "
                f"got {shape_str(inputs[0].shape)}"
            )
        return b.emit("repeat", inputs, {"n": spec.attrs["n"]})


@register("repeat")
class RepeatOp(OpDef):
    """(N, F) -> (N, n, F)."""

    stream = "time"
    stream_why = "repeats along the time axis"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        n, f = node.inputs[0].shape
        return [((n, node.attrs["n"], f), node.inputs[0].dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x = g.op("Unsqueeze", [g[node.inputs[0]], g.ints([1], "axes")])
        g.set(node, g.op("Tile", [x, g.ints([1, node.attrs["n"], 1], "repeats")]))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"n": node.attrs["n"]}
