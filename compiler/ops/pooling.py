"""Pooling: Max/AveragePooling1D/2D/3D and the global poolings (channels_last).

IR ops here: ``pool`` (attrs ``mode`` max|avg, ``pool_size``, ``strides``, ``padding``) and
``global_pool`` (attrs ``mode``, ``axes``, ``keepdims``). Keras's 'same' average pooling
divides by the number of valid (unpadded) elements of each window, as ONNX
AveragePool does with ``count_include_pad=0``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..frontend.params import REQUIRED, Param, boolean, choice, int_tuple, optional
from ..ir.graph import Node, Shape, Value, check_rank
from ..ir.registry import OpDef, register
from .conv import Window, plan_window, spatial_size, to_channels_first, to_channels_last
from .embedding import masked_global_average

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.lowering import Builder, LayerSpec

_FORMAT = Param(None, optional(choice("channels_last", any_case=True)))
_PADDING = Param("valid", choice("valid", "same"))  # Keras pooling: exact, unlike Conv


def pool_params(rank: int, default_size: tuple[int, ...] | None) -> dict[str, Param]:
    """Keras's constructor arguments of a ``rank``-D max or average pooling."""
    return {
        "pool_size": Param(REQUIRED if default_size is None else default_size, int_tuple(rank)),
        "strides": Param(None, optional(int_tuple(rank))),
        "padding": _PADDING,
        "data_format": _FORMAT,
    }


class _Pooling(OpDef):
    """A Keras pooling layer: lowers to one ``pool`` node."""

    mask_flow = "drop"
    rank = 0
    mode = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        check_rank(inputs[0], (self.rank + 2,), self.name)
        attrs = {
            "mode": self.mode,
            "pool_size": a["pool_size"],
            "strides": a["strides"] or a["pool_size"],
            "padding": a["padding"],
        }
        return b.emit("pool", inputs, attrs)


def _window(node: Node) -> Window:
    a = node.attrs
    ones = (1,) * len(a["pool_size"])
    what = ("MaxPooling" if a["mode"] == "max" else "AveragePooling") + f"{len(ones)}D"
    return plan_window(node.inputs[0], a["pool_size"], a["strides"], ones, a["padding"], what)


def _fold_axis(src: str, axis: int, win: Window, func: str) -> list[str]:
    """Statements setting ``y`` to ``src`` reduced over spatial ``axis``: one ufunc call per
    tap, each on a strided slice of ``src``.

    Each call reads whole rows of the axes after ``axis`` at once, so the work is a few
    large elementwise operations (no reduction over a short window axis, no Python loop
    over positions). A symbolic output length is computed at run time.
    """
    taps, stride, out = win.taps[axis - 1], win.strides[axis - 1], win.out[axis - 1]
    lines = []
    if not isinstance(out, int):
        lines.append(f"o{axis} = ({src}.shape[{axis}] - {taps}) // {stride} + 1")
    step = f":{stride}" if stride > 1 else ""

    def index(i: int) -> str:
        if isinstance(out, int):
            stop = str(i + stride * (out - 1) + 1)
        else:
            stop = f"{i} + {stride} * (o{axis} - 1) + 1" if stride > 1 else f"{i} + o{axis}"
        return f"{src}[{':, ' * axis}{i}:{stop}{step}]"

    if taps == 1:
        return [*lines, f"y = {index(0)}"]
    lines.append(f"y = {func}({index(0)}, {index(1)})")
    return lines + [f"{func}(y, {index(i)}, out=y)" for i in range(2, taps)]


def _fold(win: Window, mode: str) -> list[str]:
    """Statements pooling ``x`` into ``y`` axis by axis (a separable max or sum)."""
    func = "np.maximum" if mode == "max" else "np.add"
    lines: list[str] = []
    for axis in range(1, win.rank + 1):
        if win.taps[axis - 1] == 1 and win.strides[axis - 1] == 1:
            continue
        src = "y" if lines else "x"
        if src == "y" and win.taps[axis - 1] > 2:  # accumulates into a new y
            lines.append("a = y")
            src = "a"
        lines += _fold_axis(src, axis, win, func)
    return lines or ["y = x"]


@register("pool")
class Pool(OpDef):
    """Max or average over sliding windows of the spatial axes of (N, *S, C)."""

    stream = "time"
    stream_why = "pools along the time axis"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        return [((x.shape[0], *_window(node).out, x.shape[-1]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        win = _window(node)
        op = "MaxPool" if node.attrs["mode"] == "max" else "AveragePool"
        x = g.op("Transpose", [g[node.inputs[0]]], perm=to_channels_first(win.rank))
        y = g.op(op, [x], **win.onnx_attrs())
        g.set(node, g.op("Transpose", [y], perm=to_channels_last(win.rank)))

    def numpy(self, node: Node) -> dict[str, Any]:
        win, mode = _window(node), node.attrs["mode"]
        kind = "max" if mode == "max" else "average"
        count = mode == "avg" and bool(win.np_pads())
        size = math.prod(win.taps)
        return {
            **win.numpy_context(),
            "what": f"{kind} pooling {win.describe()}",
            "mode": mode,
            "steps": _fold(win, mode),
            "divide": size if mode == "avg" and not count and size > 1 else None,
            "win_axes": str(tuple(range(-win.rank, 0))),
            "count": count,
            "spatial_pads": str(win.pads),
            "count_index": win.np_index(batch=False),
        }

    def flops(self, node: Node) -> int:
        taps = 1
        for k in node.attrs["pool_size"]:
            taps *= k
        return spatial_size(node.output.shape[1:]) * taps


@register("global_pool")
class GlobalPool(OpDef):
    """Max or mean over the spatial axes ``attrs['axes']``, optionally keeping them as 1."""

    stream = "time"
    stream_why = "pools over the time axis"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, axes = node.inputs[0], node.attrs["axes"]
        keep = node.attrs["keepdims"]
        dims = [1 if i in axes else d for i, d in enumerate(x.shape) if keep or i not in axes]
        return [(tuple(dims), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        op = "ReduceMax" if node.attrs["mode"] == "max" else "ReduceMean"
        keep = int(node.attrs["keepdims"])
        g.set(node, g.op(op, [g[node.inputs[0]]], axes=list(node.attrs["axes"]), keepdims=keep))

    def numpy(self, node: Node) -> dict[str, Any]:
        mode = node.attrs["mode"]
        return {
            "what": ("max" if mode == "max" else "mean") + f" over axes {node.attrs['axes']}",
            "reduce": "max" if mode == "max" else "mean",
            "axes": str(node.attrs["axes"]),
            "keepdims": node.attrs["keepdims"],
        }

    def flops(self, node: Node) -> int:
        return spatial_size(node.inputs[0].shape[1:])


class _GlobalPooling(OpDef):
    """A Keras global pooling layer: lowers to one ``global_pool`` node."""

    mask_flow = "drop"  # GlobalAveragePooling1D reads the mask, no pooling passes it on
    rank = 0
    mode = ""
    params = {"data_format": _FORMAT, "keepdims": Param(False, boolean)}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        check_rank(inputs[0], (self.rank + 2,), self.name)
        if self.name == "GlobalAveragePooling1D":  # Keras averages the unmasked steps only
            masked = masked_global_average(b, inputs[0], spec.attrs["keepdims"])
            if masked is not None:
                return masked
        attrs = {
            "mode": self.mode,
            "axes": tuple(range(1, self.rank + 1)),
            "keepdims": spec.attrs["keepdims"],
        }
        return b.emit("global_pool", inputs, attrs)


def _register_all() -> None:
    """One Keras class per mode and rank."""
    for rank in (1, 2):
        for mode, stem, size in (
            ("max", "MaxPooling", (2,) * rank),
            ("avg", "AveragePooling", None),
        ):
            name = f"{stem}{rank}D"
            attrs = {"rank": rank, "mode": mode, "params": pool_params(rank, size)}
            register(name)(type(name, (_Pooling,), attrs))
        for mode, stem in (("max", "GlobalMaxPooling"), ("avg", "GlobalAveragePooling")):
            name = f"{stem}{rank}D"
            register(name)(type(name, (_GlobalPooling,), {"rank": rank, "mode": mode}))


_register_all()


def _register_3d() -> None:
    """The 3D poolings over (N, D, H, W, C): volumes, or video under TimeDistributed."""
    for mode, stem, size in (("max", "MaxPooling", (2, 2, 2)), ("avg", "AveragePooling", None)):
        name = f"{stem}3D"
        attrs = {"rank": 3, "mode": mode, "params": pool_params(3, size)}
        register(name)(type(name, (_Pooling,), attrs))
    for mode, stem in (("max", "GlobalMaxPooling"), ("avg", "GlobalAveragePooling")):
        name = f"{stem}3D"
        register(name)(type(name, (_GlobalPooling,), {"rank": 3, "mode": mode}))


_register_3d()
