"""Conv1DTranspose, Conv2DTranspose and Conv3DTranspose (channels_last).

Each is its own IR op (``Conv<r>DTranspose``), kernel ``(*kernel_size, filters, cin)``; they
share the NumPy template ``conv_transpose``.

Keras (JAX) computes a transposed convolution as a plain convolution of the input dilated
by ``strides`` (zeros between samples), padded ``(left, right)`` per axis, with the kernel
flipped; ``transpose_pads`` reproduces Keras's choice of ``(left, right)``. ONNX
ConvTranspose takes the complementary pads ``span - 1 - left`` / ``span - 1 - right``
(a negative end pad becomes ``output_padding``).
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
    optional,
)
from ..ir.graph import Node, Shape, Value, check_rank, shape_str
from ..ir.registry import OpDef, WeightSpec, register
from .activations import apply_fused
from .conv import Window, spatial_size, to_channels_first, to_channels_last

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.lowering import Builder, LayerSpec


def transpose_pads(span: int, stride: int, padding: str, extra: int | None) -> tuple[int, int]:
    """Keras's (left, right) padding of the stride-dilated input of one axis."""
    if padding == "valid":
        extra = max(span, stride) - span if extra is None else extra
        return (span - 1, span - 1 + extra)
    total = stride + span - 2 if extra is None else span + span % 2 - 2 + extra
    left = min(total // 2 + total % 2, span - 1)
    return (left, total - left)


def _params(rank: int) -> dict[str, Param]:
    return {
        "filters": Param(REQUIRED, integer(lo=1)),
        "kernel_size": Param(REQUIRED, int_tuple(rank)),
        "strides": Param((1,) * rank, int_tuple(rank)),
        "padding": Param("valid", choice("valid", "same", any_case=True)),
        "output_padding": Param(None, optional(int_tuple(rank, lo=0))),
        "data_format": Param(None, optional(choice("channels_last", any_case=True))),
        "dilation_rate": Param((1,) * rank, int_tuple(rank)),
        "activation": Param("linear", activation),
        "use_bias": Param(True, boolean),
        "kernel_initializer": Param("glorot_uniform", initializer),
        "bias_initializer": Param("zeros", initializer),
        **dense_like_training(["kernel", "bias"]),
    }


class _ConvTranspose(OpDef):
    """A ``rank``-D transposed convolution on (N, *S, C)."""

    fuses_activation = True
    mask_flow, stream = "drop", "time"
    template = "conv_transpose"
    rank = 0

    def check_attrs(self, attrs: dict[str, Any]) -> None:
        if max(attrs["strides"]) > 1 and max(attrs["dilation_rate"]) > 1:
            raise ValueError("strides > 1 cannot be combined with dilation_rate > 1")
        extra = attrs["output_padding"]
        if extra is not None and any(p >= s for p, s in zip(extra, attrs["strides"], strict=True)):
            raise ValueError(
                f"output_padding {extra} must be strictly less than strides {attrs['strides']}"
            )

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        cin = shapes[0][-1]
        if not isinstance(cin, int):
            raise TdcError(
                f"{self.name} needs a static channel dimension, got {shape_str(shapes[0])}"
            )
        kernel = (*attrs["kernel_size"], attrs["filters"], cin)
        specs = {"kernel": WeightSpec(kernel, attrs["kernel_initializer"])}
        if attrs["use_bias"]:
            specs["bias"] = WeightSpec((attrs["filters"],), attrs["bias_initializer"])
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        check_rank(inputs[0], (self.rank + 2,), self.name)
        weights = b.weights(self.weight_specs(a, [inputs[0].shape]))
        keys = ("strides", "padding", "output_padding", "dilation_rate")
        (y,) = b.emit(self.name, inputs, {k: a[k] for k in keys}, weights)
        return [b.act(y, a["activation"])]

    def window(self, node: Node) -> Window:
        """The equivalent stride-1 window over the stride-dilated, padded input."""
        a, x = node.attrs, node.inputs[0]
        taps = node.weights["kernel"].shape[:-2]
        extras = a["output_padding"] or (None,) * len(taps)
        pads, out = [], []
        for n, k, s, d, e in zip(
            x.shape[1:-1], taps, a["strides"], a["dilation_rate"], extras, strict=True
        ):
            if not isinstance(n, int):
                raise TdcError(
                    f"{node.op} needs static spatial dims, got input {shape_str(x.shape)}"
                )
            span = d * (k - 1) + 1
            left, right = transpose_pads(span, s, a["padding"], e)
            pads.append((left, right))
            out.append((n - 1) * s + 1 + left + right - span + 1)
        ones = (1,) * len(taps)
        return Window(tuple(taps), ones, tuple(a["dilation_rate"]), tuple(pads), tuple(out))

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, kernel = node.inputs[0], node.weights["kernel"]
        if x.shape[-1] != kernel.shape[-1]:
            raise TdcError(
                f"{node.op} kernel {kernel.shape} does not fit input {shape_str(x.shape)}"
            )
        return [((x.shape[0], *self.window(node).out, kernel.shape[-2]), "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        r, kernel, win = self.rank, node.weights["kernel"], self.window(node)
        begins, ends, extra = [], [], []
        for span, (left, right) in zip(win.span, win.pads, strict=True):
            begins.append(span - 1 - left)
            ends.append(max(span - 1 - right, 0))
            extra.append(max(right - span + 1, 0))
        w = g.const(np.transpose(kernel, (r + 1, r, *range(r))), "kernel")
        ins = [g.op("Transpose", [g[node.inputs[0]]], perm=to_channels_first(r)), w]
        if "bias" in node.weights:
            ins.append(g.const(node.weights["bias"], "bias"))
        attrs = {
            "kernel_shape": list(win.taps),
            "strides": list(node.attrs["strides"]),
            "dilations": list(win.dilation),
            "pads": begins + ends,
            "output_padding": extra,
        }
        y = g.op("ConvTranspose", ins, **attrs)
        y = g.op("Transpose", [y], perm=to_channels_last(r))
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        r, kernel, win = self.rank, node.weights["kernel"], self.window(node)
        x, strides = node.inputs[0], node.attrs["strides"]
        lead = r + 1
        dilated = [(n - 1) * s + 1 for n, s in zip(x.shape[1:-1], strides, strict=True)]
        flip = "[" + ", ".join(["::-1"] * r) + "]"
        what = f"transposed conv, strides {tuple(strides)}, as conv {win.describe()}"
        return {
            **win.numpy_context(),
            "index": win.np_index(),
            "what": what,
            "use_bias": "bias" in node.weights,
            "stretch": any(s > 1 for s in strides),
            "dilated": ", ".join(str(d) for d in dilated),
            "step": ", ".join(f"::{s}" for s in strides),
            "flip": flip,
            "swap": str((*range(r), r + 1, r)),
            "lead": lead,
            "perm": str((*range(lead), *range(lead + 1, lead + 1 + r), lead)),
            "depth": int(np.prod(kernel.shape)) // kernel.shape[-2],
            "filters": kernel.shape[-2],
        }

    def flops(self, node: Node) -> int:
        positions = spatial_size(node.inputs[0].shape[1:-1])
        return 2 * positions * int(node.weights["kernel"].size)


@register("Conv1DTranspose")
class Conv1DTranspose(_ConvTranspose):
    rank = 1
    params = _params(1)


@register("Conv2DTranspose")
class Conv2DTranspose(_ConvTranspose):
    rank = 2
    params = _params(2)


@register("Conv3DTranspose")
class Conv3DTranspose(_ConvTranspose):
    rank = 3
    params = _params(3)
