"""BatchNormalization (inference form), and what the normalization ops share.

The shared part (``NormOp``, ``neg_axis``, ``static_dims``, ``elements``,
``NORM_TRAINING``) serves LayerNormalization (``layer_normalization.py``) too. Both IR ops
keep their axes as negative indices, so they mean the same on (N, T, *S) as on the folded
(N*T, *S) of a TimeDistributed layer. Weights stay in Keras's layout (``gamma``, ``beta``,
``moving_mean``, ``moving_variance``); backends derive the rest (``bn_scale_shift``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import Param, boolean, initializer, integer, number, training_only
from ..ir.graph import Node, Shape, shape_str, static_size
from ..ir.registry import OpDef, WeightSpec, register, step_axis
from .activations import apply_fused, numpy_fused_in_place

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

NORM_TRAINING = training_only(
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


def static_dims(shape: Shape, axes: list[int], what: str) -> tuple[int, ...]:
    dims = tuple(shape[a] for a in axes)
    if not all(isinstance(d, int) for d in dims):
        raise TdcError(f"{what} needs static dims on its axes, got {shape_str(shape)}")
    return dims  # type: ignore[return-value]


def elements(shape: Shape) -> int:
    return static_size(tuple(d if isinstance(d, int) else 1 for d in shape)) or 0


class NormOp(OpDef):
    """Batch- and LayerNormalization: per-sample over feature axes, never the time axis."""

    last_axis_only = fuses_activation = True
    mask_flow, stream = "propagate", "custom"

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        for a in node.attrs.get("axes", (node.attrs.get("axis"),)):
            step_axis(a, rank)  # negative axes (as kept) mean the same on a step
        return dict(node.attrs)


# -- BatchNormalization ---------------------------------------------------------------------


@register("BatchNormalization")
class BatchNormalization(NormOp):
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
        **NORM_TRAINING,
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
        shape = static_dims(shapes[0], [axis], "BatchNormalization")
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
        return 2 * elements(node.inputs[0].shape)


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
