"""Convolutions: Conv1D and Conv2D (channels_last).

IR ops here: ``Conv1D`` and ``Conv2D``. Their weights keep Keras's layouts (kernel
``(*kernel_size, cin // groups, filters)``, bias ``(filters,)``); ONNX and NumPy convert
them. Padding follows Keras (TF): 'same' puts the odd extra pad at the end, 'causal' pads
the start only. A LoRA adapter (``lora_rank``) is merged into the kernel when lowering.
The window geometry shared with pooling lives in ``window.py``; its names stay importable
from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import (
    REQUIRED,
    Param,
    activation,
    boolean,
    choice,
    dense_like_training,
    initializer,
    int_tuple,
    integer,
    number,
    optional,
)
from ..ir.graph import Node, Shape, Value, check_rank, shape_str
from ..ir.registry import OpDef, WeightSpec, register
from .activations import apply_fused, numpy_fused_in_place
from .window import Window, plan_window, spatial_size, to_channels_first, to_channels_last

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.lowering import Builder, LayerSpec


# -- Conv1D / Conv2D -------------------------------------------------------------------------


def conv_params(rank: int) -> dict[str, Param]:
    """Keras's constructor arguments of a ``rank``-D convolution."""
    paddings = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
    return {
        "filters": Param(REQUIRED, integer(lo=1)),
        "kernel_size": Param(REQUIRED, int_tuple(rank)),
        "strides": Param((1,) * rank, int_tuple(rank)),
        "padding": Param("valid", choice(*paddings, any_case=True)),
        "data_format": Param(None, optional(choice("channels_last", any_case=True))),
        "dilation_rate": Param((1,) * rank, int_tuple(rank)),
        "groups": Param(1, integer(lo=1)),
        "activation": Param("linear", activation),
        "use_bias": Param(True, boolean),
        "kernel_initializer": Param("glorot_uniform", initializer),
        "bias_initializer": Param("zeros", initializer),
        "lora_rank": Param(None, optional(integer(lo=1))),
        "lora_alpha": Param(None, optional(number())),
        **dense_like_training(["kernel", "bias"]),
    }


class _Conv(OpDef):
    """``y = act(conv(x, kernel) + bias)`` over the spatial axes of (N, *S, C)."""

    fuses_activation = folds_batchnorm = True
    mask_flow, stream = "drop", "time"
    template = "conv"

    rank = 0

    def check_attrs(self, attrs: dict[str, Any]) -> None:
        if max(attrs["strides"]) > 1 and max(attrs["dilation_rate"]) > 1:
            raise ValueError("strides > 1 cannot be combined with dilation_rate > 1")
        if attrs["filters"] % attrs["groups"]:
            raise ValueError(
                f"filters ({attrs['filters']}) must be divisible by groups ({attrs['groups']})"
            )
        if attrs["lora_rank"] and attrs["kernel_constraint"]:
            raise ValueError("lora_rank cannot be combined with a kernel_constraint")

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        shape = shapes[0]
        cin, groups = shape[-1], attrs["groups"]
        if not isinstance(cin, int):
            raise TdcError(f"{self.name} needs a static channel dimension, got {shape_str(shape)}")
        if cin % groups:
            raise TdcError(
                f"{self.name}: input channels ({cin}) not divisible by groups ({groups})"
            )
        taps = attrs["kernel_size"]
        kernel = (*taps, cin // groups, attrs["filters"])
        specs = {"kernel": WeightSpec(kernel, attrs["kernel_initializer"])}
        if attrs["use_bias"]:
            specs["bias"] = WeightSpec((attrs["filters"],), attrs["bias_initializer"])
        if attrs["lora_rank"]:
            r = attrs["lora_rank"]
            specs["lora_kernel_a"] = WeightSpec((*kernel[:-1], r), "he_uniform")
            specs["lora_kernel_b"] = WeightSpec((r, attrs["filters"]), "zeros")
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        check_rank(inputs[0], (self.rank + 2,), self.name)
        weights = b.weights(self.weight_specs(a, [inputs[0].shape]))
        if a["lora_rank"]:
            weights = merge_lora(weights, a["lora_rank"], a["lora_alpha"])
        keys = ("strides", "padding", "dilation_rate", "groups")
        (y,) = b.emit(self.name, inputs, {k: a[k] for k in keys}, weights)
        return [b.act(y, a["activation"])]

    def window(self, node: Node) -> Window:
        a, taps = node.attrs, node.weights["kernel"].shape[:-2]
        return plan_window(
            node.inputs[0], taps, a["strides"], a["dilation_rate"], a["padding"], node.op
        )

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, kernel = node.inputs[0], node.weights["kernel"]
        if x.shape[-1] != kernel.shape[-2] * node.attrs["groups"]:
            raise TdcError(
                f"{node.op} kernel {kernel.shape} does not fit input {shape_str(x.shape)}"
            )
        win = self.window(node)
        return [((x.shape[0], *win.out, kernel.shape[-1]), "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        r, kernel = self.rank, node.weights["kernel"]
        win = self.window(node)
        w = g.const(np.transpose(kernel, (r + 1, r, *range(r))), "kernel")
        ins = [g.op("Transpose", [g[node.inputs[0]]], perm=to_channels_first(r)), w]
        if "bias" in node.weights:
            ins.append(g.const(node.weights["bias"], "bias"))
        attrs = win.onnx_attrs() | {"dilations": list(win.dilation), "group": node.attrs["groups"]}
        y = g.op("Conv", ins, **attrs)
        y = g.op("Transpose", [y], perm=to_channels_last(r))
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        r, kernel, groups = self.rank, node.weights["kernel"], node.attrs["groups"]
        win = self.window(node)
        lead = r + 1  # batch and output positions
        if groups == 1:
            perm = (*range(lead), *range(lead + 1, lead + 1 + r), lead)
        else:
            perm = (*range(lead + 1), *range(lead + 2, lead + 2 + r), lead + 1)
        split = f"win.shape[:{lead}] + ({groups}, {kernel.shape[-2]}) + win.shape[{lead + 1}:]"
        what = f"conv {win.describe()}" + (f", {groups} groups" if groups > 1 else "")
        taps = set(kernel.shape[:-2]) | set(win.strides)
        one_by_one = groups == 1 and taps == {1} and not win.np_pads()
        return {
            **win.numpy_context(),
            **win.np_zero_pad(),
            "index": win.np_index(),
            "what": what,
            "use_bias": "bias" in node.weights,
            "ret": numpy_fused_in_place(node),
            "tile_bias": kernel.shape[-1] < 64,
            "groups": groups,
            "one_by_one": one_by_one,
            "lead": lead,
            "perm": str(perm),
            "split": split,
            "depth": int(np.prod(kernel.shape[:-1])),
            "filters": kernel.shape[-1],
        }

    def flops(self, node: Node) -> int:
        positions = spatial_size(node.output.shape[1:-1])
        return 2 * positions * int(node.weights["kernel"].size)


def merge_lora(weights: dict[str, np.ndarray], rank: int, alpha: float | None) -> dict[str, Any]:
    """Fold Keras's LoRA adapter into the kernel: ``kernel + alpha / rank * a @ b``."""
    scale = (rank if alpha is None else alpha) / rank
    a, b = weights["lora_kernel_a"], weights["lora_kernel_b"]
    kernel = weights["kernel"] + np.float32(scale) * np.matmul(a, b)
    merged = {"kernel": kernel.astype(np.float32)}
    if "bias" in weights:
        merged["bias"] = weights["bias"]
    return merged


@register("Conv1D")
class Conv1D(_Conv):
    rank = 1
    params = conv_params(1)


@register("Conv2D")
class Conv2D(_Conv):
    rank = 2
    params = conv_params(2)
