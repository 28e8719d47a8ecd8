"""Resizing and CenterCrop: image resizing as the JAX backend computes it
(``jax.image.resize``).

The IR op ``resize`` takes an (N, H, W, C) value, pads H or W with ``fill`` first
(``pads``: Resizing's ``pad_to_aspect_ratio``), then resamples each axis whose size
changes: ``nearest`` picks rows (``rows``/``cols`` attrs: source indices), the other
methods multiply by the (out, in) weight matrix JAX builds for the axis (weights ``rows``
and ``cols``), so both backends do what JAX's einsum does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import REQUIRED, Param, boolean, choice, integer, number, optional
from ..ir.graph import Node, Shape, shape_str
from ..ir.registry import OpDef, register

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

#: Keras's interpolation names on the JAX backend -> (kernel radius, kernel).
_KERNELS: dict[str, tuple[int, Callable[[np.ndarray], np.ndarray]]] = {}


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x: np.ndarray) -> np.ndarray:
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius: float) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(x: np.ndarray) -> np.ndarray:
        y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
        safe = np.where(x != 0, np.pi**2 * x**2, 1.0)
        out = np.where(x > 1e-3, y / safe, 1.0)
        return np.where(x > radius, 0.0, out)

    return kernel


_KERNELS.update(
    {
        "bilinear": (1, _triangle),
        "bicubic": (2, _keys_cubic),
        "lanczos3": (3, _lanczos(3.0)),
        "lanczos5": (5, _lanczos(5.0)),
    }
)
#: Every interpolation the JAX backend's ``image.resize`` takes.
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def weight_matrix(size_in: int, size_out: int, method: str, antialias: bool) -> np.ndarray:
    """JAX's ``compute_weight_mat`` for a resize (no translation), as (out, in) float32."""
    kernel = _KERNELS[method][1]
    inv_scale = size_in / size_out
    kernel_scale = max(inv_scale, 1.0) if antialias else 1.0
    sample = (np.arange(size_out) + 0.5) * inv_scale - 0.5
    x = np.abs(sample[np.newaxis, :] - np.arange(size_in)[:, np.newaxis]) / kernel_scale
    weights = kernel(x)
    total = np.sum(weights, axis=0, keepdims=True)
    eps = 1000.0 * float(np.finfo(np.float32).eps)
    weights = np.where(np.abs(total) > eps, weights / np.where(total != 0, total, 1.0), 0.0)
    inside = (sample >= -0.5) & (sample <= size_in - 0.5)
    weights = np.where(inside[np.newaxis, :], weights, 0.0)
    return np.ascontiguousarray(weights.T, dtype=np.float32)


def nearest_indices(size_in: int, size_out: int) -> tuple[int, ...]:
    """JAX's nearest source row for each output row: floor((i + 0.5) * in / out) in float32."""
    f = np.float32
    pos = (np.arange(size_out, dtype=f) + f(0.5)) * f(size_in) / f(size_out)
    return tuple(int(i) for i in np.floor(pos).astype(np.int64))


def aspect_box(height: int, width: int, target_h: int, target_w: int) -> tuple[int, int]:
    """Keras's crop (or pad) size for the target's aspect ratio: (rows, cols)."""
    rows = int(float(width * target_h) / target_w)
    cols = int(float(height * target_w) / target_h)
    return rows, cols


def resample_plan(
    size_in: tuple[int, int], size_out: tuple[int, int], method: str, antialias: bool
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Attrs and weights of ``resize`` taking spatial size ``size_in`` to ``size_out``."""
    attrs: dict[str, Any] = {"method": method, "size": tuple(size_out)}
    weights: dict[str, np.ndarray] = {}
    for key, n_in, n_out in zip(("rows", "cols"), size_in, size_out, strict=True):
        if n_in == n_out:  # JAX leaves an axis of unchanged size alone
            continue
        if method == "nearest":
            attrs[key] = nearest_indices(n_in, n_out)
        else:
            weights[key] = weight_matrix(n_in, n_out, method, antialias)
    return attrs, weights


@register("resize")
class Resize(OpDef):
    """Pad (``pads`` ((top, bottom), (left, right)) with ``fill``), then resample H and W."""

    stream = "time"

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        h, w = node.attrs["size"]
        return [((x.shape[0], h, w, x.shape[3]), "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        x, a = g[node.inputs[0]], node.attrs
        pads = a.get("pads")
        if pads:
            (t, b), (left, r) = pads
            widths = g.ints([0, t, left, 0, 0, b, r, 0], "pads")
            x = g.op("Pad", [x, widths, g.const(a["fill"], "fill")], mode="constant")
        if "cols" in node.weights:  # (Wo, W) @ (N, H, W, C) -> (N, H, Wo, C)
            x = g.op("MatMul", [g.const(node.weights["cols"], "cols"), x])
        elif "cols" in a:
            x = g.op("Gather", [x, g.ints(a["cols"], "cols")], axis=2)
        if "rows" in node.weights:  # through (N, W, H, C): (Ho, H) @ -> (N, W, Ho, C)
            x = g.op("Transpose", [x], perm=[0, 2, 1, 3])
            x = g.op("MatMul", [g.const(node.weights["rows"], "rows"), x])
            x = g.op("Transpose", [x], perm=[0, 2, 1, 3])
        elif "rows" in a:
            x = g.op("Gather", [x, g.ints(a["rows"], "rows")], axis=1)
        g.set(node, g.op("Identity", [x]) if x == g[node.inputs[0]] else x)

    def numpy(self, node: Node) -> dict[str, Any]:
        a = node.attrs
        pads = a.get("pads")
        return {
            "what": f"{a['method']} resize to {tuple(a['size'])}",
            "pads": str(((0, 0), *pads, (0, 0))) if pads else "",
            "fill": repr(float(a.get("fill", 0.0))),
            "cols_matrix": "cols" in node.weights,
            "rows_matrix": "rows" in node.weights,
            "cols_index": str(list(a["cols"])) if "cols" in a else "",
            "rows_index": str(list(a["rows"])) if "rows" in a else "",
        }

    def flops(self, node: Node) -> int:
        h, w = node.attrs["size"]
        c = node.inputs[0].shape[3]
        per = h * w * (c if isinstance(c, int) else 1)
        taps = sum(int(m.shape[1]) for m in node.weights.values())
        return 2 * per * max(taps, 1) if node.weights else 0


_FORMAT = Param(None, optional(choice("channels_last", any_case=True)))


def _image(x: Value, what: str) -> tuple[int, int]:
    """(H, W) of an (N, H, W, C) float32 input with static H and W."""
    if x.rank != 4:
        raise TdcError(
            f"{what} expects an (batch, height, width, channels) input, got {shape_str(x.shape)}"
        )
    if x.dtype != "float32":
        raise TdcError(f"{what} takes a float32 input, got {x.dtype}")
    h, w = x.shape[1], x.shape[2]
    if not isinstance(h, int) or not isinstance(w, int):
        raise TdcError(f"{what} needs a static height and width, got {shape_str(x.shape)}")
    return h, w


def crop_to_aspect(b: Builder, x: Value, size: tuple[int, int]) -> Value:
    """Keras's centred crop of ``x`` to the aspect ratio of ``size`` (nothing if it has it)."""
    h, w = x.shape[1], x.shape[2]
    rows, cols = aspect_box(h, w, *size)
    rows, cols = max(min(h, rows), 1), max(min(w, cols), 1)
    top, left = int(float(h - rows) / 2), int(float(w - cols) / 2)
    crops = ((top, h - rows - top), (left, w - cols - left))
    if crops == ((0, 0), (0, 0)):
        return x
    return b.emit("crop", [x], {"crops": crops})[0]


def _pad_to_aspect(x: Value, size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's padding for the aspect ratio: the same on both sides of H, else of W."""
    h, w = x.shape[1], x.shape[2]
    rows, cols = aspect_box(h, w, *size)
    top, left = int(float(max(h, rows) - h) / 2), int(float(max(w, cols) - w) / 2)
    if top > 0:
        return ((top, top), (0, 0))
    return ((0, 0), (left, left))


def _refuse_interpolation(v: Any) -> str:
    if v in ("area", "gaussian", "mitchellcubic", "lanczos"):
        raise ValueError(
            f"one of {', '.join(INTERPOLATIONS)} ({v!r} is not available on Keras's JAX backend)"
        )
    return choice(*INTERPOLATIONS)(v)


@register("Resizing")
class Resizing(OpDef):
    """Resize images to (height, width) like ``keras.ops.image.resize`` on JAX."""

    mask_flow = "drop"
    params = {
        "height": Param(REQUIRED, integer(lo=1, hi=2**16)),
        "width": Param(REQUIRED, integer(lo=1, hi=2**16)),
        "interpolation": Param("bilinear", _refuse_interpolation),
        "crop_to_aspect_ratio": Param(False, boolean),
        "pad_to_aspect_ratio": Param(False, boolean),
        "fill_mode": Param("constant", choice("constant")),
        "fill_value": Param(0.0, number()),
        "antialias": Param(False, boolean),
        "data_format": _FORMAT,
    }

    def check_attrs(self, attrs: dict[str, Any]) -> None:
        if attrs["crop_to_aspect_ratio"] and attrs["pad_to_aspect_ratio"]:
            raise ValueError("only one of crop_to_aspect_ratio and pad_to_aspect_ratio may be true")

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a, x = spec.attrs, inputs[0]
        _image(x, "Resizing")
        size = (a["height"], a["width"])
        extra: dict[str, Any] = {}
        if a["crop_to_aspect_ratio"]:
            x = crop_to_aspect(b, x, size)
        elif a["pad_to_aspect_ratio"]:
            pads = _pad_to_aspect(x, size)
            if pads != ((0, 0), (0, 0)):
                extra = {"pads": pads, "fill": float(a["fill_value"])}
        h = x.shape[1] + sum(extra.get("pads", ((0, 0), (0, 0)))[0])
        w = x.shape[2] + sum(extra.get("pads", ((0, 0), (0, 0)))[1])
        attrs, weights = resample_plan((h, w), size, a["interpolation"], a["antialias"])
        return b.emit("resize", [x], {**attrs, **extra}, weights)


@register("CenterCrop")
class CenterCrop(OpDef):
    """The centred (height, width) window; a smaller input is cropped to the target's aspect
    ratio and resized up (bilinear), as Keras's ``smart_resize``."""

    mask_flow = "drop"
    params = {
        "height": Param(REQUIRED, integer(lo=1, hi=2**16)),
        "width": Param(REQUIRED, integer(lo=1, hi=2**16)),
        "data_format": _FORMAT,
    }

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        x = inputs[0]
        h, w = _image(x, "CenterCrop")
        size = (spec.attrs["height"], spec.attrs["width"])
        if h >= size[0] and w >= size[1]:
            top, left = (h - size[0]) // 2, (w - size[1]) // 2
            crops = ((top, h - size[0] - top), (left, w - size[1] - left))
            if crops == ((0, 0), (0, 0)):
                return b.emit("identity", inputs)
            return b.emit("crop", inputs, {"crops": crops})
        x = crop_to_aspect(b, x, size)
        attrs, weights = resample_plan((x.shape[1], x.shape[2]), size, "bilinear", False)
        return b.emit("resize", [x], attrs, weights)
