"""Embedding, Masking and the IR ops that compute and consume Keras masks.

A Keras mask is a bool value of shape (N, T) (True: a valid step; in general the value's
leading axes, see ``Builder.mask``) that the Builder attaches to an IR value (``b.mask`` /
``b.set_mask``); it is computed by ordinary IR ops:

* ``Embedding``: gather rows of ``embeddings`` by integer ids (the mask, with
  ``mask_zero``, is ``mask_ne(ids)`` with ``value`` 0);
* ``mask_ne``: ``x != value`` (``any`` over the last axis when ``reduce``);
* ``mask_apply``: zero the masked steps of x (Masking's output);
* ``mask_or``: OR of two masks (merge layers);
* ``mask_ones``: an all-True mask for an unmasked input (Concatenate on the time axis);
* ``mask_where``: ``where(mask[..., None], a, b)`` (Maximum / Minimum on masked inputs);
* ``masked_mean``: GlobalAveragePooling1D over the valid steps only.

How merge layers combine masks with these ops (``masked_extremum``, ``masked_product``,
``concat_mask``) is in ``merge_masks.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import (
    REQUIRED,
    Param,
    boolean,
    initializer,
    integer,
    number,
    optional,
    training_only,
)
from ..ir.graph import Node, Shape, shape_str
from ..ir.registry import OpDef, StepRefused, WeightSpec, register

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


def _int_ids(node: Node) -> Value:
    ids = node.inputs[0]
    if not ids.dtype.startswith("int"):
        raise TdcError(f"Embedding needs int32 or int64 ids, got {ids.dtype}")
    return ids


@register("Embedding")
class Embedding(OpDef):
    """``y = embeddings[ids]``; ``mask_zero`` masks the steps whose id is 0."""

    mask_flow = "custom"
    stream = "elementwise"
    params = {
        "input_dim": Param(REQUIRED, integer(lo=1)),
        "output_dim": Param(REQUIRED, integer(lo=1)),
        "embeddings_initializer": Param("random_uniform", initializer),  # Keras: "uniform"
        **training_only("embeddings_regularizer", "embeddings_constraint"),
        "activity_regularizer": training_only("activity_regularizer")["activity_regularizer"],
        "mask_zero": Param(False, boolean),
        "lora_rank": Param(None, optional(integer(lo=1))),
        "lora_alpha": Param(None, optional(number())),
    }

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        shape = (attrs["input_dim"], attrs["output_dim"])
        return {"embeddings": WeightSpec(shape, attrs["embeddings_initializer"])}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        ids = inputs[0]
        if not ids.dtype.startswith("int"):
            raise TdcError(f"Embedding needs an int32 or int64 input, got {ids.dtype}")
        weights = b.weights(self.weight_specs(spec.attrs, [ids.shape]))
        (y,) = b.emit("Embedding", [ids], {}, weights)
        if spec.attrs["mask_zero"]:
            b.set_mask(y, b.emit("mask_ne", [ids], {"value": 0, "reduce": False})[0])
        return [y]

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        ids = _int_ids(node)
        return [((*ids.shape, node.weights["embeddings"].shape[1]), "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        table = g.const(node.weights["embeddings"], "embeddings")
        g.set(node, g.op("Gather", [table, g[node.inputs[0]]], axis=0))


@register("Masking")
class Masking(OpDef):
    """Masks the steps whose features all equal ``mask_value`` and zeroes them."""

    mask_flow = "custom"
    params = {"mask_value": Param(0.0, number())}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = inputs[0]
        if x.rank < 2:
            raise TdcError(f"Masking needs an input of rank >= 2, got {shape_str(x.shape)}")
        value = spec.attrs["mask_value"]
        (mask,) = b.emit("mask_ne", [x], {"value": value, "reduce": True})
        (y,) = b.emit("mask_apply", [x, mask])
        b.set_mask(y, mask)
        return [y]


def _literal(node: Node) -> str:
    """The compared value as a NumPy literal of the input's dtype (``np.bool_`` for a bool
    mask: ``np.bool`` is missing from NumPy 1.x)."""
    dtype = node.inputs[0].dtype
    return f"np.{'bool_' if dtype == 'bool' else dtype}({node.attrs['value']!r})"


@register("mask_ne")
class MaskNotEqual(OpDef):
    """``x != value``, reduced with ``any`` over the last axis when ``reduce`` (on a bool
    mask with ``value`` False: the step mask ``any(mask, -1)``, see ``Builder.mask``)."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if node.attrs.get("reduce") and rank < 3:
            raise StepRefused("reduces over the time axis")
        return dict(node.attrs)

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        return [(x.shape[:-1] if node.attrs["reduce"] else x.shape, "bool")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x = node.inputs[0]
        if x.dtype == "bool" and not node.attrs["value"]:
            ne = g[x] if node.attrs["reduce"] else g.op("Identity", [g[x]])
        else:
            value = g.const(node.attrs["value"], "mask_value", np.dtype(x.dtype))
            ne = g.op("Not", [g.op("Equal", [g[x], value])])
        if node.attrs["reduce"]:
            hits = g.op("Cast", [ne], to=g.dtype("float32"))
            any_hit = g.op("ReduceMax", [hits], axes=[-1], keepdims=0)
            ne = g.op("Cast", [any_hit], to=g.dtype("bool"))
        g.set(node, ne)

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"value": _literal(node), "reduce": node.attrs["reduce"]}


def _check_mask(x: Value, mask: Value, what: str) -> None:
    if mask.rank != 2 or x.rank < 3 or tuple(mask.shape) != tuple(x.shape[:2]):
        raise TdcError(
            f"{what} needs a (batch, time) mask for its {shape_str(x.shape)} input, "
            f"got {shape_str(mask.shape)}"
        )


@register("mask_apply")
class MaskApply(OpDef):
    """Zero the masked steps: ``where(mask[..., None], x, fill)`` with an (N, T) mask
    (attr ``fill``, default 0; Multiply fills 1)."""

    stream = "elementwise"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, mask = node.inputs
        if tuple(mask.shape) != tuple(x.shape[:-1]):
            raise TdcError(f"mask {shape_str(mask.shape)} does not fit {shape_str(x.shape)}")
        return [(x.shape, x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x, mask = node.inputs
        keep = g.op("Unsqueeze", [g[mask], g.ints([-1], "axes")])
        fill = node.attrs.get("fill", 0)
        value = g.const(fill, "fill" if fill else "zero", np.dtype(x.dtype))
        g.set(node, g.op("Where", [keep, g[x], value]))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"fill": float(node.attrs.get("fill", 0))}


@register("mask_or")
class MaskOr(OpDef):
    """Logical OR of two masks of the same shape."""

    stream = "elementwise"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        a, b = node.inputs
        if a.rank != b.rank or any(
            isinstance(p, int) and isinstance(q, int) and p != q
            for p, q in zip(a.shape, b.shape, strict=True)
        ):
            raise TdcError(f"cannot merge masks {shape_str(a.shape)} and {shape_str(b.shape)}")
        # two symbolic lengths (T, T2) must agree at run time, as for the merge itself
        dims = [q if isinstance(q, int) else p for p, q in zip(a.shape, b.shape, strict=True)]
        return [(tuple(dims), "bool")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        g.set(node, g.op("Or", [g[v] for v in node.inputs]))


@register("mask_ones")
class MaskOnes(OpDef):
    """An all-True mask of shape ``x.shape[:-1]`` (Keras's ``ones_like`` for an unmasked
    input of a masked Concatenate)."""

    stream = "last_axis"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(node.inputs[0].shape[:-1], "bool")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        shape = g.op("Shape", [g[node.inputs[0]]], end=-1)
        g.set(node, g.filled(shape, True, "bool", "true"))


@register("mask_where")
class MaskWhere(OpDef):
    """``where(mask[..., None], a, b)`` for inputs ``a``, ``b`` of one shape and a mask of
    their shape less the last axis."""

    stream = "elementwise"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        a, b, mask = node.inputs
        if tuple(a.shape) != tuple(b.shape) or tuple(mask.shape) != tuple(a.shape[:-1]):
            raise TdcError(
                f"mask {shape_str(mask.shape)} does not fit {shape_str(a.shape)} "
                f"and {shape_str(b.shape)}"
            )
        return [(a.shape, a.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        a, b, mask = node.inputs
        keep = g.op("Unsqueeze", [g[mask], g.ints([-1], "axes")])
        g.set(node, g.op("Where", [keep, g[a], g[b]]))


@register("masked_mean")
class MaskedMean(OpDef):
    """Mean over axis 1 of (N, T, C) counting only the valid steps (Keras's
    GlobalAveragePooling1D with a mask; a sample with no valid step gives NaN, as Keras)."""

    stream = "time"
    stream_why = "averages over the time axis"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, mask = node.inputs
        _check_mask(x, mask, "masked GlobalAveragePooling1D")
        if node.attrs["keepdims"]:
            return [((x.shape[0], 1, *x.shape[2:]), x.dtype)]
        return [((x.shape[0], *x.shape[2:]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x, mask = node.inputs
        keep = g.op("Unsqueeze", [g[mask], g.ints([2], "axes")])
        kept = g.op("Where", [keep, g[x], g.const(0.0, "zero")])
        axes, keepdims = g.ints([1], "axes"), int(node.attrs["keepdims"])
        total = g.op("ReduceSum", [kept, axes], keepdims=keepdims)
        count = g.op("Cast", [keep], to=g.dtype("float32"))
        g.set(node, g.op("Div", [total, g.op("ReduceSum", [count, axes], keepdims=keepdims)]))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"keepdims": node.attrs["keepdims"]}

    def flops(self, node: Node) -> int:
        x = node.inputs[0]
        return int(np.prod([d if isinstance(d, int) else 1 for d in x.shape[1:]]))


def masked_global_average(b: Builder, x: Value, keepdims: bool) -> list[Value] | None:
    """GlobalAveragePooling1D on a masked input (None: ``x`` carries no mask)."""
    mask = b.mask(x)
    if mask is None:
        return None
    return b.emit("masked_mean", [x, mask], {"keepdims": keepdims})
