"""GroupNormalization and UnitNormalization (channels_last).

IR ops here: ``group_norm`` (attrs ``groups``, ``axis`` as a negative index, ``epsilon``;
weights ``gamma`` / ``beta`` of shape ``(channels,)`` when present) and ``unit_norm``
(attrs ``axes``, sorted negative indices). GroupNormalization splits the channel axis into
``groups`` consecutive groups and normalizes each sample over every other non-batch axis
and the channels of one group, as Keras does; ``groups: -1`` is one group per channel.
UnitNormalization is Keras's ``ops.normalize(x, axis, order=2, epsilon=1e-12)``:
``x * min(1 / sqrt(sum(x * x)), 1e12)``, computed as ``x / sqrt(max(sum(x * x), 1e-24))``
(the same, without dividing by zero).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..frontend.params import Param, axis_spec, boolean, initializer, integer, number, training_only
from ..ir.graph import Node, Shape, Value, shape_str
from ..ir.registry import OpDef, WeightSpec, register, step_axis
from .normalization import elements, neg_axis

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.lowering import Builder, LayerSpec

#: Keras's ``epsilon`` of UnitNormalization (the ``ops.normalize`` call it makes).
UNIT_EPSILON = 1e-12


def _groups(v: Any) -> int:
    """A positive number of groups, or -1 (one group per channel)."""
    if v == -1 and not isinstance(v, bool):
        return -1
    try:
        return integer(lo=1)(v)
    except ValueError:
        raise ValueError("an integer >= 1, or -1 (one group per channel)") from None


def _int_axis(v: Any) -> int:
    """GroupNormalization reads one channel axis: an integer (Keras indexes the shape with it)."""
    axis = axis_spec(v)
    if not isinstance(axis, int):
        raise ValueError("an integer axis (the channel axis)")
    return axis


# -- GroupNormalization ----------------------------------------------------------------------


@register("GroupNormalization")
class GroupNormalization(OpDef):
    """Keras's GroupNormalization: lowers to one ``group_norm`` node."""

    mask_flow = "propagate"
    params = {
        "groups": Param(32, _groups),
        "axis": Param(-1, _int_axis),
        "epsilon": Param(1e-3, number(lo=0)),
        "center": Param(True, boolean),
        "scale": Param(True, boolean),
        "beta_initializer": Param("zeros", initializer),
        "gamma_initializer": Param("ones", initializer),
        **training_only(
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
            "activity_regularizer",
        ),
    }

    def _channels(self, attrs: dict[str, Any], shape: Shape) -> tuple[int, int, int]:
        """(negative axis, channels, groups), checked as Keras's ``build`` does."""
        axis = neg_axis(attrs["axis"], shape, "GroupNormalization")
        dim = shape[axis]
        if not isinstance(dim, int):
            raise TdcError(
                f"GroupNormalization needs a static dim on axis {attrs['axis']}, "
                f"got {shape_str(shape)}"
            )
        groups = dim if attrs["groups"] == -1 else attrs["groups"]
        if dim % groups:
            raise TdcError(
                f"GroupNormalization: groups ({groups}) must divide the {dim} channels "
                f"of input {shape_str(shape)}",
                accepted=f"a divisor of {dim}, or -1 (one group per channel)",
            )
        return axis, dim, groups

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        _, dim, _ = self._channels(attrs, shapes[0])
        specs = {}
        if attrs["scale"]:
            specs["gamma"] = WeightSpec((dim,), attrs["gamma_initializer"])
        if attrs["center"]:
            specs["beta"] = WeightSpec((dim,), attrs["beta_initializer"])
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        axis, _, groups = self._channels(a, inputs[0].shape)
        weights = b.weights(self.weight_specs(a, [inputs[0].shape]))
        attrs = {"groups": groups, "axis": axis, "epsilon": a["epsilon"]}
        return b.emit("group_norm", inputs, attrs, weights)


def _group_plan(node: Node) -> dict[str, Any]:
    """Positions of the split channel axis, the reduced axes and the weights' broadcast."""
    x, axis, groups = node.inputs[0], node.attrs["axis"], node.attrs["groups"]
    p = x.rank + axis  # positive channel axis
    dim = x.shape[axis]
    assert isinstance(dim, int)
    reduce = tuple(k for k in range(1, x.rank + 1) if k != p)
    return {"p": p, "dim": dim, "groups": groups, "reduce": reduce, "rank": x.rank}


@register("group_norm")
class GroupNorm(OpDef):
    """Normalize each sample per group of channels, then scale by gamma, add beta."""

    stream = "time"
    stream_why = "normalizes over every axis but the channel groups, the time axis included"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        axis, groups = node.attrs["axis"], node.attrs["groups"]
        dim = x.shape[axis] if -x.rank < axis < 0 else None
        if not isinstance(dim, int) or dim % groups:
            raise TdcError(f"group_norm axis {axis}, {groups} groups, do not fit {x!r}")
        for key, w in node.weights.items():
            if w.shape != (dim,):
                raise TdcError(f"GroupNormalization {key} {w.shape} does not fit {x!r}")
        return [(x.shape, x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        """Channels moved last (when not already), split into (groups, per group),
        moments over every other non-batch axis, then gamma and beta per channel."""
        plan = _group_plan(node)
        p, r, groups, dim = plan["p"], plan["rank"], plan["groups"], plan["dim"]
        x = g[node.inputs[0]]
        moved = p != r - 1
        perm = [k for k in range(r) if k != p] + [p]
        if moved:
            x = g.op("Transpose", [x], perm=perm)
        split = g.ints([0] * (r - 1) + [groups, dim // groups], "group_shape")
        xs = g.op("Reshape", [x, split])
        axes = [*range(1, r - 1), r]
        d = g.op("Sub", [xs, g.op("ReduceMean", [xs], axes=axes, keepdims=1)])
        var = g.op("ReduceMean", [g.op("Mul", [d, d])], axes=axes, keepdims=1)
        eps = g.const(float(node.attrs["epsilon"]), "epsilon")
        y = g.op("Mul", [d, g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, eps])])])])
        y = g.op("Reshape", [y, g.ints([0] * (r - 1) + [dim], "channel_shape")])
        if "gamma" in node.weights:
            y = g.op("Mul", [y, g.const(node.weights["gamma"], "gamma")])
        if "beta" in node.weights:
            y = g.op("Add", [y, g.const(node.weights["beta"], "beta")])
        if moved:
            y = g.op("Transpose", [y], perm=[perm.index(k) for k in range(r)])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        plan = _group_plan(node)
        p, r, groups, dim = plan["p"], plan["rank"], plan["groups"], plan["dim"]
        split = f"x.shape[:{p}] + ({groups}, {dim // groups}) + x.shape[{p + 1}:]"
        return {
            "what": f"group normalization, {groups} groups of axis {node.attrs['axis']}",
            "split": split,
            "reduce": repr(plan["reduce"]),
            "epsilon": repr(float(node.attrs["epsilon"])),
            "bshape": repr((dim,) + (1,) * (r - 1 - p)),
            "reshape": p != r - 1,
            "has_gamma": "gamma" in node.weights,
            "has_beta": "beta" in node.weights,
        }

    def flops(self, node: Node) -> int:
        return (5 + len(node.weights)) * elements(node.inputs[0].shape)


# -- UnitNormalization -----------------------------------------------------------------------


@register("UnitNormalization")
class UnitNormalization(OpDef):
    """Keras's UnitNormalization: lowers to one ``unit_norm`` node."""

    mask_flow = "propagate"
    params = {"axis": Param(-1, axis_spec)}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        raw, shape = spec.attrs["axis"], inputs[0].shape
        given = [raw] if isinstance(raw, int) else list(raw)
        axes = sorted({neg_axis(a, shape, "UnitNormalization") for a in given})
        if len(axes) != len(given):
            raise TdcError(f"UnitNormalization axis {given} names an axis twice")
        return b.emit("unit_norm", inputs, {"axes": tuple(axes)})


@register("unit_norm")
class UnitNorm(OpDef):
    """``x`` scaled to unit L2 norm over ``axes`` (negative indices, batch excluded)."""

    last_axis_only = True
    stream = "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        for a in node.attrs["axes"]:
            step_axis(a, rank)  # negative axes mean the same on a step; the time axis refused
        return dict(node.attrs)

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, axes = node.inputs[0], node.attrs["axes"]
        if not all(-x.rank < a < 0 for a in axes):
            raise TdcError(f"UnitNormalization axes {axes} do not fit {shape_str(x.shape)}")
        return [(x.shape, x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x = g[node.inputs[0]]
        axes = g.ints(list(node.attrs["axes"]), "axes")
        sq = g.op("ReduceSum", [g.op("Mul", [x, x]), axes], keepdims=1)
        sq = g.op("Max", [sq, g.const(UNIT_EPSILON**2, "min_square_sum")])
        g.set(node, g.op("Div", [x, g.op("Sqrt", [sq])]))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {
            "axes": repr(node.attrs["axes"]),
            "min_square_sum": repr(UNIT_EPSILON**2),
        }

    def flops(self, node: Node) -> int:
        return 3 * elements(node.inputs[0].shape)
