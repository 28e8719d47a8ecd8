"""Spatial reshaping: UpSampling, ZeroPadding and Cropping in 1D/2D/3D (channels_last).

IR ops here: ``upsample`` (attrs ``size`` per spatial axis, ``interpolation`` nearest |
bilinear), ``zero_pad`` and ``crop`` (attrs ``pads`` / ``crops``: one ``(begin, end)`` pair
per spatial axis). Keras's bilinear up-sampling is ``jax.image.resize`` without
antialiasing: half-pixel centres, edge samples clamped (ONNX Resize ``linear`` with
``half_pixel``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..frontend.params import Param, choice, int_tuple, optional
from ..ir.graph import Dim, Node, Shape, Value, check_rank, dim_mul, shape_str
from ..ir.registry import OpDef, register
from .conv import spatial_size, to_channels_first, to_channels_last
from .window import np_zero_pad

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.lowering import Builder, LayerSpec

Pairs = tuple[tuple[int, int], ...]
_FORMAT = Param(None, optional(choice("channels_last", any_case=True)))
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")


def _is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def pairs(rank: int) -> Any:
    """Keras's padding/cropping forms: an int, one int per axis (2D) or a (begin, end)
    pair (1D), or one pair per axis; normalised to one (begin, end) pair per axis."""

    def check(v: Any) -> Pairs:
        if _is_count(v):
            return ((v, v),) * rank
        seq = isinstance(v, list | tuple) and len(v) == 2
        if seq and rank == 1 and all(_is_count(x) for x in v):
            return ((v[0], v[1]),)
        ok = isinstance(v, list | tuple) and len(v) == rank
        if ok and rank > 1 and all(_is_count(x) for x in v):
            return tuple((x, x) for x in v)
        if rank > 1 and ok and all(isinstance(p, list | tuple) and len(p) == 2 for p in v):
            if all(_is_count(x) for p in v for x in p):
                return tuple((p[0], p[1]) for p in v)
        forms = "an integer >= 0 or a (begin, end) pair"
        if rank > 1:
            forms = f"an integer >= 0, {rank} such integers, or {rank} (begin, end) pairs"
        raise ValueError(forms)

    return check


def _grow(n: Dim, delta: int) -> Dim:
    if isinstance(n, int):
        return n + delta
    return n if delta == 0 else f"{n}{delta:+d}"


class _Spatial(OpDef):
    """A Keras layer over the ``rank`` spatial axes of (N, *S, C), lowering to ``ir_op``."""

    mask_flow = "drop"
    rank = 0
    ir_op = ""
    key = ""

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        check_rank(inputs[0], (self.rank + 2,), self.name)
        return b.emit(self.ir_op, inputs, {self.key: self.convert(spec.attrs, inputs[0])})

    def convert(self, attrs: dict[str, Any], x: Value) -> Any:
        raise NotImplementedError


# -- ZeroPadding / Cropping ------------------------------------------------------------------


class _ZeroPadding(_Spatial):
    ir_op, key = "zero_pad", "pads"

    def convert(self, attrs: dict[str, Any], x: Value) -> Any:
        return attrs["padding"]


class _Cropping(_Spatial):
    ir_op, key = "crop", "crops"

    def convert(self, attrs: dict[str, Any], x: Value) -> Any:
        crops = attrs["cropping"]
        for n, (b, e) in zip(x.shape[1:-1], crops, strict=True):
            if isinstance(n, int) and b + e >= n:
                raise TdcError(
                    f"{self.name}: cropping {crops} leaves nothing of input {shape_str(x.shape)}"
                )
        return crops


@register("zero_pad")
class ZeroPad(OpDef):
    """Zeros before and after each spatial axis."""

    stream = "time"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, pads = node.inputs[0], node.attrs["pads"]
        dims = [_grow(n, b + e) for n, (b, e) in zip(x.shape[1:-1], pads, strict=True)]
        return [((x.shape[0], *dims, x.shape[-1]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        pads = node.attrs["pads"]
        widths = [0, *(b for b, _ in pads), 0, 0, *(e for _, e in pads), 0]
        g.set(node, g.op("Pad", [g[node.inputs[0]], g.ints(widths, "pads")], mode="constant"))

    def numpy(self, node: Node) -> dict[str, Any]:
        return {"what": f"zero padding {node.attrs['pads']}", **np_zero_pad(node.attrs["pads"])}


@register("crop")
class Crop(OpDef):
    """Drop ``begin`` and ``end`` elements of each spatial axis."""

    stream = "time"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, crops = node.inputs[0], node.attrs["crops"]
        dims = [_grow(n, -(b + e)) for n, (b, e) in zip(x.shape[1:-1], crops, strict=True)]
        return [((x.shape[0], *dims, x.shape[-1]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        crops = node.attrs["crops"]
        starts = [b for b, _ in crops]
        ends = [-e if e else 2**62 for _, e in crops]
        axes = list(range(1, len(crops) + 1))
        ins = [g[node.inputs[0]], g.ints(starts, "starts"), g.ints(ends, "ends"), g.ints(axes)]
        g.set(node, g.op("Slice", ins))

    def numpy(self, node: Node) -> dict[str, Any]:
        crops = node.attrs["crops"]
        index = ", ".join([":", *(f"{b}:{-e if e else ''}" for b, e in crops)])
        return {"what": f"cropping {crops}", "index": index}


# -- UpSampling ------------------------------------------------------------------------------


class _UpSampling(_Spatial):
    ir_op, key = "upsample", "size"

    def check_attrs(self, attrs: dict[str, Any]) -> None:
        kind = attrs.get("interpolation", "nearest")
        if kind not in ("nearest", "bilinear"):
            raise ValueError(
                f"interpolation '{kind}' is not supported (only 'nearest' and 'bilinear')"
            )

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        check_rank(inputs[0], (self.rank + 2,), self.name)
        kind = spec.attrs.get("interpolation", "nearest")
        spatial = inputs[0].shape[1:-1]
        if kind == "bilinear" and not all(isinstance(n, int) for n in spatial):
            raise TdcError(
                f"{self.name} with bilinear interpolation needs static spatial dims, "
                f"got {shape_str(inputs[0].shape)}"
            )
        attrs = {"size": spec.attrs["size"], "interpolation": kind}
        return b.emit("upsample", inputs, attrs)


def _bilinear_axis(n: int, s: int) -> tuple[list[int], list[int], list[float]]:
    """Source indices and weight of the upper one for each output of an axis scaled by s."""
    lo, hi, frac = [], [], []
    for o in range(n * s):
        src = min(max((o + 0.5) / s - 0.5, 0.0), n - 1.0)
        i = math.floor(src)
        lo.append(i)
        hi.append(min(i + 1, n - 1))
        frac.append(src - i)
    return lo, hi, frac


@register("upsample")
class UpSample(OpDef):
    """Repeat (nearest) or linearly interpolate (bilinear) each spatial axis by ``size``."""

    stream = "time"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, size = node.inputs[0], node.attrs["size"]
        dims = [dim_mul(n, s) for n, s in zip(x.shape[1:-1], size, strict=True)]
        return [((x.shape[0], *dims, x.shape[-1]), x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x, size = g[node.inputs[0]], node.attrs["size"]
        r = len(size)
        if node.attrs["interpolation"] == "nearest":
            scales = g.const([1.0, *size, 1.0], "scales")
            y = g.op(
                "Resize",
                [x, "", scales],
                mode="nearest",
                coordinate_transformation_mode="asymmetric",
                nearest_mode="floor",
            )
            g.set(node, y)
            return
        scales = g.const([1.0, 1.0, *size], "scales")
        x = g.op("Transpose", [x], perm=to_channels_first(r))
        y = g.op(
            "Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="half_pixel"
        )
        g.set(node, g.op("Transpose", [y], perm=to_channels_last(r)))

    def numpy(self, node: Node) -> dict[str, Any]:
        x, size = node.inputs[0], node.attrs["size"]
        kind = node.attrs["interpolation"]
        axes = []
        for k, (n, s) in enumerate(zip(x.shape[1:-1], size, strict=True), start=1):
            entry = {"axis": k, "size": s}
            if kind == "bilinear":
                assert isinstance(n, int)
                lo, hi, frac = _bilinear_axis(n, s)
                shape = (-1,) + (1,) * (x.rank - 1 - k)
                entry |= {"lo": str(lo), "hi": str(hi), "frac": str(frac), "shape": str(shape)}
            axes.append(entry)
        return {"what": f"{kind} up-sampling by {tuple(size)}", "kind": kind, "ups": axes}

    def flops(self, node: Node) -> int:
        if node.attrs["interpolation"] == "nearest":
            return 0
        return 3 * len(node.attrs["size"]) * spatial_size(node.output.shape[1:])


def _layer_params(name: str, rank: int) -> dict[str, Param]:
    """Keras's constructor arguments of the ``rank``-D layer ``name``."""
    fmt = {"data_format": _FORMAT} if rank > 1 else {}
    if name == "ZeroPadding":
        return {"padding": Param(((1, 1),) * rank, pairs(rank)), **fmt}
    if name == "Cropping":
        default = ((0, 0),) * rank if rank == 2 else ((1, 1),) * rank
        return {"cropping": Param(default, pairs(rank)), **fmt}
    if rank != 2:
        return {"size": Param((2,) * rank, int_tuple(rank)), **fmt}
    kinds = Param("nearest", choice(*_INTERPOLATIONS, any_case=True))
    return {"size": Param((2, 2), int_tuple(2)), **fmt, "interpolation": kinds}


def _register_all() -> None:
    bases = {"ZeroPadding": _ZeroPadding, "Cropping": _Cropping, "UpSampling": _UpSampling}
    for stem, base in bases.items():
        for rank in (1, 2, 3):
            name = f"{stem}{rank}D"
            attrs = {"rank": rank, "params": _layer_params(stem, rank)}
            register(name)(type(name, (base,), attrs))


_register_all()
