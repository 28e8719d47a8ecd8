"""Convolutions: Conv1D and Conv2D (channels_last), plus the window geometry pooling shares.

IR ops here: ``Conv1D`` and ``Conv2D``. Their weights keep Keras's layouts (kernel
``(*kernel_size, cin // groups, filters)``, bias ``(filters,)``); ONNX and NumPy convert
them. Padding follows Keras (TF): 'same' puts the odd extra pad at the end, 'causal' pads
the start only. A LoRA adapter (``lora_rank``) is merged into the kernel when lowering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..ir import Dim, Node, Shape, Value, check_rank, shape_str
from ..params import (
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
from ..registry import OpDef, WeightSpec, register
from .activations import apply_fused, numpy_fused_in_place

if TYPE_CHECKING:
    from ..backends.onnx import OnnxBuilder
    from ..lowering import Builder, LayerSpec


# -- window geometry (shared with pooling) ---------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A sliding window over the spatial axes 1..r of a channels_last tensor."""

    taps: tuple[int, ...]  # kernel or pool size per axis
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]  # (begin, end) per axis
    out: tuple[Dim, ...]  # output spatial dims

    @property
    def rank(self) -> int:
        return len(self.taps)

    @property
    def span(self) -> tuple[int, ...]:
        """Extent of the (dilated) window per axis."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.taps, self.dilation, strict=True))

    def onnx_attrs(self) -> dict[str, Any]:
        """kernel_shape, strides and explicit pads for ONNX Conv / MaxPool / AveragePool."""
        begins = [p[0] for p in self.pads]
        ends = [p[1] for p in self.pads]
        return {
            "kernel_shape": list(self.taps),
            "strides": list(self.strides),
            "pads": begins + ends,
        }

    def np_pads(self) -> str:
        """``np.pad`` widths for (N, *S, C), or "" when nothing is padded."""
        if not any(b or e for b, e in self.pads):
            return ""
        return str(((0, 0), *self.pads, (0, 0)))

    def np_index(self, batch: bool = True) -> str:
        """Index applying strides (and dilation) to a ``sliding_window_view`` of the input.

        With ``batch`` the view is (N, *S', C, *span), else (*S', *span).
        """
        if all(s == 1 for s in self.strides + self.dilation):
            return ""
        parts = [":"] if batch else []
        parts += [f"::{s}" if s > 1 else ":" for s in self.strides]
        if any(d > 1 for d in self.dilation):
            parts += [":", *(f"::{d}" if d > 1 else ":" for d in self.dilation)]
        return "[" + ", ".join(parts) + "]"

    def numpy_context(self) -> dict[str, Any]:
        axes = tuple(range(1, self.rank + 1))
        return {"pads": self.np_pads(), "window": str(self.span), "axes": str(axes)}

    def np_zero_pad(self) -> dict[str, str]:
        """Shape of the zero-padded ``x`` and the index of ``x`` inside it (NumPy source)."""
        dims, index = ["x.shape[0]"], [":"]
        for i, (b, e) in enumerate(self.pads, start=1):
            dims.append(f"x.shape[{i}] + {b + e}" if b + e else f"x.shape[{i}]")
            index.append(f"{b}:{b} + x.shape[{i}]" if b + e else ":")
        return {"padded": f"({', '.join(dims)}, x.shape[-1])", "interior": ", ".join(index)}

    def describe(self) -> str:
        size = "x".join(str(k) for k in self.taps)
        extra = f", strides {self.strides}" if any(s > 1 for s in self.strides) else ""
        if any(d > 1 for d in self.dilation):
            extra += f", dilation {self.dilation}"
        padded = any(b or e for b, e in self.pads)
        return f"{size} window{extra}" + (f", pads {self.pads}" if padded else "")


def pad_pair(n: Dim, span: int, stride: int, padding: str, what: str) -> tuple[int, int]:
    """Keras's (begin, end) padding of one axis of length ``n``."""
    if padding == "valid":
        return (0, 0)
    if padding == "causal":
        return (span - 1, 0)
    if stride == 1:
        total = span - 1
    elif isinstance(n, int):
        total = max((-(-n // stride) - 1) * stride + span - n, 0)
    else:
        raise TdcError(
            f"{what} with padding 'same' and strides > 1 needs static spatial dims, "
            f"got length {n!r}"
        )
    return (total // 2, total - total // 2)


def out_dim(n: Dim, span: int, stride: int, pads: tuple[int, int]) -> Dim:
    """Output length of one axis; a symbolic expression when ``n`` is symbolic."""
    delta = pads[0] + pads[1] - span
    if isinstance(n, int):
        return (n + delta) // stride + 1
    if stride == 1:
        return n if delta == -1 else f"{n}{delta + 1:+d}"
    return f"({n}{delta:+d})//{stride}+1"


def plan_window(
    x: Value,
    taps: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
    padding: str,
    what: str,
) -> Window:
    """The window of ``what`` over ``x`` (N, *S, C); refuses windows larger than the input."""
    check_rank(x, (len(taps) + 2,), what)
    win = Window(tuple(taps), tuple(strides), tuple(dilation), (), ())
    pads = tuple(
        pad_pair(n, span, s, padding, what)
        for n, span, s in zip(x.shape[1:-1], win.span, strides, strict=True)
    )
    spatial = x.shape[1:-1]
    for n, span, (b, e) in zip(spatial, win.span, pads, strict=True):
        if isinstance(n, int) and n + b + e < span:
            raise TdcError(
                f"{what}: window {win.span} (dilation included) is larger than the spatial "
                f"dims {shape_str(spatial)} of input {shape_str(x.shape)} with padding '{padding}'",
                accepted="a window no larger than the (padded) input, e.g. padding: same or a "
                "smaller kernel_size / pool_size / dilation_rate",
            )
    out = tuple(out_dim(*a) for a in zip(spatial, win.span, strides, pads, strict=True))
    return Window(win.taps, win.strides, win.dilation, pads, out)


def spatial_size(dims: tuple[Dim, ...]) -> int:
    """Product of ``dims`` with every symbolic dim set to 1."""
    return math.prod(d if isinstance(d, int) else 1 for d in dims)


def to_channels_first(rank: int) -> list[int]:
    return [0, rank + 1, *range(1, rank + 1)]


def to_channels_last(rank: int) -> list[int]:
    return [0, *range(2, rank + 2), 1]


# -- Conv1D / Conv2D -------------------------------------------------------------------------


def conv_params(rank: int) -> dict[str, Param]:
    """Keras's constructor arguments of a ``rank``-D convolution."""
    paddings = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
    return {
        "filters": Param(REQUIRED, integer(lo=1)),
        "kernel_size": Param(REQUIRED, int_tuple(rank)),
        "strides": Param((1,) * rank, int_tuple(rank)),
        "padding": Param("valid", choice(*paddings)),
        "data_format": Param(None, optional(choice("channels_last"))),
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
        return {
            **win.numpy_context(),
            **win.np_zero_pad(),
            "index": win.np_index(),
            "what": what,
            "use_bias": "bias" in node.weights,
            "ret": numpy_fused_in_place(node),
            "tile_bias": kernel.shape[-1] < 64,
            "groups": groups,
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
