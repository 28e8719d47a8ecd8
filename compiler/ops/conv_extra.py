"""More convolutions: DepthwiseConv1D/2D, SeparableConv1D/2D and Conv3D (channels_last).

IR ops here: ``depthwise_conv`` (weights ``depthwise_kernel`` ``(*k, cin, mult)``, named
``kernel`` in DepthwiseConv1D/2D as in Keras; for
the separable layers ``pointwise_kernel`` ``(*1, cin * mult, filters)``; ``bias`` when
present) and ``Conv3D`` (the rank-3 case of ``conv._Conv``). Output channel ``c * mult + m``
of the depthwise step reads input channel ``c`` with multiplier ``m``, as Keras does.
The transposed convolutions live in ``conv_transpose.py`` (imported below).
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
from . import conv_transpose  # noqa: F401  (registers Conv1D/2D/3DTranspose)
from .activations import apply_fused, numpy_fused_in_place
from .conv import Window, _Conv, conv_params, plan_window, spatial_size
from .conv import to_channels_first as _cf
from .conv import to_channels_last as _cl

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.lowering import Builder, LayerSpec


@register("Conv3D")
class Conv3D(_Conv):
    """Conv3D on (N, D, H, W, C); kernel ``(kd, kh, kw, cin // groups, filters)``."""

    rank = 3
    params = conv_params(3)


def depthwise_params(rank: int, separable: bool) -> dict[str, Param]:
    """Keras's constructor arguments of DepthwiseConv1D/2D / SeparableConv1D/2D."""
    params = {
        "kernel_size": Param(REQUIRED, int_tuple(rank)),
        "strides": Param((1,) * rank, int_tuple(rank)),
        "padding": Param("valid", choice("valid", "same", any_case=True)),
        "depth_multiplier": Param(1, integer(lo=1)),
        "data_format": Param(None, optional(choice("channels_last", any_case=True))),
        "dilation_rate": Param((1,) * rank, int_tuple(rank)),
        "activation": Param("linear", activation),
        "use_bias": Param(True, boolean),
        "depthwise_initializer": Param("glorot_uniform", initializer),
        "bias_initializer": Param("zeros", initializer),
    }
    if separable:
        params["filters"] = Param(REQUIRED, integer(lo=1))
        params["pointwise_initializer"] = Param("glorot_uniform", initializer)
        return params | dense_like_training(["depthwise", "pointwise", "bias"])
    return params | dense_like_training(["depthwise", "bias"])


class _DepthwiseLayer(OpDef):
    """A Keras depthwise or separable convolution: lowers to one ``depthwise_conv`` node."""

    mask_flow = "drop"
    rank = 0
    separable = False
    strided_dilation = False  # Keras's DepthwiseConv1D takes strides and dilation together

    def check_attrs(self, attrs: dict[str, Any]) -> None:
        if self.strided_dilation:
            return
        if max(attrs["strides"]) > 1 and max(attrs["dilation_rate"]) > 1:
            raise ValueError("strides > 1 cannot be combined with dilation_rate > 1")

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        cin, mult = shapes[0][-1], attrs["depth_multiplier"]
        if not isinstance(cin, int):
            raise TdcError(
                f"{self.name} needs a static channel dimension, got {shape_str(shapes[0])}"
            )
        taps, key = attrs["kernel_size"], "depthwise_kernel" if self.separable else "kernel"
        specs = {key: WeightSpec((*taps, cin, mult), attrs["depthwise_initializer"])}
        out = cin * mult
        if self.separable:
            out = attrs["filters"]
            pointwise = ((1,) * self.rank + (cin * mult, out), attrs["pointwise_initializer"])
            specs["pointwise_kernel"] = WeightSpec(*pointwise)
        if attrs["use_bias"]:
            specs["bias"] = WeightSpec((out,), attrs["bias_initializer"])
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        check_rank(inputs[0], (self.rank + 2,), self.name)
        weights = b.weights(self.weight_specs(a, [inputs[0].shape]))
        keys = ("strides", "padding", "dilation_rate")
        (y,) = b.emit("depthwise_conv", inputs, {k: a[k] for k in keys}, weights)
        return [b.act(y, a["activation"])]


def _register_layers() -> None:
    for name, rank, separable in (
        ("DepthwiseConv1D", 1, False),
        ("DepthwiseConv2D", 2, False),
        ("SeparableConv1D", 1, True),
        ("SeparableConv2D", 2, True),
    ):
        attrs = {"rank": rank, "separable": separable, "params": depthwise_params(rank, separable)}
        attrs["strided_dilation"] = name == "DepthwiseConv1D"
        register(name)(type(name, (_DepthwiseLayer,), attrs))


_register_layers()


def _dw_key(node: Node) -> str:
    """Keras names the depthwise variable ``kernel`` in DepthwiseConv1D/2D."""
    return "depthwise_kernel" if "depthwise_kernel" in node.weights else "kernel"


def _window(node: Node) -> Window:
    a, taps = node.attrs, node.weights[_dw_key(node)].shape[:-2]
    what = node.label or "depthwise convolution"
    return plan_window(node.inputs[0], taps, a["strides"], a["dilation_rate"], a["padding"], what)


def _subscripts(rank: int, mult: int) -> str:
    """einsum of the window view (N, *positions, C, *taps) with the depthwise kernel
    (*taps, C[, M]): e.g. ``"npqcij,ijc->npqc"`` (2-D, multiplier 1)."""
    pos, taps = "pqr"[:rank], "ijk"[:rank]
    m = "m" if mult > 1 else ""
    return f"n{pos}c{taps},{taps}c{m}->n{pos}c{m}"


@register("depthwise_conv")
class DepthwiseConv(OpDef):
    """Per-channel convolution, then (separable) a 1x1 convolution, then the bias."""

    fuses_activation = True
    stream = "time"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, dw = node.inputs[0], node.weights[_dw_key(node)]
        if x.shape[-1] != dw.shape[-2]:
            raise TdcError(f"depthwise kernel {dw.shape} does not fit input {shape_str(x.shape)}")
        out = dw.shape[-2] * dw.shape[-1]
        if "pointwise_kernel" in node.weights:
            out = node.weights["pointwise_kernel"].shape[-1]
        return [((x.shape[0], *_window(node).out, out), "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        dw, win = node.weights[_dw_key(node)], _window(node)
        r, cin = win.rank, dw.shape[-2]
        chans = cin * dw.shape[-1]
        w = np.transpose(dw.reshape(*dw.shape[:-2], 1, chans), (r + 1, r, *range(r)))
        ins = [g.op("Transpose", [g[node.inputs[0]]], perm=_cf(r)), g.const(w, "depthwise")]
        pw = node.weights.get("pointwise_kernel")
        if pw is None and "bias" in node.weights:
            ins.append(g.const(node.weights["bias"], "bias"))
        attrs = win.onnx_attrs() | {"dilations": list(win.dilation), "group": cin}
        y = g.op("Conv", ins, **attrs)
        if pw is not None:
            w = np.transpose(pw, (r + 1, r, *range(r)))
            ins = [y, g.const(w, "pointwise")]
            if "bias" in node.weights:
                ins.append(g.const(node.weights["bias"], "bias"))
            y = g.op("Conv", ins, kernel_shape=[1] * r)
        y = g.op("Transpose", [y], perm=_cl(r))
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        dw, win = node.weights[_dw_key(node)], _window(node)
        taps, (cin, mult) = dw.shape[:-2], dw.shape[-2:]
        pw = node.weights.get("pointwise_kernel")
        what = f"depthwise conv {win.describe()}, multiplier {mult}"
        if pw is not None:
            what += f", then pointwise to {pw.shape[-1]}"
        return {
            **win.numpy_context(),
            "index": win.np_index(),
            "what": what,
            **win.np_zero_pad(),
            "cin": cin,
            "mult": mult,
            "dw_shape": str((*taps, cin)),
            "subscripts": _subscripts(len(taps), mult),
            "dw_name": _dw_key(node),
            "pointwise": pw is not None,
            "ret": numpy_fused_in_place(node),
            "pw_shape": str(pw.shape[-2:]) if pw is not None else "",
            "use_bias": "bias" in node.weights,
        }

    def flops(self, node: Node) -> int:
        positions = spatial_size(node.output.shape[1:-1])
        size = sum(
            int(node.weights[k].size)
            for k in (_dw_key(node), "pointwise_kernel")
            if k in node.weights
        )
        return 2 * positions * size
