"""LayerNormalization: per-sample normalization over one or more feature axes.

The IR op ``LayerNormalization`` keeps ``axes`` as sorted negative indices (batch
excluded) with ``epsilon`` and ``rms_scaling``; its weights ``gamma`` / ``beta`` stay in
Keras's layout and are reshaped (not transposed) onto the normalized axes. ONNX gets the
LayerNormalization op over a trailing run of static axes, a ReduceMean form otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import Param, axis_spec, boolean, initializer, number
from ..ir.graph import Node, Shape, shape_str, static_size
from ..ir.registry import WeightSpec, register
from .activations import apply_fused
from .normalization import NORM_TRAINING, NormOp, elements, neg_axis, static_dims

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


@register("LayerNormalization")
class LayerNormalization(NormOp):
    """Normalize each sample over ``axis`` (int or list), then scale by gamma, add beta.

    ``rms_scaling`` (deprecated in Keras, still accepted) follows Keras exactly:
    ``y = x / sqrt(var(x) + eps) * gamma``, no centring and no beta.
    """

    params = {
        "axis": Param(-1, axis_spec),
        "epsilon": Param(1e-3, number(lo=0)),
        "center": Param(True, boolean),
        "scale": Param(True, boolean),
        "rms_scaling": Param(False, boolean),
        "beta_initializer": Param("zeros", initializer),
        "gamma_initializer": Param("ones", initializer),
        **NORM_TRAINING,
    }

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        """Keras's shape: the input dims at the axes as given, sorted by their raw values."""
        raw = attrs["axis"]
        axes = [raw] if isinstance(raw, int) else sorted(raw)
        _ln_axes(raw, shapes[0])
        specs = {}
        if attrs["scale"] or attrs["rms_scaling"]:
            shape = static_dims(shapes[0], axes, "LayerNormalization")
            specs["gamma"] = WeightSpec(shape, attrs["gamma_initializer"])
        if attrs["center"] and not attrs["rms_scaling"]:
            shape = static_dims(shapes[0], axes, "LayerNormalization")
            specs["beta"] = WeightSpec(shape, attrs["beta_initializer"])
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        weights = b.weights(self.weight_specs(a, [inputs[0].shape]))
        attrs = {
            "axes": _ln_axes(a["axis"], inputs[0].shape),
            "epsilon": a["epsilon"],
            "rms_scaling": a["rms_scaling"],
        }
        return b.emit("LayerNormalization", inputs, attrs, weights)

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        axes = node.attrs["axes"]
        if not all(-x.rank < a < 0 for a in axes):
            raise TdcError(f"LayerNormalization axes {axes} do not fit {shape_str(x.shape)}")
        size = static_size(tuple(x.shape[a] for a in axes))
        for key, w in node.weights.items():
            if size is None or w.size != size:
                raise TdcError(f"LayerNormalization {key} {w.shape} does not fit {x!r}")
        return [(x.shape, x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x = node.inputs[0]
        axes = node.attrs["axes"]
        k = len(axes)
        trailing = x.shape[-k:]
        suffix = axes == tuple(range(-k, 0))
        if suffix and not node.attrs["rms_scaling"] and static_size(trailing) is not None:
            y = _onnx_layernorm(g, node, trailing)  # type: ignore[arg-type]
        else:
            y = _onnx_composite(g, node)
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {
            "axes": repr(node.attrs["axes"]),
            "epsilon": repr(float(node.attrs["epsilon"])),
            "rms_scaling": node.attrs["rms_scaling"],
            "bshape": repr(_ln_broadcast(node)),
            "has_gamma": "gamma" in node.weights,
            "has_beta": "beta" in node.weights,
        }

    def flops(self, node: Node) -> int:
        per = 5 + len(node.weights)
        return per * elements(node.inputs[0].shape)


def _ln_axes(raw: int | tuple[int, ...], shape: Shape) -> tuple[int, ...]:
    """Normalized axes as sorted negative indices (distinct, batch excluded)."""
    given = [raw] if isinstance(raw, int) else list(raw)
    axes = sorted({neg_axis(a, shape, "LayerNormalization") for a in given})
    if len(axes) != len(given):
        raise TdcError(f"LayerNormalization axis {list(given)} names an axis twice")
    return tuple(axes)


def _ln_broadcast(node: Node) -> tuple[int, ...]:
    """Shape (from the first normalized axis to the last axis) gamma/beta broadcast to.

    Like Keras, the stored array is reshaped (not transposed) into it.
    """
    axes = node.attrs["axes"]
    x = node.inputs[0]
    return tuple(x.shape[a] if a in axes else 1 for a in range(axes[0], 0))  # type: ignore[misc]


def _onnx_layernorm(g: OnnxBuilder, node: Node, trailing: tuple[int, ...]) -> str:
    """The ONNX LayerNormalization op over a trailing suffix of static axes."""
    w = node.weights
    gamma = w["gamma"].reshape(trailing) if "gamma" in w else np.ones(trailing, np.float32)
    ins = [g[node.inputs[0]], g.const(gamma, "gamma")]
    if "beta" in w:
        ins.append(g.const(w["beta"].reshape(trailing), "beta"))
    eps = float(node.attrs["epsilon"])
    return g.op("LayerNormalization", ins, axis=-len(trailing), epsilon=eps)


def _onnx_composite(g: OnnxBuilder, node: Node) -> str:
    """ReduceMean-based form for any axes (and for rms_scaling)."""
    axes = list(node.attrs["axes"])
    bshape = _ln_broadcast(node)
    x = g[node.inputs[0]]
    d = g.op("Sub", [x, g.op("ReduceMean", [x], axes=axes, keepdims=1)])
    var = g.op("ReduceMean", [g.op("Mul", [d, d])], axes=axes, keepdims=1)
    eps = g.const(float(node.attrs["epsilon"]), "epsilon")
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [var, eps])])])
    if "gamma" in node.weights:
        inv = g.op("Mul", [inv, g.const(node.weights["gamma"].reshape(bshape), "gamma")])
    y = g.op("Mul", [x if node.attrs["rms_scaling"] else d, inv])
    if "beta" in node.weights:
        y = g.op("Add", [y, g.const(node.weights["beta"].reshape(bshape), "beta")])
    return y
