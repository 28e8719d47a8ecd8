"""Attention (Luong, dot-product or concat scores) and AdditiveAttention (Bahdanau).

Both are called on ``[query, value]`` or ``[query, value, key]`` (key defaults to value),
each (batch, time, dim). Keras's call arguments ``use_causal_mask`` and
``return_attention_scores`` are layer keys of the model file (``use_causal_mask: true``;
the scores, (batch, Tq, Tv) after the softmax, are the second output ``<layer>:1``).
Masks as Keras: the value's mask hides keys (their scores lowered by 1e9), the query's
mask zeroes the output rows and stays on the output; a key's own mask is ignored, as Keras
does.

IR op here: ``score_attention`` (inputs query, key, value, then the masks named by attr
``masks``: "q" rows, "v" columns; attrs ``mode``: "dot" | "concat" | "additive",
``causal``, ``scores``; weights ``scale`` and ``concat_score_weight`` where Keras has them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import TdcError
from ..frontend.params import Param, boolean, choice, integer, number, optional
from ..ir.graph import Node, Shape
from ..ir.registry import OpDef, StepRefused, WeightSpec, register
from .attention import attention_inputs, mask_of
from .attention_onnx import HIDDEN, causal_keep
from .core import ones

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


class _ScoreAttention(OpDef):
    multi_input = True
    mask_flow = "custom"
    call_params = ("use_causal_mask", "return_attention_scores")

    def mode(self, attrs: dict[str, Any]) -> str:
        raise NotImplementedError

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        if len(inputs) not in (2, 3):
            raise TdcError(
                f"{spec.type} takes 2 or 3 inputs, got {len(inputs)}",
                accepted="[query, value] or [query, value, key]",
            )
        q, k, v = attention_inputs(inputs, spec.type)
        if q.shape[-1] != k.shape[-1]:
            raise TdcError(
                f"{spec.type} needs query and key of the same features, got "
                f"{q.shape[-1]} and {k.shape[-1]}"
            )
        weights = b.weights(self.weight_specs(spec.attrs, [q.shape, v.shape]))
        masks, kinds = [], []
        for kind, val in (("q", q), ("v", v)):
            m = mask_of(b, val, kind, spec.type)
            if m is not None:
                masks.append(m)
                kinds.append(kind)
        attrs = {
            "mode": self.mode(spec.attrs),
            "causal": spec.attrs["use_causal_mask"],
            "masks": tuple(kinds),
            "cache": False,
            "scores": spec.attrs["return_attention_scores"],
        }
        outs = b.emit("score_attention", [q, k, v, *masks], attrs, weights)
        b.set_mask(outs[0], mask_of(b, q, "query", spec.type))
        return outs


_COMMON = {
    "dropout": Param(0.0, number(lo=0, hi=1)),
    "use_causal_mask": Param(False, boolean),
    "return_attention_scores": Param(False, boolean),
}


@register("Attention")
class Attention(_ScoreAttention):
    params = {
        "use_scale": Param(False, boolean),
        "score_mode": Param("dot", choice("dot", "concat")),
        "seed": Param(None, optional(integer(lo=0))),
        **_COMMON,
    }

    def mode(self, attrs: dict[str, Any]) -> str:
        return str(attrs["score_mode"])

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        specs = {}
        if attrs["use_scale"]:
            specs["scale"] = WeightSpec((), "ones")
        if attrs["score_mode"] == "concat":
            specs["concat_score_weight"] = WeightSpec((), "ones")
        return specs


@register("AdditiveAttention")
class AdditiveAttention(_ScoreAttention):
    params = {"use_scale": Param(True, boolean), **_COMMON}

    def mode(self, attrs: dict[str, Any]) -> str:
        return "additive"

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        if not attrs["use_scale"]:
            return {}
        return {"scale": WeightSpec((int(shapes[0][-1]),), "glorot_uniform")}


@register("score_attention")
class ScoreAttentionOp(OpDef):
    """softmax(scores(query, key), hiding masked keys) @ value, masked query rows zeroed."""

    stream = "time"
    stream_why = "attends across time steps (only use_causal_mask: true streams)"
    kv_cache = True

    def cache_step(self, node: Node) -> dict[str, Any]:
        """The attrs of one step over the key/value cache (streaming), or StepRefused."""
        if not node.attrs["causal"]:
            raise StepRefused(self.stream_why)
        if node.attrs.get("scores"):
            raise StepRefused("returns attention scores, which grow with the steps so far")
        if node.attrs["masks"]:
            raise StepRefused("on a masked input zeroes or hides steps across time")
        return {**node.attrs, "causal": False, "cache": True}

    def cache_units(self, node: Node) -> list[tuple[str, int]]:
        """The carried caches: the key and value inputs of the steps so far."""
        return [("keys", int(node.inputs[1].shape[-1])), ("values", int(node.inputs[2].shape[-1]))]

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        q, k, v = node.inputs[:3]
        out = [((*q.shape[:2], v.shape[-1]), "float32")]
        if node.attrs.get("cache"):
            kc, vc = node.inputs[-2:]
            t = _steps(kc.shape[1], k.shape[1])
            out += [
                ((q.shape[0], t, k.shape[-1]), "float32"),
                ((q.shape[0], t, v.shape[-1]), "float32"),
            ]
        if node.attrs.get("scores"):
            out.append(((q.shape[0], q.shape[1], k.shape[1]), "float32"))
        return out

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        a, w = node.attrs, node.weights
        q, k, v = (g[x] for x in node.inputs[:3])
        if a.get("cache"):
            kc, vc = (g[x] for x in node.inputs[-2:])
            k, v = g.op("Concat", [kc, k], axis=1), g.op("Concat", [vc, v], axis=1)
            g.set(node, k, 1)
            g.set(node, v, 2)
        if a["mode"] == "dot":
            s = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])])
            if "scale" in w:
                s = g.op("Mul", [s, g.const(w["scale"], "scale")])
        else:
            qe = g.op("Unsqueeze", [q, g.ints([2], "axes")])
            ke = g.op("Unsqueeze", [k, g.ints([1], "axes")])
            t = g.op("Add", [qe, ke])
            if a["mode"] == "concat" and "scale" in w:
                t = g.op("Mul", [g.const(w["scale"], "scale"), t])
            t = g.op("Tanh", [t])
            if a["mode"] == "additive" and "scale" in w:
                t = g.op("Mul", [g.const(w["scale"], "scale"), t])
            s = g.op("ReduceSum", [t, g.ints([-1], "axes")], keepdims=0)
            if "concat_score_weight" in w:
                s = g.op("Mul", [g.const(w["concat_score_weight"], "concat_score_weight"), s])
        masks = dict(zip(a["masks"], node.inputs[3 : 3 + len(a["masks"])], strict=True))
        keep = None
        if "v" in masks:
            keep = g.op("Unsqueeze", [g[masks["v"]], g.ints([1], "axes")])
        if a["causal"]:
            c = causal_keep(g, q, k)
            keep = c if keep is None else g.op("And", [keep, c])
        if keep is not None:  # Keras subtracts 1e9 from hidden scores
            lowered = g.op("Add", [s, g.const(np.float32(HIDDEN), "hidden")])
            s = g.op("Where", [keep, s, lowered])
        probs = g.op("Softmax", [s], axis=-1)
        if a.get("scores"):
            g.set(node, probs, 1)
        y = g.op("MatMul", [probs, v])
        if "q" in masks:
            rows = g.op("Unsqueeze", [g[masks["q"]], g.ints([2], "axes")])
            y = g.op("Where", [rows, y, g.const(np.float32(0), "zero")])
        g.set(node, y)

    def numpy(self, node: Node) -> dict[str, Any]:
        a, w = node.attrs, node.weights
        names = [f"x{i}" for i in range(len(node.inputs))]
        masks = dict(zip(a["masks"], names[3 : 3 + len(a["masks"])], strict=True))
        return {
            "cache": a.get("cache", False),
            "scores": a.get("scores", False),
            "caches": names[3 + len(a["masks"]) :],
            "mode": a["mode"],
            "causal": a["causal"],
            "scaled": "scale" in w,
            "weighted": "concat_score_weight" in w,
            "q_mask": masks.get("q"),
            "v_mask": masks.get("v"),
        }

    def flops(self, node: Node) -> int:
        q, k, v = (ones(x.shape) for x in node.inputs[:3])
        return 2 * q[1] * k[1] * (q[2] + v[2])


def _steps(a: Any, b: Any) -> Any:
    return a + b if isinstance(a, int) and isinstance(b, int) else f"{a}+{b}"
