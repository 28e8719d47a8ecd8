"""Activations: the ``act`` IR op and Keras's activation layers.

Every ``activation=`` name maps to one ONNX expression (``onnx_act``) and one NumPy helper
call (``numpy_call``; helpers in ``templates/activations.py.j2``), both written in
``activation_forms``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError, did_you_mean, listing
from ..frontend.params import (
    INITIALIZER_NAMES,
    REQUIRED,
    Param,
    activation,
    integer,
    number,
    optional,
    training_only,
)
from ..ir.graph import Node, Shape, static_size
from ..ir.registry import OpDef, WeightSpec, register, step_axis
from .activation_forms import (
    AXIS_KINDS,
    apply_fused,
    numpy_call,
    numpy_fused_in_place,
    onnx_act,
    settings,
)

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

__all__ = ["apply_fused", "numpy_call", "numpy_fused_in_place", "onnx_act"]


def _same(node: Node) -> list[tuple[Shape, str]]:
    return [(node.inputs[0].shape, node.inputs[0].dtype)]


@register("act")
class Act(OpDef):
    """Elementwise activation; attrs: ``kind`` plus its parameters (axis, alpha, ...)."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        attrs = dict(node.attrs)
        if attrs.get("axis") is not None:
            attrs["axis"] = step_axis(attrs["axis"], rank)
        return attrs

    def sinks_fold(self, node: Node) -> bool:
        """Elementwise, or over a last axis counted from the end (softmax on axis -1)."""
        axis = node.attrs.get("axis")
        return axis is None or axis < 0

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        kind = node.attrs["kind"]
        if kind not in AXIS_KINDS:
            return _same(node)
        x = node.inputs[0]
        axis = settings(kind, node.attrs)["axis"]
        if not -x.rank <= axis < x.rank:
            raise TdcError(f"{kind} axis {axis} is out of range for rank {x.rank}")
        if kind != "glu":
            return _same(node)
        size = x.shape[axis]
        if not isinstance(size, int) or size % 2:
            raise TdcError(
                f"glu splits axis {axis} in two halves, but it has size {size}",
                accepted="an even, static size on glu's axis (the last axis for activation=)",
            )
        return [(x.shape[: axis % x.rank] + (size // 2,) + x.shape[axis % x.rank + 1 :], x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        params = {k: v for k, v in node.attrs.items() if k != "kind"}
        g.set(node, onnx_act(g, g[node.inputs[0]], node.attrs["kind"], params))

    def numpy(self, node: Node) -> dict[str, Any]:
        params = {k: v for k, v in node.attrs.items() if k != "kind"}
        return {"ret": numpy_call(node.attrs["kind"], params, "x")}

    def flops(self, node: Node) -> int:
        return static_size(_ones(node.inputs[0].shape)) or 0


def _ones(shape: Shape) -> Shape:
    return tuple(d if isinstance(d, int) else 1 for d in shape)


@register("Activation")
class ActivationLayer(OpDef):
    params = {"activation": Param(REQUIRED, activation)}
    mask_flow = "propagate"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        return [b.act(inputs[0], spec.attrs["activation"])]


@register("ReLU")
class ReLULayer(OpDef):
    mask_flow = "propagate"
    params = {
        "max_value": Param(None, optional(number(lo=0))),
        "negative_slope": Param(0.0, number(lo=0)),
        "threshold": Param(0.0, number(lo=0)),
    }

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        if a["max_value"] is None and a["negative_slope"] == 0.0 and a["threshold"] == 0.0:
            return [b.act(inputs[0], "relu")]
        keys = ("negative_slope", "max_value", "threshold")
        return [b.act(inputs[0], "relu_ext", **{k: a[k] for k in keys})]


@register("LeakyReLU")
class LeakyReLULayer(OpDef):
    params = {"negative_slope": Param(0.3, number(lo=0))}
    mask_flow = "propagate"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        return [b.act(inputs[0], "leaky_relu", negative_slope=spec.attrs["negative_slope"])]


@register("ELU")
class ELULayer(OpDef):
    params = {"alpha": Param(1.0, number())}
    mask_flow = "propagate"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        return [b.act(inputs[0], "elu", alpha=spec.attrs["alpha"])]


@register("Softmax")
class SoftmaxLayer(OpDef):
    params = {"axis": Param(-1, integer())}
    mask_flow = "unsupported"

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        if b.mask(inputs[0]) is not None:
            # Keras broadcasts the mask against the input's trailing axes (right-aligned),
            # so an (N, T) step mask does not fit an (N, T, C) input: Keras itself fails
            # (or, when T == C and N == 1, masks features by step).
            raise TdcError(
                "Softmax on a masked input (Embedding mask_zero, Masking) is not supported: "
                "Keras broadcasts the (batch, time) mask against the input's last axes"
            )
        return [b.act(inputs[0], "softmax", axis=spec.attrs["axis"])]


def _shared_axes(v: Any) -> tuple[int, ...] | None:
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool) and v >= 1:
        return (v,)
    if isinstance(v, list) and v and all(isinstance(a, int) and a >= 1 for a in v):
        return tuple(v)
    raise ValueError("null, an axis >= 1 or a list of axes >= 1")


def _alpha_initializer(v: Any) -> str:
    """Zeros or ones, in any spelling ``keras.initializers.get`` takes for them."""
    spellings = [k for k, to in INITIALIZER_NAMES.items() if to in ("zeros", "ones")]
    if v not in spellings:
        raise ValueError(listing(spellings) + did_you_mean(v, spellings))
    return INITIALIZER_NAMES[v]


@register("PReLU")
class PReLU(OpDef):
    """``y = x if x >= 0 else alpha * x`` with a learned ``alpha`` per position."""

    last_axis_only = True
    mask_flow = "propagate"
    stream = "time"  # alpha may vary along the time axis

    params = {
        "alpha_initializer": Param("zeros", _alpha_initializer),
        **training_only("alpha_regularizer", "alpha_constraint"),
        "shared_axes": Param(None, _shared_axes),
    }

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        shape = list(shapes[0][1:])
        for ax in attrs["shared_axes"] or ():
            if ax > len(shape):
                raise TdcError(f"PReLU shared axis {ax} is out of range for rank {len(shape) + 1}")
            shape[ax - 1] = 1
        if any(not isinstance(d, int) for d in shape):
            raise TdcError("PReLU needs static dims or shared_axes over the dynamic ones")
        return {"alpha": WeightSpec(tuple(shape), attrs["alpha_initializer"])}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return _same(node)

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        g.set(node, g.op("PRelu", [g[node.inputs[0]], g.const(node.weights["alpha"], "alpha")]))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"helpers": ("prelu",)}

    def flops(self, node: Node) -> int:
        return static_size(_ones(node.inputs[0].shape)) or 0
