"""Normalization layers: BatchNormalization (inference form) and LayerNormalization.

Both IR ops keep their axes as negative indices, so they mean the same on (N, T, *S)
as on the folded (N*T, *S) of a TimeDistributed layer. Weights stay in Keras's layout
(``gamma``, ``beta``, ``moving_mean``, ``moving_variance``); backends derive the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import Param, axis_spec, boolean, initializer, integer, number, training_only
from ..ir.graph import Node, Shape, shape_str, static_size
from ..ir.registry import OpDef, WeightSpec, register, step_axis
from .activations import apply_fused, numpy_fused_in_place

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

_TRAINING = training_only(
    "beta_regularizer",
    "gamma_regularizer",
    "beta_constraint",
    "gamma_constraint",
    "activity_regularizer",
)
_CLIP_KEYS = ("rmax", "rmin", "dmax")
_IR_WEIGHTS = ("gamma", "beta", "moving_mean", "moving_variance")


def _renorm_clipping(v: Any) -> dict[str, float | None] | None:
    """``null`` or a mapping with keys among rmax, rmin, dmax (numbers or null)."""
    if v is None:
        return None
    if isinstance(v, dict) and set(v) <= set(_CLIP_KEYS):
        return {k: (None if x is None else number()(x)) for k, x in v.items()}
    raise ValueError("null or a mapping with keys among rmax, rmin, dmax (numbers)")


def neg_axis(axis: int, shape: Shape, what: str) -> int:
    """``axis`` of ``shape`` as a negative index; the batch axis is refused."""
    rank = len(shape)
    if not -rank <= axis < rank:
        raise TdcError(f"{what} axis {axis} is out of range for input {shape_str(shape)}")
    if axis % rank == 0:
        raise TdcError(f"{what} cannot normalize over the batch axis (axis {axis})")
    return axis % rank - rank


def _static(shape: Shape, axes: list[int], what: str) -> tuple[int, ...]:
    dims = tuple(shape[a] for a in axes)
    if not all(isinstance(d, int) for d in dims):
        raise TdcError(f"{what} needs static dims on its axes, got {shape_str(shape)}")
    return dims  # type: ignore[return-value]


def _elements(shape: Shape) -> int:
    return static_size(tuple(d if isinstance(d, int) else 1 for d in shape)) or 0


class _Norm(OpDef):
    """Shared by the two: per-sample over feature axes, never the time axis itself."""

    last_axis_only = fuses_activation = True
    mask_flow, stream = "propagate", "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        for a in node.attrs.get("axes", (node.attrs.get("axis"),)):
            step_axis(a, rank)  # negative axes (as kept) mean the same on a step
        return dict(node.attrs)


# -- BatchNormalization ---------------------------------------------------------------------


@register("BatchNormalization")
class BatchNormalization(_Norm):
    """Inference form: ``y = (x - moving_mean) / sqrt(moving_variance + eps) * gamma + beta``."""

    params = {
        "axis": Param(-1, integer()),
        "momentum": Param(0.99, number()),
        "epsilon": Param(1e-3, number(lo=0)),
        "center": Param(True, boolean),
        "scale": Param(True, boolean),
        "beta_initializer": Param("zeros", initializer),
        "gamma_initializer": Param("ones", initializer),
        "moving_mean_initializer": Param("zeros", initializer),
        "moving_variance_initializer": Param("ones", initializer),
        **_TRAINING,
        "renorm": Param(False, boolean),
        "renorm_clipping": Param(None, _renorm_clipping),
        "renorm_momentum": Param(0.99, number()),
        "synchronized": Param(False, boolean),
    }

    def check_attrs(self, attrs: dict[str, Any]) -> None:
        clip = attrs["renorm_clipping"] or {}
        rmax, rmin, dmax = (clip.get(k) for k in _CLIP_KEYS)
        if rmax is not None and rmin is not None and rmax < rmin:
            raise ValueError(f"renorm_clipping rmax ({rmax}) must be >= rmin ({rmin})")
        if dmax is not None and dmax < 0:
            raise ValueError(f"renorm_clipping dmax ({dmax}) must be >= 0")

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        """Keras's variables in Keras's order (renorm adds three, unused at inference)."""
        axis = neg_axis(attrs["axis"], shapes[0], "BatchNormalization")
        shape = _static(shapes[0], [axis], "BatchNormalization")
        specs = {}
        if attrs["scale"]:
            specs["gamma"] = WeightSpec(shape, attrs["gamma_initializer"])
        if attrs["center"]:
            specs["beta"] = WeightSpec(shape, attrs["beta_initializer"])
        specs["moving_mean"] = WeightSpec(shape, attrs["moving_mean_initializer"])
        specs["moving_variance"] = WeightSpec(shape, attrs["moving_variance_initializer"])
        if attrs["renorm"]:
            specs["moving_stddev"] = WeightSpec(shape, attrs["moving_variance_initializer"])
            specs["renorm_mean"] = WeightSpec(shape, attrs["moving_mean_initializer"])
            specs["renorm_stddev"] = WeightSpec(shape, attrs["moving_variance_initializer"])
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        taken = b.weights(self.weight_specs(a, [inputs[0].shape]))
        weights = {k: v for k, v in taken.items() if k in _IR_WEIGHTS}
        attrs = {"axis": neg_axis(a["axis"], inputs[0].shape, "BatchNormalization")}
        return b.emit("BatchNormalization", inputs, {**attrs, "epsilon": a["epsilon"]}, weights)

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        axis = node.attrs["axis"]
        if not -x.rank < axis < 0:
            raise TdcError(f"BatchNormalization axis {axis} does not fit {shape_str(x.shape)}")
        for key, w in node.weights.items():
            if w.shape != (x.shape[axis],):
                raise TdcError(f"BatchNormalization {key} {w.shape} does not fit {x!r}")
        return [(x.shape, x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        scale, shift = bn_scale_shift(node)
        bshape = _bn_broadcast(node)
        y = g.op("Mul", [g[node.inputs[0]], g.const(scale.reshape(bshape), "scale")])
        y = g.op("Add", [y, g.const(shift.reshape(bshape), "shift")])
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {
            "axis": node.attrs["axis"],
            "epsilon": repr(float(node.attrs["epsilon"])),
            "bshape": repr(_bn_broadcast(node)),
            "has_gamma": "gamma" in node.weights,
            "has_beta": "beta" in node.weights,
            "ret": numpy_fused_in_place(node),
        }

    def flops(self, node: Node) -> int:
        return 2 * _elements(node.inputs[0].shape)


def _bn_broadcast(node: Node) -> tuple[int, ...]:
    """Shape that puts a per-channel vector on the (negative) channel axis."""
    return (-1,) + (1,) * (-node.attrs["axis"] - 1)


def bn_scale_shift(node: Node) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel float32 ``scale = gamma / sqrt(var + eps)``, ``shift = beta - mean *
    scale``, computed in float64 and rounded once."""
    return _scale_shift(node, wide=False)


def bn_scale_shift64(node: Node) -> tuple[np.ndarray, np.ndarray]:
    """``bn_scale_shift`` in float64, for folding into a kernel before one rounding."""
    return _scale_shift(node, wide=True)


def _scale_shift(node: Node, wide: bool) -> tuple[np.ndarray, np.ndarray]:
    w = node.weights
    mean = np.asarray(w["moving_mean"], np.float64)
    var = np.asarray(w["moving_variance"], np.float64)
    inv = 1.0 / np.sqrt(var + np.float64(np.float32(node.attrs["epsilon"])))
    scale = inv * np.asarray(w["gamma"], np.float64) if "gamma" in w else inv
    shift = -mean * scale
    if "beta" in w:
        shift = shift + np.asarray(w["beta"], np.float64)
    if wide:
        return scale, shift
    return scale.astype(np.float32), shift.astype(np.float32)


# -- LayerNormalization ---------------------------------------------------------------------


@register("LayerNormalization")
class LayerNormalization(_Norm):
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
        **_TRAINING,
    }

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        """Keras's shape: the input dims at the axes as given, sorted by their raw values."""
        raw = attrs["axis"]
        axes = [raw] if isinstance(raw, int) else sorted(raw)
        _ln_axes(raw, shapes[0])
        specs = {}
        if attrs["scale"] or attrs["rms_scaling"]:
            shape = _static(shapes[0], axes, "LayerNormalization")
            specs["gamma"] = WeightSpec(shape, attrs["gamma_initializer"])
        if attrs["center"] and not attrs["rms_scaling"]:
            shape = _static(shapes[0], axes, "LayerNormalization")
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
        return per * _elements(node.inputs[0].shape)


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
