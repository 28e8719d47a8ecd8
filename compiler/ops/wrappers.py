"""TimeDistributed: ``fold`` (N, T, *S) -> (N*T, *S), the wrapped layer, ``unfold`` back.

Masks, as in Keras 3 (whose TimeDistributed calls the wrapped layer on each step ``i``
with ``mask[:, i]``): the input's mask (N, T, *M) is folded with the input, so the
wrapped layer sees an (N*T, *M) mask (Embedding(mask_zero) over (N, W, C) ids gives a
character RNN its (N*W, C) mask; an all-padding word is a fully masked sequence, whose
RNN output is the zero initial state). The output keeps the input's mask unchanged, whatever
the wrapped layer did to the masked axes: a character RNN's (N, W, F) output carries the
(N, W, C) mask, which a following RNN reads as "a word is masked when all its characters
are" (``Builder.mask``). A mask the wrapped layer makes itself (Masking, Embedding) is
dropped, as in Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..ir.graph import Node, Shape, dim_mul, shape_str
from ..ir.registry import OpDef, register

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


@register("TimeDistributed")
class TimeDistributed(OpDef):
    """Applies the wrapped layer to every step of axis 1 (nesting folds again)."""

    params: dict = {}
    wrapper = True
    mask_flow = "propagate"  # the wrapped layer sees it folded (``fold_mask``)

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = inputs[0]
        if x.rank < 3:
            raise TdcError(
                f"TimeDistributed needs an input of rank >= 3 (batch, time, ...), "
                f"got {shape_str(x.shape)}",
                accepted="an input with a time axis and at least one feature axis, e.g. "
                "shape: [null, 16] in the model file",
            )
        assert spec.inner is not None
        (folded,) = b.emit("fold", [x])
        mask = b.keras_mask(x)
        if mask is not None:
            b.set_mask(folded, fold_mask(b, mask))
        outs = b.lower(spec.inner, [folded])
        return [b.emit("unfold", [o, x])[0] for o in outs]


def fold_mask(b: Builder, mask: Value) -> Value:
    """The wrapped layer's mask: ``mask`` (N, T, *M) folded to (N*T, *M)."""
    if mask.rank < 2:
        raise TdcError(
            f"TimeDistributed got a mask of shape {shape_str(mask.shape)}; Keras needs it "
            "to be at least (batch, time) (a nested TimeDistributed on a (batch, time) mask)",
            accepted="a mask of at least the input's (batch, time) axes",
        )
    return b.emit("fold", [mask])[0]


@register("fold")
class Fold(OpDef):
    """Merge batch and time: (N, T, *S) -> (N*T, *S) (also a (N, T) mask -> (N*T,))."""

    stream = "fold"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        if x.rank < 2:
            raise TdcError(f"fold needs rank >= 2, got {shape_str(x.shape)}")
        return [((dim_mul(x.shape[0], x.shape[1]), *x.shape[2:]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x = node.inputs[0]
        rest = x.shape[2:]
        if all(isinstance(d, int) and d > 0 for d in rest):  # -1 is N*T, even when 0
            g.set(node, g.op("Reshape", [g[x], g.ints([-1, *rest])]))
            return
        # a dynamic axis may be 0, which neither -1 (0 / 0) nor a plain Reshape (0: copy) takes
        dims = g.op("Shape", [g[x]])
        lead = g.op("ReduceProd", [g.op("Slice", [dims, g.ints([0]), g.ints([2])])], keepdims=1)
        shape = g.op("Concat", [lead, g.op("Slice", [dims, g.ints([2]), g.ints([x.rank])])], axis=0)
        g.set(node, g.op("Reshape", [g[x], shape], allowzero=1))


@register("unfold")
class Unfold(OpDef):
    """Split batch and time back: inputs (N*T, *S'), ref (N, T, ...) -> (N, T, *S')."""

    stream = "unfold"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        y, ref = node.inputs
        return [((ref.shape[0], ref.shape[1], *y.shape[1:]), y.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        y, ref = node.inputs
        lead = g.op("Slice", [g.op("Shape", [g[ref]]), g.ints([0]), g.ints([2])])
        rest = y.shape[1:]
        if all(isinstance(d, int) for d in rest):
            tail = g.ints(list(rest))
        else:
            tail = g.op("Slice", [g.op("Shape", [g[y]]), g.ints([1]), g.ints([y.rank])])
        shape = g.op("Concat", [lead, tail], axis=0)  # N or T may be 0: a size, not "copy"
        g.set(node, g.op("Reshape", [g[y], shape], allowzero=1))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {}
