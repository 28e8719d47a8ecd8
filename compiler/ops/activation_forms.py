"""The formulas of Keras's activations: one ONNX expression and one NumPy helper call each.

``numpy_call`` writes the call of a helper from ``templates/activations.py.j2``;
``onnx_act`` emits the ONNX nodes. Both follow the JAX backend's formula step by step
(``keras.src.backend.jax.nn`` and ``jax.nn``), so rounding, infinities and NaN come out
as Keras's. ``DEFAULTS`` holds the parameters ``keras.activations.<name>`` takes, with the
defaults the string form (``activation="celu"``) uses.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Node

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
ALIASES = {"swish": "silu", "hard_swish": "hard_silu"}

#: The keyword parameters of each activation and their defaults, in Keras's order.
DEFAULTS: dict[str, dict[str, Any]] = {
    "softmax": {"axis": -1},
    "log_softmax": {"axis": -1},
    "sparsemax": {"axis": -1},
    "glu": {"axis": -1},
    "elu": {"alpha": 1.0},
    "celu": {"alpha": 1.0},
    "leaky_relu": {"negative_slope": 0.2},
    "gelu": {"approximate": False},
    "hard_shrink": {"threshold": 0.5},
    "soft_shrink": {"threshold": 0.5},
    "squareplus": {"b": 4.0},
    "relu_ext": {"negative_slope": 0.0, "max_value": None, "threshold": 0.0},
}
#: Activations that work along an axis (``axis``) rather than per element.
AXIS_KINDS = ("softmax", "log_softmax", "sparsemax", "glu")


def settings(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """``kind``'s parameters: those given, the defaults for the rest."""
    return {k: params.get(k, v) for k, v in DEFAULTS.get(ALIASES.get(kind, kind), {}).items()}


def numpy_call(kind: str, params: dict[str, Any], var: str) -> str:
    """The NumPy expression that applies activation ``kind`` to variable ``var``."""
    kind = ALIASES.get(kind, kind)
    if kind == "linear":
        return var
    args = [var]
    for key, value in settings(kind, params).items():
        named = kind in AXIS_KINDS or key == "approximate"
        args.append(f"{key}={value!r}" if named else repr(value))
    return f"_{kind}({', '.join(args)})"


#: Activations whose helper can overwrite its argument (``out=``), sparing an allocation.
_IN_PLACE = ("relu", "relu6", "sigmoid", "tanh", "relu_ext")


def numpy_fused_in_place(node: Node, var: str = "y") -> str:
    """The node's fused activation applied to ``var`` like ``numpy_call``, but overwriting
    ``var`` where the helper can; only for a ``var`` the op's function created itself."""
    kind = node.attrs.get("activation", "linear")
    call = numpy_call(kind, node.attrs.get("act_params", {}), var)
    if ALIASES.get(kind, kind) in _IN_PLACE:
        return f"{call[:-1]}, out={var})"
    return call


# -- ONNX ------------------------------------------------------------------------------------

_SIMPLE = {
    "relu": "Relu",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "softsign": "Softsign",
    "exponential": "Exp",
}


def _k(g: OnnxBuilder, value: float, hint: str = "k") -> str:
    return g.const(float(value), hint)


def _mul_by(g: OnnxBuilder, x: str, gate_op: str, **attrs: Any) -> str:
    return g.op("Mul", [x, g.op(gate_op, [x], **attrs)])


def _gelu(g: OnnxBuilder, x: str, p: dict[str, Any]) -> str:
    if p["approximate"]:
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Add", [x, g.op("Mul", [cube, _k(g, 0.044715)])])
        t = g.op("Tanh", [g.op("Mul", [inner, _k(g, SQRT_2_OVER_PI)])])
        half = g.op("Mul", [x, _k(g, 0.5, "half")])
        return g.op("Mul", [half, g.op("Add", [t, _k(g, 1.0, "one")])])
    erf = g.op("Erf", [g.op("Div", [x, _k(g, math.sqrt(2.0), "sqrt2")])])
    half = g.op("Mul", [x, _k(g, 0.5, "half")])
    return g.op("Mul", [half, g.op("Add", [erf, _k(g, 1.0, "one")])])


def _relu_ext(g: OnnxBuilder, x: str, p: dict[str, Any]) -> str:
    thr, slope, top = p["threshold"], p["negative_slope"], p["max_value"]
    if thr == 0.0 and slope == 0.0 and top is not None:  # one Clip, fused into a Conv
        return g.op("Clip", [x, _k(g, 0.0, "lo"), _k(g, top, "max")])
    if thr == 0.0 and slope == 0.0:
        y = g.op("Relu", [x])
    else:
        shifted = g.op("Mul", [g.op("Sub", [x, _k(g, thr, "thr")]), _k(g, slope, "slope")])
        y = g.op("Where", [g.op("GreaterOrEqual", [x, _k(g, thr, "thr")]), x, shifted])
    if top is not None:
        y = g.op("Min", [y, _k(g, top, "max")])
    return y


def _log_sigmoid(g: OnnxBuilder, x: str, p: dict[str, Any]) -> str:
    # -softplus(-x) = min(x, 0) - log(1 + exp(-|x|)): no overflow for any x
    tail = g.op("Exp", [g.op("Neg", [g.op("Abs", [x])])])
    soft = g.op("Log", [g.op("Add", [tail, _k(g, 1.0, "one")])])
    return g.op("Sub", [g.op("Min", [x, _k(g, 0.0, "zero")]), soft])


def _sparse_plus(g: OnnxBuilder, x: str, p: dict[str, Any]) -> str:
    t = g.op("Add", [x, _k(g, 1.0, "one")])
    mid = g.op("Div", [g.op("Mul", [t, t]), _k(g, 4.0, "four")])
    upper = g.op("Where", [g.op("GreaterOrEqual", [x, _k(g, 1.0, "one")]), x, mid])
    low = g.op("LessOrEqual", [x, _k(g, -1.0, "minus_one")])
    return g.op("Where", [low, _k(g, 0.0, "zero"), upper])


def _squareplus(g: OnnxBuilder, x: str, p: dict[str, Any]) -> str:
    root = g.op("Sqrt", [g.op("Add", [g.op("Mul", [x, x]), _k(g, p["b"], "b")])])
    return g.op("Div", [g.op("Add", [x, root]), _k(g, 2.0, "two")])


def _glu(g: OnnxBuilder, x: str, p: dict[str, Any]) -> str:
    first, second = g.op("Split", [x], n_out=2, axis=int(p["axis"]))  # two equal halves
    return g.op("Mul", [first, g.op("Sigmoid", [second])])


def _sparsemax(g: OnnxBuilder, x: str, p: dict[str, Any]) -> str:
    axis = int(p["axis"])
    axes = g.ints([axis], "axis")
    shape = g.op("Shape", [x])
    size = g.op("Gather", [shape, axes], axis=0)
    ordered = g.op("TopK", [x, size], n_out=2, axis=axis, largest=1, sorted=1)[0]
    cums = g.op("CumSum", [ordered, axes])
    r = g.op("CumSum", [g.filled(shape, 1.0, "float32", "ones"), axes])  # 1, 2, ... n
    gap = g.op("Div", [g.op("Sub", [cums, _k(g, 1.0, "one")]), r])
    support = g.op("Greater", [g.op("Sub", [ordered, gap]), _k(g, 0.0, "zero")])
    count = g.op("Cast", [support], to=g.dtype("float32"))
    k = g.op("ReduceSum", [count, axes], keepdims=1)
    kept = g.op("Where", [support, cums, _k(g, 0.0, "zero")])
    total = g.op("ReduceSum", [kept, axes], keepdims=1)
    tau = g.op("Div", [g.op("Sub", [total, _k(g, 1.0, "one")]), k])
    return g.op("Max", [g.op("Sub", [x, tau]), _k(g, 0.0, "zero")])


def _shrink(g: OnnxBuilder, x: str, p: dict[str, Any], soft: bool) -> str:
    t = float(p["threshold"])
    return g.op("Shrink", [x], bias=t if soft else 0.0, lambd=t)


def _elementwise(g: OnnxBuilder, x: str, kind: str, p: dict[str, Any]) -> str | None:
    """The activations that take one ONNX node, or a fixed few; None for the rest."""
    if kind in _SIMPLE:
        return g.op(_SIMPLE[kind], [x])
    if kind == "relu6":
        return g.op("Clip", [x, _k(g, 0.0, "lo"), _k(g, 6.0, "hi")])
    if kind == "hard_tanh":
        return g.op("Clip", [x, _k(g, -1.0, "lo"), _k(g, 1.0, "hi")])
    if kind == "sparse_sigmoid":
        clipped = g.op("Clip", [g.op("Add", [x, _k(g, 1.0, "one")]), _k(g, 0.0, "lo"), _k(g, 2.0)])
        return g.op("Mul", [clipped, _k(g, 0.5, "half")])
    if kind in ("hard_sigmoid", "hard_silu"):
        gate = g.op("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
        return gate if kind == "hard_sigmoid" else g.op("Mul", [x, gate])
    if kind == "silu":
        return _mul_by(g, x, "Sigmoid")
    if kind == "mish":
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x])])])
    if kind == "tanh_shrink":
        return g.op("Sub", [x, g.op("Tanh", [x])])
    if kind == "selu":
        return g.op("Selu", [x], alpha=1.6732632423543772, gamma=1.0507009873554805)
    return None


def _with_params(g: OnnxBuilder, x: str, kind: str, p: dict[str, Any]) -> str:
    if kind in ("softmax", "log_softmax"):
        op = "Softmax" if kind == "softmax" else "LogSoftmax"
        return g.op(op, [x], axis=int(p["axis"]))
    if kind == "elu":
        return g.op("Elu", [x], alpha=float(p["alpha"]))
    if kind == "celu":
        return g.op("Celu", [x], alpha=float(p["alpha"]))
    if kind == "leaky_relu":
        return g.op("LeakyRelu", [x], alpha=float(p["negative_slope"]))
    if kind in ("hard_shrink", "soft_shrink"):
        return _shrink(g, x, p, kind == "soft_shrink")
    forms = {
        "gelu": _gelu,
        "relu_ext": _relu_ext,
        "log_sigmoid": _log_sigmoid,
        "sparse_plus": _sparse_plus,
        "squareplus": _squareplus,
        "glu": _glu,
        "sparsemax": _sparsemax,
    }
    if kind not in forms:
        raise AssertionError(f"no ONNX form for activation {kind}")
    return forms[kind](g, x, p)


def onnx_act(g: OnnxBuilder, x: str, kind: str, params: dict[str, Any]) -> str:
    """ONNX nodes applying activation ``kind`` to tensor ``x``; returns the result name."""
    kind = ALIASES.get(kind, kind)
    if kind == "linear":
        return x
    y = _elementwise(g, x, kind, params)
    return y if y is not None else _with_params(g, x, kind, settings(kind, params))


def apply_fused(g: OnnxBuilder, node: Node, y: str) -> str:
    """Apply the activation a pass fused into ``node`` (if any)."""
    return onnx_act(g, y, node.attrs.get("activation", "linear"), node.attrs.get("act_params", {}))
