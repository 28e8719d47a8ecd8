"""How merge layers combine Keras masks, lowered to the mask IR ops of ``embedding.py``.

``masked_extremum`` is Maximum / Minimum on masked inputs (``mask_where`` then ``merge``,
the output mask the ``mask_or`` of the inputs' masks); ``masked_product`` is Multiply
(masked steps as 1, then zeroed where no input is valid); ``concat_mask`` is the output mask
of a masked Concatenate (``mask_or``, or ``mask_ones`` for an unmasked input and
``concat`` on an earlier axis). Both refuse masks that do not fit their inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import TdcError, listing
from ..ir.graph import shape_str

if TYPE_CHECKING:
    from ..ir.graph import Value
    from ..ir.lowering import Builder


def _fits_mask(b: Builder, inputs: list[Value], what: str, same: bool) -> None:
    """Masked merges need masks of each input's shape less the last axis (and, when
    ``same``, inputs of one shape)."""
    for v in inputs:
        m = b.mask(v)
        bad = m is not None and tuple(m.shape) != tuple(v.shape[:-1])
        if bad or (same and tuple(v.shape) != tuple(inputs[0].shape)):
            shapes = listing(shape_str(v.shape) for v in inputs)
            raise TdcError(f"{what} on masked inputs {shapes} is not supported")


def masked_extremum(b: Builder, kind: str, inputs: list[Value]) -> list[Value]:
    """Keras's ``_apply_merge_op_and_or_mask``: left to right, a masked step of either
    operand takes the other's value before the max/min; the output mask is the OR of the
    masks while every input has one."""
    _fits_mask(b, inputs, kind.capitalize(), same=True)
    out, out_mask = inputs[0], b.mask(inputs[0])
    for x in inputs[1:]:
        mask = b.mask(x)
        if mask is not None:
            (x,) = b.emit("mask_where", [x, out, mask])
        if out_mask is not None:
            (out,) = b.emit("mask_where", [out, x, out_mask])
        if mask is not None and out_mask is not None:
            out_mask = b.mask_or([out_mask, mask])
        else:
            out_mask = None
        (out,) = b.emit("merge", [out, x], {"kind": kind})
    b.set_mask(out, out_mask)
    return [out]


def masked_product(b: Builder, inputs: list[Value]) -> list[Value]:
    """Keras's ``Multiply._merge_function``: a masked step of an input counts as 1; while
    every input has a mask, the product is zeroed where none of them is valid, and that
    OR of the masks is the output mask."""
    _fits_mask(b, inputs, "Multiply", same=True)
    masks = [b.mask(v) for v in inputs]
    terms = [
        x if m is None else b.emit("mask_apply", [x, m], {"fill": 1.0})[0]
        for x, m in zip(inputs, masks, strict=True)
    ]
    (y,) = b.emit("merge", terms, {"kind": "multiply"})
    if all(m is not None for m in masks):
        out_mask = b.mask_or(masks)
        (y,) = b.emit("mask_apply", [y, out_mask])
        b.set_mask(y, out_mask)
    return [y]


def concat_mask(b: Builder, inputs: list[Value], axis: int) -> Value | None:
    """Keras's ``Concatenate.compute_mask``: each mask (all-True for an unmasked input),
    widened to its input's shape, is concatenated on ``axis`` and reduced with ``any`` over
    the last axis. On the last axis that is the OR of the masks (all-True, i.e. no mask,
    when an input has none); on an earlier axis the masks are concatenated."""
    _fits_mask(b, inputs, "Concatenate", same=False)
    masks = [b.mask(v) for v in inputs]
    if axis == inputs[0].rank - 1:
        return None if any(m is None for m in masks) else b.mask_or(masks)
    full = []
    for v, m in zip(inputs, masks, strict=True):
        full.append(m if m is not None else b.emit("mask_ones", [v])[0])
    return b.emit("concat", full, {"axis": axis})[0]
