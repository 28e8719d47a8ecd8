"""LayerScale, the layer ``keras.applications`` ConvNeXt defines (not in ``keras.layers``):
``x * gamma`` with one learned scale per channel of the last axis. Keras creates the
variable without a name (its path ends ``variable_<n>``, numbered across the process): its
weights-file key is ``<layer>/gamma``, the attribute (``keras/classes.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..frontend.params import REQUIRED, Param, integer, number
from ..ir.graph import Shape, shape_str
from ..ir.registry import OpDef, WeightSpec, register

if TYPE_CHECKING:
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


@register("LayerScale")
class LayerScale(OpDef):
    """``keras.src.applications.convnext.LayerScale(init_values, projection_dim)``."""

    mask_flow = "drop"
    params = {
        "init_values": Param(REQUIRED, number()),
        "projection_dim": Param(REQUIRED, integer(lo=1)),
    }

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        init = f"constant:{float(attrs['init_values'])!r}"
        return {"gamma": WeightSpec((attrs["projection_dim"],), init)}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x, dim = inputs[0], spec.attrs["projection_dim"]
        if x.rank < 2 or x.shape[-1] != dim:
            raise TdcError(
                f"LayerScale with projection_dim {dim} needs an input whose last axis is {dim}, "
                f"got {shape_str(x.shape)}"
            )
        gamma = b.weights(self.weight_specs(spec.attrs, [x.shape]))["gamma"]
        return b.emit("scale_shift", inputs, {"mode": "mul_add"}, {"a": gamma})
