"""Bidirectional: two recurrent nodes (forward, backward) and a merge of their outputs.

Keras 3 semantics: the forward layer is a copy of the wrapped one, the backward layer a
copy with ``go_backwards: true``; with ``return_sequences`` the backward output (in
processing order) is flipped back along time, then both are merged (``concat`` on the
last axis, ``sum``, ``mul`` or ``ave``). On a masked input the wrapped RNNs read the mask
themselves; with ``return_sequences`` Keras forces ``zero_output_for_mask``, so the merged
sequence is zeroed at masked steps (``mask_apply``; every merge of zeros is zero).
Weights are keyed ``<layer>/forward/<var>`` and ``<layer>/backward/<var>``; the recurrent
nodes keep the RNN op's own weight names.

IR ops added here: ``reverse_time`` (flip axis 1) and ``bidi_merge`` (attr ``mode``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, cast

from ..errors import TdcError
from ..ir import Node, Shape, check_rank, shape_str, static_size
from ..params import Param
from ..registry import OpDef, WeightSpec, get_op, register
from .activations import apply_fused

if TYPE_CHECKING:
    import numpy as np

    from ..backends.onnx import OnnxBuilder
    from ..ir import Value
    from ..lowering import Builder, LayerSpec

#: The layers Bidirectional can wrap.
WRAPPABLE = ("SimpleRNN", "LSTM", "GRU")
MERGE_MODES = ("concat", "sum", "mul", "ave")
INT64_MIN = -(2**63)


def merge_mode(v: Any) -> str:
    if v is None:
        raise ValueError(
            ", ".join(MERGE_MODES) + " (null, which returns the two directions as two "
            "separate outputs, is not supported)"
        )
    if not isinstance(v, str) or v.lower() not in MERGE_MODES:
        raise ValueError(", ".join(MERGE_MODES))
    return v.lower()


def _only_null(what: str) -> Any:
    def check(v: Any) -> None:
        if v is not None:
            raise ValueError(f"null ({what} is not supported yet)")

    return check


class _Prefixed:
    """A Builder whose ``weights`` reads keys under ``<layer>/<prefix><var>``.

    The wrapped op's own ``lower`` runs unchanged and its node keeps plain weight names.
    """

    def __init__(self, b: Builder, prefix: str) -> None:
        self._b = b
        self._prefix = prefix

    def weights(self, specs: dict[str, WeightSpec]) -> dict[str, np.ndarray]:
        got = self._b.weights({self._prefix + k: v for k, v in specs.items()})
        return {k[len(self._prefix) :]: v for k, v in got.items()}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._b, name)


@register("Bidirectional")
class Bidirectional(OpDef):
    """Runs the wrapped RNN over time both ways and merges the two results."""

    params: dict = {
        "merge_mode": Param("concat", merge_mode),
        "backward_layer": Param(None, _only_null("an explicit backward_layer")),
        "weights": Param(None, _only_null("initial weights as a constructor argument")),
    }
    wrapper = True

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        inner = spec.inner
        assert inner is not None
        if inner.type not in WRAPPABLE:
            raise TdcError(
                f"Bidirectional cannot wrap {inner.label}: accepted are {', '.join(WRAPPABLE)}"
            )
        if inner.attrs["go_backwards"]:
            raise TdcError(
                "Bidirectional: the wrapped layer must not set go_backwards: true (Keras "
                "refuses it too: the backward copy already runs backwards)"
            )
        check_rank(inputs[0], (3,), "Bidirectional")
        op = get_op(inner.type)
        fwd = op.lower(cast("Builder", _Prefixed(b, "forward/")), inner, inputs)[0]
        back = dataclasses.replace(inner, attrs={**inner.attrs, "go_backwards": True})
        bwd = op.lower(cast("Builder", _Prefixed(b, "backward/")), back, inputs)[0]
        if not inner.attrs["return_sequences"]:
            return b.emit("bidi_merge", [fwd, bwd], {"mode": spec.attrs["merge_mode"]})
        (bwd,) = b.emit("reverse_time", [bwd])
        (y,) = b.emit("bidi_merge", [fwd, bwd], {"mode": spec.attrs["merge_mode"]})
        mask = b.mask(inputs[0]) if hasattr(b, "mask") else None
        if mask is not None:  # Keras forces zero_output_for_mask on both directions
            (y,) = b.emit("mask_apply", [y, mask])
        return [y]


@register("reverse_time")
class ReverseTime(OpDef):
    """Flip axis 1 (time): (N, T, ...) -> (N, T, ...) with step T-1 first."""

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        if x.rank < 2:
            raise TdcError(f"reverse_time needs rank >= 2, got {shape_str(x.shape)}")
        return [(x.shape, x.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        starts, ends = g.ints([-1], "starts"), g.ints([INT64_MIN], "ends")
        args = [g[node.inputs[0]], starts, ends, g.ints([1], "axes"), g.ints([-1], "steps")]
        g.set(node, apply_fused(g, node, g.op("Slice", args)))


@register("bidi_merge")
class BidiMerge(OpDef):
    """Merge the forward and backward outputs: ``mode`` concat (last axis), sum, mul, ave."""

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        a, b = node.inputs
        mode = node.attrs["mode"]
        if mode not in MERGE_MODES:
            raise TdcError(f"bidi_merge: unknown mode {mode!r}")
        if a.rank != b.rank or a.shape[:-1] != b.shape[:-1]:
            raise TdcError(f"bidi_merge: shapes {shape_str(a.shape)} and {shape_str(b.shape)}")
        if mode == "concat":
            last = a.shape[-1], b.shape[-1]
            if not all(isinstance(d, int) for d in last):
                raise TdcError(f"bidi_merge concat needs a static last axis, got {last}")
            return [((*a.shape[:-1], int(last[0]) + int(last[1])), a.dtype)]
        if a.shape != b.shape:
            raise TdcError(f"bidi_merge: shapes {shape_str(a.shape)} and {shape_str(b.shape)}")
        return [(a.shape, a.dtype)]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        a, b = (g[v] for v in node.inputs)
        mode = node.attrs["mode"]
        if mode == "concat":
            y = g.op("Concat", [a, b], axis=-1)
        elif mode == "sum":
            y = g.op("Add", [a, b])
        elif mode == "mul":
            y = g.op("Mul", [a, b])
        else:
            y = g.op("Div", [g.op("Add", [a, b]), g.const(2.0, "two")])
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        exprs = {
            "concat": "np.concatenate([x0, x1], axis=-1)",
            "sum": "x0 + x1",
            "mul": "x0 * x1",
            "ave": "(x0 + x1) / np.float32(2)",
        }
        return {"mode": node.attrs["mode"], "expr": exprs[node.attrs["mode"]]}

    def flops(self, node: Node) -> int:
        if node.attrs["mode"] == "concat":
            return 0
        dims = [d if isinstance(d, int) else 1 for d in node.output.shape]
        per = 2 if node.attrs["mode"] == "ave" else 1
        return per * (static_size(tuple(dims)) or 0)
