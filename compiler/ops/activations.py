"""Activations: the ``act`` IR op, Keras's activation layers, and per-backend formulas.

Every ``activation=`` string with a closed form maps to one ONNX expression
(``onnx_act``) and one NumPy helper call (``numpy_call``; helpers in
``templates/activations.py.j2``).
"""

from __future__ import annotations

import math
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

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}


def numpy_call(kind: str, params: dict[str, Any], var: str) -> str:
    """The NumPy expression that applies activation ``kind`` to variable ``var``."""
    kind = _ALIASES.get(kind, kind)
    if kind == "linear":
        return var
    if kind in ("softmax", "log_softmax"):
        return f"_{kind}({var}, axis={params.get('axis', -1)})"
    if kind == "elu":
        return f"_elu({var}, {params.get('alpha', 1.0)!r})"
    if kind == "leaky_relu":
        return f"_leaky_relu({var}, {params.get('negative_slope', 0.2)!r})"
    if kind == "gelu":
        return f"_gelu({var}, approximate={params.get('approximate', False)!r})"
    if kind == "relu_ext":
        args = ", ".join(repr(params[k]) for k in ("negative_slope", "max_value", "threshold"))
        return f"_relu_ext({var}, {args})"
    return f"_{kind}({var})"


#: Activations whose helper can overwrite its argument (``out=``), sparing an allocation.
_IN_PLACE = ("relu", "sigmoid", "tanh")


def numpy_fused_in_place(node: Node, var: str = "y") -> str:
    """The node's fused activation applied to ``var`` like ``numpy_call``, but overwriting
    ``var`` where the helper can; only for a ``var`` the op's function created itself."""
    kind = node.attrs.get("activation", "linear")
    if _ALIASES.get(kind, kind) in _IN_PLACE:
        return f"_{kind}({var}, out={var})"
    return numpy_call(kind, node.attrs.get("act_params", {}), var)


def _mul_by(g: OnnxBuilder, x: str, gate_op: str, **attrs: Any) -> str:
    return g.op("Mul", [x, g.op(gate_op, [x], **attrs)])


def _gelu(g: OnnxBuilder, x: str, approximate: bool) -> str:
    if approximate:
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, g.const(0.044715, "k")])])
        t = g.op("Tanh", [g.op("Mul", [inner, g.const(SQRT_2_OVER_PI, "k")])])
        half = g.op("Mul", [x, g.const(0.5, "half")])
        return g.op("Mul", [half, g.op("Add", [t, g.const(1.0, "one")])])
    erf = g.op("Erf", [g.op("Div", [x, g.const(math.sqrt(2.0), "sqrt2")])])
    half = g.op("Mul", [x, g.const(0.5, "half")])
    return g.op("Mul", [half, g.op("Add", [erf, g.const(1.0, "one")])])


def _relu_ext(g: OnnxBuilder, x: str, p: dict[str, Any]) -> str:
    thr, slope, top = p["threshold"], p["negative_slope"], p["max_value"]
    if thr == 0.0 and slope == 0.0:
        y = g.op("Relu", [x])
    else:
        shifted = g.op("Mul", [g.op("Sub", [x, g.const(thr, "thr")]), g.const(slope, "slope")])
        cond = g.op("GreaterOrEqual", [x, g.const(thr, "thr")])
        y = g.op("Where", [cond, x, shifted])
    if top is not None:
        y = g.op("Min", [y, g.const(top, "max")])
    return y


def onnx_act(g: OnnxBuilder, x: str, kind: str, params: dict[str, Any]) -> str:
    """ONNX nodes applying activation ``kind`` to tensor ``x``; returns the result name."""
    kind = _ALIASES.get(kind, kind)
    simple = {
        "relu": "Relu",
        "sigmoid": "Sigmoid",
        "tanh": "Tanh",
        "softplus": "Softplus",
        "softsign": "Softsign",
        "exponential": "Exp",
    }
    if kind == "linear":
        return x
    if kind in simple:
        return g.op(simple[kind], [x])
    if kind in ("softmax", "log_softmax"):
        op = "Softmax" if kind == "softmax" else "LogSoftmax"
        return g.op(op, [x], axis=int(params.get("axis", -1)))
    if kind == "relu6":
        return g.op("Clip", [x, g.const(0.0, "lo"), g.const(6.0, "hi")])
    if kind == "hard_sigmoid":
        return g.op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
    if kind == "hard_silu":
        return _mul_by(g, x, "HardSigmoid", alpha=1.0 / 6.0, beta=0.5)
    if kind == "silu":
        return _mul_by(g, x, "Sigmoid")
    if kind == "mish":
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])
    if kind == "elu":
        return g.op("Elu", [x], alpha=float(params.get("alpha", 1.0)))
    if kind == "selu":
        return g.op("Selu", [x], alpha=1.6732632423543772, gamma=1.0507009873554805)
    if kind == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=float(params.get("negative_slope", 0.2)))
    if kind == "gelu":
        return _gelu(g, x, bool(params.get("approximate", False)))
    if kind == "relu_ext":
        return _relu_ext(g, x, params)
    raise AssertionError(f"no ONNX form for activation {kind}")


def apply_fused(g: OnnxBuilder, node: Node, y: str) -> str:
    """Apply the activation a pass fused into ``node`` (if any)."""
    return onnx_act(g, y, node.attrs.get("activation", "linear"), node.attrs.get("act_params", {}))


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
        axis = node.attrs.get("axis")
        rank = node.inputs[0].rank
        if axis is not None and not -rank <= axis < rank:
            raise TdcError(f"softmax axis {axis} is out of range for rank {rank}")
        return _same(node)

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
