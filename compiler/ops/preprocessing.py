"""Keras's preprocessing layers that run inside a model: Rescaling and Normalization
(Resizing and CenterCrop: ``resize.py``; ConvNeXt's LayerScale: ``layer_scale.py``).

IR op here: ``scale_shift`` (``x * a + b`` or ``(x - a) / b`` with constant arrays,
NumPy-broadcast from the right, integer inputs cast to float32 first as Keras does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import (
    REQUIRED,
    Param,
    boolean,
    integer,
    number,
    optional,
)
from ..ir.graph import Node, Shape, shape_str, static_size
from ..ir.registry import OpDef, StepRefused, WeightSpec, register

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

#: ``keras.backend.epsilon()``: Normalization's floor on the standard deviation.
EPSILON = np.float32(1e-7)


def numbers(v: Any) -> Any:
    """A finite number or a (nested, rectangular) list of them; lists become tuples."""
    if isinstance(v, list | tuple):
        items = tuple(numbers(x) for x in v)
        if len({np.shape(x) for x in items}) > 1:
            raise ValueError("a number or a rectangular (nested) list of numbers")
        return items
    return number()(v)


def constant_fits(x: Value, c: np.ndarray, what: str) -> None:
    """Refuse a constant that does not broadcast onto ``x`` without changing its shape."""
    dims = x.shape[1:]
    shape = c.shape
    while shape and shape[0] == 1 and len(shape) > len(dims):
        shape = shape[1:]
    fits = len(shape) <= len(dims) and all(
        n == 1 or n == d for n, d in zip(reversed(shape), reversed(dims), strict=False)
    )
    if not fits:
        raise TdcError(
            f"{what} of shape {c.shape} does not fit an input of shape {shape_str(x.shape)}",
            accepted="a scalar, or a list whose shape matches the input's last axes "
            "(per channel: one value per channel)",
        )


def trimmed(c: np.ndarray) -> np.ndarray:
    """``c`` without its leading axes of size 1 (the rank the broadcast really needs)."""
    while c.ndim and c.shape[0] == 1:
        c = c[0]
    return np.ascontiguousarray(c, dtype=np.float32)


@register("scale_shift")
class ScaleShift(OpDef):
    """``mode`` ``mul_add``: ``x * a (+ b)``; ``sub_div``: ``(x - a) / b``; constants ``a``
    and ``b`` NumPy-broadcast against the input, which is cast to float32 first."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if any(c.ndim >= rank - 1 for c in node.weights.values()):  # reaches axis 1
            raise StepRefused("has a constant spanning the time axis")
        return dict(node.attrs)

    def sinks_fold(self, node: Node) -> bool:
        return all(c.ndim <= 1 for c in node.weights.values())

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(node.inputs[0].shape, "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x = g[node.inputs[0]]
        if node.inputs[0].dtype != "float32":
            x = g.op("Cast", [x], to=g.dtype("float32"))
        w = node.weights
        if node.attrs["mode"] == "sub_div":
            y = g.op("Div", [g.op("Sub", [x, g.const(w["a"], "a")]), g.const(w["b"], "b")])
        else:
            y = g.op("Mul", [x, g.const(w["a"], "a")])
            if "b" in w:
                y = g.op("Add", [y, g.const(w["b"], "b")])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        x = "x" if node.inputs[0].dtype == "float32" else "x.astype(np.float32)"
        if node.attrs["mode"] == "sub_div":
            return {"what": "(x - a) / b", "expr": f"({x} - a) / b"}
        add = " + b" if "b" in node.weights else ""
        return {"what": f"x * a{add}", "expr": f"{x} * a{add}"}

    def flops(self, node: Node) -> int:
        return len(node.weights) * (static_size(_ones(node.output.shape)) or 0)


def _ones(shape: Shape) -> Shape:
    return tuple(d if isinstance(d, int) else 1 for d in shape)


@register("Rescaling")
class Rescaling(OpDef):
    """``x * scale + offset``; scale and offset scalars or per-channel lists."""

    params = {"scale": Param(REQUIRED, numbers), "offset": Param(0.0, numbers)}
    mask_flow = "propagate"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = inputs[0]
        scale = np.asarray(spec.attrs["scale"], np.float32)
        offset = np.asarray(spec.attrs["offset"], np.float32)
        constant_fits(x, scale, "Rescaling scale")
        constant_fits(x, offset, "Rescaling offset")
        weights = {"a": trimmed(scale)}
        if np.any(offset != 0):
            weights["b"] = trimmed(offset)
        return b.emit("scale_shift", inputs, {"mode": "mul_add"}, weights)


def _axes(v: Any) -> tuple[int, ...]:
    """Normalization's ``axis``: null (one mean for all), an axis or a list of axes."""
    if v is None:
        return ()
    try:
        return tuple(integer()(a) for a in (v if isinstance(v, list | tuple) else [v]))
    except ValueError:
        raise ValueError("an axis, a list of axes, or null") from None


def _keep(x: Value, axes: tuple[int, ...]) -> tuple[int, ...]:
    """The kept axes of ``x`` (batch counted), sorted; each static and not the batch."""
    rank = x.rank
    if any(not -rank <= a < rank for a in axes):
        raise TdcError(
            f"Normalization axis {axes} is out of range for an input of rank {rank} "
            f"(batch included): {shape_str(x.shape)}"
        )
    keep = tuple(sorted({a % rank for a in axes}))
    if 0 in keep:
        raise TdcError(
            "Normalization cannot keep the batch axis (axis 0)",
            accepted="axes 1 .. rank - 1, or negative axes",
        )
    for d in keep:
        if not isinstance(x.shape[d], int):
            raise TdcError(
                f"Normalization needs a static size on kept axis {d}, got {shape_str(x.shape)}"
            )
    return keep


@register("Normalization")
class Normalization(OpDef):
    """``(x - mean) / max(sqrt(variance), 1e-7)`` (``invert``: ``mean + x * that``); mean
    and variance given as arguments, or adapted (Keras variables ``mean``, ``variance``,
    ``count`` in the weights file)."""

    mask_flow = "propagate"
    params = {
        "axis": Param(-1, _axes),
        "mean": Param(None, optional(numbers)),
        "variance": Param(None, optional(numbers)),
        "invert": Param(False, boolean),
    }

    def check_attrs(self, attrs: dict[str, Any]) -> None:
        mean, var = attrs["mean"], attrs["variance"]
        if (mean is None) != (var is None):
            raise ValueError("give both mean and variance, or neither (an adapted layer)")
        if mean is None:
            return
        if np.shape(mean) != np.shape(var):
            raise ValueError(
                f"mean {np.shape(mean)} and variance {np.shape(var)} must have the same shape"
            )
        axes = _axes(attrs["axis"])
        if np.ndim(mean) > len(axes):
            raise ValueError(f"mean has rank {np.ndim(mean)}, more than the axes {axes}")

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        if attrs["mean"] is not None:
            return {}
        shape = tuple(int(shapes[0][d]) for d in attrs["keep"])
        return {
            "mean": WeightSpec(shape, "zeros"),
            "variance": WeightSpec(shape, "ones"),
            "count": WeightSpec((), "zeros"),
        }

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x, a = inputs[0], spec.attrs
        keep = _keep(x, _axes(a["axis"]))
        full = tuple(x.shape[d] if d in keep else 1 for d in range(x.rank))
        if a["mean"] is None:
            w = b.weights(self.weight_specs({**a, "keep": keep}, [x.shape]))
            mean, var = w["mean"].reshape(full), w["variance"].reshape(full)
        else:
            mean, var = (_spread(a[k], keep, full) for k in ("mean", "variance"))
        with np.errstate(invalid="ignore"):  # a negative variance is NaN, as in Keras
            std = np.maximum(np.sqrt(var.astype(np.float32)), EPSILON)
        mean, std = trimmed(mean), trimmed(std)
        if a["invert"]:
            return b.emit("scale_shift", inputs, {"mode": "mul_add"}, {"a": std, "b": mean})
        return b.emit("scale_shift", inputs, {"mode": "sub_div"}, {"a": mean, "b": std})


def _spread(values: Any, keep: tuple[int, ...], full: tuple[int, ...]) -> np.ndarray:
    """A given mean or variance placed on the kept axes and broadcast, as Keras's build."""
    arr = np.asarray(values, np.float32)
    if arr.ndim:
        expanded = [1] * len(full)
        for i in range(1, arr.ndim + 1):
            expanded[keep[-i]] = arr.shape[-i]
        arr = arr.reshape(expanded)
    try:
        return np.broadcast_to(arr, full)
    except ValueError:
        raise TdcError(
            f"Normalization mean/variance of shape {np.shape(values)} do not fit the kept "
            f"axes {keep} of sizes {tuple(full[d] for d in keep)}",
            accepted="a scalar, or one value per position of the kept axes",
        ) from None
