"""Keras operations in a graph (``type: ops.<name>``, the function ``keras.ops.<name>``).

An entry's positional operands are its ``inputs:`` (layer names, or numbers and lists of
numbers for constant operands, held as float32), its keyword arguments the other keys.

IR ops here: ``binary`` (``kind`` in add/subtract/multiply/divide/maximum/minimum/power,
of two values or of one value and a constant weight ``c``, ``const_first`` when the
constant is the first operand), ``unary`` (negative/square/sqrt/abs/exp/log/clip) and
``reduce`` (mean/sum/max/min over ``axes``). Activations lower to ``act``. Shapes follow
NumPy broadcasting (trailing axes aligned), as ``keras.ops`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import Param, boolean, integer, number, optional
from ..ir.graph import Node, Shape, static_size
from ..ir.registry import OpDef, StepRefused, register, step_axis
from .core import ones
from .merge import unify

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

_BINARY = {
    "add": "add",
    "subtract": "subtract",
    "multiply": "multiply",
    "divide": "divide",
    "true_divide": "divide",
    "maximum": "maximum",
    "minimum": "minimum",
    "power": "power",
}
_BINARY_ONNX = {
    "add": "Add",
    "subtract": "Sub",
    "multiply": "Mul",
    "divide": "Div",
    "maximum": "Max",
    "minimum": "Min",
    "power": "Pow",
}
_BINARY_NUMPY = {
    "add": "np.add",
    "subtract": "np.subtract",
    "multiply": "np.multiply",
    "divide": "np.divide",
    "maximum": "np.maximum",
    "minimum": "np.minimum",
    "power": "np.power",
}
_UNARY = ("negative", "square", "sqrt", "abs", "exp", "log")
_UNARY_ONNX = {"negative": "Neg", "sqrt": "Sqrt", "abs": "Abs", "exp": "Exp", "log": "Log"}
#: keras.ops activation -> (``act`` kind, its parameters as Keras's keyword arguments).
_ACTS: dict[str, tuple[str, dict[str, Param]]] = {
    "relu": ("relu", {}),
    "relu6": ("relu6", {}),
    "sigmoid": ("sigmoid", {}),
    "hard_sigmoid": ("hard_sigmoid", {}),
    "hard_silu": ("hard_silu", {}),
    "hard_swish": ("hard_silu", {}),
    "silu": ("silu", {}),
    "gelu": ("gelu", {"approximate": Param(True, boolean)}),
    "tanh": ("tanh", {}),
    "softmax": ("softmax", {"axis": Param(-1, integer())}),
    "log_softmax": ("log_softmax", {"axis": Param(-1, integer())}),
}
_REDUCE = ("mean", "sum", "max", "min")


def constant(value: Any) -> np.ndarray:
    """A constant operand as float32 (a number or a nested list of numbers)."""
    return np.asarray(value, dtype=np.float32)


def broadcast(values: list[Value], shapes: list[Shape]) -> Shape:
    """NumPy broadcasting of ``shapes`` (trailing axes aligned)."""
    rank = max(len(s) for s in shapes)
    out: list[Any] = [1] * rank
    for s in shapes:
        padded = (1,) * (rank - len(s)) + tuple(s)
        out = [unify(a, b, values, True) for a, b in zip(out, padded, strict=True)]
    return tuple(out)


class _KerasOp(OpDef):
    """A ``keras.ops`` function: no weights, masked inputs refused (Keras drops the mask)."""

    mask_flow = "unsupported"
    operands: tuple[str, ...] | None = ("x",)
    params: dict = {}

    def tensor(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> Value:
        if len(inputs) != 1 or len(spec.operands) != 1:
            raise TdcError(f"{self.name} takes exactly one operand, a layer or input")
        return inputs[0]


class _Binary(_KerasOp):
    operands = ("x1", "x2")
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        attrs: dict[str, Any] = {"kind": self.kind}
        if len(inputs) == 2:
            return b.emit("binary", inputs, attrs)
        first = not isinstance(spec.operands[0], str)
        c = constant(spec.operands[0 if first else 1])
        return b.emit("binary", inputs, {**attrs, "const_first": first}, {"c": c})


class _Unary(_KerasOp):
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        return b.emit("unary", [self.tensor(b, spec, inputs)], {"kind": self.kind})


class _Activation(_KerasOp):
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = self.tensor(b, spec, inputs)
        return [b.act(x, self.kind, **spec.attrs)]


class _Reduce(_KerasOp):
    kind = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = self.tensor(b, spec, inputs)
        axis = spec.attrs["axis"]
        if axis is None:
            axes = tuple(range(x.rank))
        else:
            listed = axis if isinstance(axis, list | tuple) else (axis,)
            for a in listed:
                if not -x.rank <= a < x.rank:
                    raise TdcError(f"{self.name}: axis {a} is out of range for rank {x.rank}")
            axes = tuple(sorted({a % x.rank for a in listed}))
            if len(axes) != len(listed):
                raise TdcError(f"{self.name}: axis {axis} names an axis twice")
        if 0 in axes and not spec.attrs["keepdims"]:
            raise TdcError(
                f"{self.name} over the batch axis (axis {axis}) without keepdims leaves no "
                "batch axis, which a compiled model needs",
                accepted="axes >= 1, or keepdims: true",
            )
        attrs = {"kind": self.kind, "axes": axes, "keepdims": spec.attrs["keepdims"]}
        attrs["initial"] = spec.attrs.get("initial")
        return b.emit("reduce", [x], attrs)


def _axis(v: Any) -> int | tuple[int, ...] | None:
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, list) and v and all(isinstance(a, int) and not isinstance(a, bool) for a in v):
        return tuple(v)
    raise ValueError("an integer axis, a non-empty list of them, or null")


for _name, _kind in _BINARY.items():
    register(f"ops.{_name}")(type(f"Op_{_name}", (_Binary,), {"kind": _kind}))
for _name in _UNARY:
    register(f"ops.{_name}")(type(f"Op_{_name}", (_Unary,), {"kind": _name}))
for _name, (_kind, _params) in _ACTS.items():
    _attrs = {"kind": _kind, "params": _params}
    register(f"ops.{_name}")(type(f"Op_{_name}", (_Activation,), _attrs))
for _name in _REDUCE:
    _params = {"axis": Param(None, _axis), "keepdims": Param(False, boolean)}
    if _name in ("max", "min"):
        _params["initial"] = Param(None, optional(number()))
    register(f"ops.{_name}")(type(f"Op_{_name}", (_Reduce,), {"kind": _name, "params": _params}))


@register("ops.clip")
class Clip(_KerasOp):
    """``clip(x, x_min, x_max)``; the bounds as constant operands or keyword arguments."""

    operands = ("x", "x_min", "x_max")
    params = {"x_min": Param(None, optional(number())), "x_max": Param(None, optional(number()))}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        attrs = {"kind": "clip", "lo": a["x_min"], "hi": a["x_max"]}
        return b.emit("unary", [inputs[0]], attrs)


def _flops(node: Node) -> int:
    return static_size(ones(node.output.shape)) or 0


@register("binary")
class BinaryOp(OpDef):
    """``kind`` of two values, or of one value and the constant weight ``c``
    (``const_first``: the constant is the first operand), NumPy-broadcast."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if len({v.rank for v in node.inputs}) > 1:
            raise StepRefused("broadcasts over the time axis")
        if "c" in node.weights and node.weights["c"].ndim >= rank - 1:  # reaches axis 1
            raise StepRefused("has a constant operand spanning the time axis")
        return dict(node.attrs)

    def sinks_fold(self, node: Node) -> bool:
        return len(node.inputs) == 1 and node.weights["c"].ndim <= 1

    def _shapes(self, node: Node) -> list[Shape]:
        shapes = [v.shape for v in node.inputs]
        if "c" in node.weights:
            c = tuple(node.weights["c"].shape)
            shapes = [c, *shapes] if node.attrs.get("const_first") else [*shapes, c]
        return shapes

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(broadcast(node.inputs, self._shapes(node)), "float32")]

    def _names(self, node: Node, names: list[str], c: str) -> list[str]:
        if "c" not in node.weights:
            return names
        return [c, *names] if node.attrs.get("const_first") else [*names, c]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        c = g.const(node.weights["c"], "c") if "c" in node.weights else ""
        a, b = self._names(node, [g[v] for v in node.inputs], c)
        g.set(node, g.op(_BINARY_ONNX[node.attrs["kind"]], [a, b]))

    def numpy(self, node: Node) -> dict[str, Any]:
        names = ["x"] if len(node.inputs) == 1 else ["x0", "x1"]
        a, b = self._names(node, names, "c")
        kind = node.attrs["kind"]
        return {"what": kind, "expr": f"{_BINARY_NUMPY[kind]}({a}, {b})"}

    def flops(self, node: Node) -> int:
        return _flops(node)


@register("unary")
class UnaryOp(OpDef):
    """Elementwise ``kind`` (negative, square, sqrt, abs, exp, log; clip with lo, hi)."""

    stream = "elementwise"
    last_axis_only = True

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        return [(node.inputs[0].shape, "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x, kind = g[node.inputs[0]], node.attrs["kind"]
        if kind == "square":
            y = g.op("Mul", [x, x])
        elif kind == "clip":
            lo, hi = node.attrs["lo"], node.attrs["hi"]
            y = x
            if lo is not None:
                y = g.op("Max", [y, g.const(lo, "lo")])
            if hi is not None:
                y = g.op("Min", [y, g.const(hi, "hi")])
        else:
            y = g.op(_UNARY_ONNX[kind], [x])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        kind = node.attrs["kind"]
        if kind != "clip":
            return {"what": kind, "expr": f"np.{kind}(x)"}
        expr = "x"
        if node.attrs["lo"] is not None:
            expr = f"np.maximum({expr}, np.float32({node.attrs['lo']!r}))"
        if node.attrs["hi"] is not None:
            expr = f"np.minimum({expr}, np.float32({node.attrs['hi']!r}))"
        return {"what": kind, "expr": expr}

    def flops(self, node: Node) -> int:
        return _flops(node)


_REDUCE_ONNX = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin"}


@register("reduce")
class ReduceOp(OpDef):
    """``kind`` over ``axes`` (positive, sorted), ``keepdims`` as Keras; max and min
    with an ``initial`` value take the extremum with it as well."""

    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        if 0 in node.attrs["axes"]:
            raise StepRefused("reduces over the batch axis")
        axes = tuple(step_axis(a, rank) for a in node.attrs["axes"])
        return {**node.attrs, "axes": axes}

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, axes = node.inputs[0], node.attrs["axes"]
        if node.attrs["keepdims"]:
            shape = tuple(1 if k in axes else d for k, d in enumerate(x.shape))
        else:
            shape = tuple(d for k, d in enumerate(x.shape) if k not in axes)
        return [(shape, "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        kind, axes = node.attrs["kind"], list(node.attrs["axes"])
        keep = int(node.attrs["keepdims"])
        x = g[node.inputs[0]]
        if kind == "sum":  # opset 17: axes an input of ReduceSum, an attribute of the rest
            y = g.op("ReduceSum", [x, g.ints(axes, "axes")], keepdims=keep)
        else:
            y = g.op(_REDUCE_ONNX[kind], [x], axes=axes, keepdims=keep)
        if node.attrs.get("initial") is not None:
            y = g.op("Max" if kind == "max" else "Min", [y, g.const(node.attrs["initial"])])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        a = node.attrs
        expr = f"np.{a['kind']}(x, axis={tuple(a['axes'])!r}, keepdims={a['keepdims']!r})"
        if a.get("initial") is not None:
            fn = "np.maximum" if a["kind"] == "max" else "np.minimum"
            expr = f"{fn}({expr}, np.float32({a['initial']!r}))"
        return {"what": f"{a['kind']} over axes {tuple(a['axes'])}", "expr": expr}

    def flops(self, node: Node) -> int:
        return static_size(ones(node.inputs[0].shape)) or 0
