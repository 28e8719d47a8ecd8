"""Template context of the ConvLSTM ops (``templates/ops/conv_lstm.py.j2``).

The input convolution of every frame is one im2col GEMM on the folded (N*T, *S, C)
frames; the recurrent convolution (stride 1, padding 'same') is an im2col GEMM per step
on the state written into a zero-padded buffer allocated once.
"""

from __future__ import annotations

import math
from typing import Any

from ..ir.graph import Node
from .activation_forms import numpy_call
from .window import Window


def _perm(rank: int) -> str:
    """A window view (N, *S', C, *k) -> (N, *S', *k, C): rows in the kernel's order."""
    lead = rank + 1
    return str((*range(lead), *range(lead + 1, lead + 1 + rank), lead))


def _state_pad(win: Window, out: tuple[int, ...], filters: int) -> dict[str, str]:
    """The zero-padded state buffer's shape and the index of the state inside it."""
    dims = ["n"] + [str(n + b + e) for n, (b, e) in zip(out, win.pads, strict=True)]
    index = [":"] + [f"{b}:{b + n}" for n, (b, _) in zip(out, win.pads, strict=True)]
    return {"state_padded": f"({', '.join(dims)}, {filters})", "state_interior": ", ".join(index)}


def _gates(node: Node, f: int) -> dict[str, str]:
    """The activated gates of the step's ``z`` (Keras order i, f, c, o on the last axis)."""
    act, rec = node.attrs["act"], node.attrs["recurrent_act"]
    block = [f"z[..., {k * f}:{(k + 1) * f}]" for k in range(4)]
    kinds = (rec, rec, act, rec)
    names = ("gate_i", "gate_f", "cell_in", "gate_o")
    out = {n: numpy_call(k, {}, b) for n, k, b in zip(names, kinds, block, strict=True)}
    out["cell_out"] = numpy_call(act, {}, "c_new")
    return out


def numpy_context(
    node: Node, win: Window, rwin: Window, masked: bool, initial: bool
) -> dict[str, Any]:
    """The template variables of one ConvLSTM node."""
    a, kernel = node.attrs, node.weights["kernel"]
    rank, f = len(win.taps), a["filters"]
    out = tuple(int(d) for d in win.out)
    kinds = {a["act"], a["recurrent_act"]} - {"linear"}
    return {
        "rank": rank,
        "filters": f,
        "width": 4 * f,
        "frame_shape": str(tuple(node.inputs[0].shape[2:])),
        "out_shape_state": str((*out, f)),
        "out_shape_gates": str((*out, 4 * f)),
        **win.numpy_context(),
        **win.np_zero_pad(),
        "index": win.np_index(),
        "perm": _perm(rank),
        "depth": int(math.prod(kernel.shape[:-1])),
        "rwindow": str(rwin.span),
        "rdepth": int(math.prod(node.weights["recurrent_kernel"].shape[:-1])),
        **_state_pad(rwin, out, f),
        "what": f"input conv {win.describe()}; recurrent conv {rwin.describe()}",
        "use_bias": "bias" in node.weights,
        "return_sequences": a["return_sequences"],
        "go_backwards": a["go_backwards"],
        "masked": masked,
        "initial": initial,
        "return_state": bool(a.get("return_state")),
        "keep_shape": "(n," + " 1," * (rank + 1) + ")",
        "helpers": tuple(sorted(kinds)),
        **_gates(node, f),
    }
