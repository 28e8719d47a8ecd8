"""Window geometry of convolutions and pooling over channels_last tensors.

``plan_window`` turns a kernel or pool size, strides, dilation and Keras padding ('valid',
'same', 'causal') into a ``Window``: the explicit (begin, end) pads and output dims per
spatial axis, plus the attributes and NumPy source fragments the backends need. 'same'
puts the odd extra pad at the end, as Keras (TF) does; 'causal' pads the start only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import TdcError
from ..ir.graph import Dim, Value, check_rank, shape_str

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
        return np_zero_pad(self.pads)

    def describe(self) -> str:
        size = "x".join(str(k) for k in self.taps)
        extra = f", strides {self.strides}" if any(s > 1 for s in self.strides) else ""
        if any(d > 1 for d in self.dilation):
            extra += f", dilation {self.dilation}"
        padded = any(b or e for b, e in self.pads)
        return f"{size} window{extra}" + (f", pads {self.pads}" if padded else "")


def np_zero_pad(pads: tuple[tuple[int, int], ...]) -> dict[str, str]:
    """Shape of ``x`` (N, *S, C) zero-padded by ``pads`` (begin, end) on each spatial axis,
    and the index of ``x`` inside it (NumPy source)."""
    dims, index = ["x.shape[0]"], [":"]
    for i, (b, e) in enumerate(pads, start=1):
        dims.append(f"x.shape[{i}] + {b + e}" if b + e else f"x.shape[{i}]")
        index.append(f"{b}:{b} + x.shape[{i}]" if b + e else ":")
    return {"padded": f"({', '.join(dims)}, x.shape[-1])", "interior": ", ".join(index)}


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
    padding: str | tuple[tuple[int, int], ...],
    what: str,
) -> Window:
    """The window of ``what`` over ``x`` (N, *S, C); refuses windows larger than the input.
    ``padding``: Keras's ('valid', 'same', 'causal') or explicit (begin, end) per axis."""
    check_rank(x, (len(taps) + 2,), what)
    win = Window(tuple(taps), tuple(strides), tuple(dilation), (), ())
    if not isinstance(padding, str):  # explicit (begin, end) pairs (passes/fuse_pad.py)
        pads = tuple((int(b), int(e)) for b, e in padding)
    else:
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
