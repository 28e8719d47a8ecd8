"""MultiHeadAttention (Keras's ``MultiHeadAttention`` over the time axis).

The layer is called as ``mha(query, value, key=None)``: the model file writes
``inputs: [x]`` (self-attention, ``mha(x, x)``), ``[query, value]`` or
``[query, value, key]``. Keras's call argument ``use_causal_mask`` is a layer key of the
model file (``use_causal_mask: true``), passed at call time by the Keras oracle.

Masks as Keras: the query's mask (batch, Tq), the value's and an explicit key's mask
(batch, Tv) hide scores (a row with no visible key attends uniformly); the output keeps the
query's mask.

IR op here: ``mha`` (inputs query, key, value, then the masks named by attr ``masks``,
then, in the step form, the key and value caches; attrs ``heads``, ``key_dim``,
``value_dim``, ``causal``, ``cache``, ``scores``). Weights ``wq, bq, wk, bk, wv, bv, wo, bo`` are
Keras's ``query/kernel`` ... ``attention_output/bias`` (weights file keys
``<layer>/query/kernel``). Call arguments: ``return_attention_scores: true`` gives a second
output ``<layer>:1``, the scores (batch, heads, Tq, Tv); ``attention_mask: true`` makes the
last ``inputs:`` entry Keras's ``attention_mask`` (batch, Tq, Tv), any dtype (mask kind
"a"), ANDed with the Keras masks and the causal mask. Both backends fold 1/sqrt(key_dim)
into the query projection and, when query, key and value are one value, project them with
one fused matmul.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import TdcError
from ..frontend.params import (
    REQUIRED,
    Param,
    boolean,
    initializer,
    integer,
    number,
    optional,
    training_only,
)
from ..ir.graph import Node, Shape, shape_str
from ..ir.registry import OpDef, StepRefused, WeightSpec, register
from .attention_onnx import mha_onnx
from .attention_params import axes, none_only, only_false, output_shape
from .core import ones

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

#: Keras's sublayers, in its variable order, and the node's weight names for them.
PARTS = {"query": ("wq", "bq"), "key": ("wk", "bk"), "value": ("wv", "bv")}
PARTS_OUT = ("attention_output", ("wo", "bo"))


def mask_of(b: Builder, v: Value, what: str, layer: str) -> Value | None:
    """The (batch, time) Keras mask of a (batch, time, features) input, if any."""
    m = b.keras_mask(v)
    if m is None:
        return None
    if m.rank != 2:
        raise TdcError(
            f"{layer} reads a {what} mask of shape {shape_str(m.shape)}",
            accepted="(batch, time) masks (Embedding mask_zero, Masking)",
        )
    return m


def attention_inputs(inputs: list[Value], layer: str) -> tuple[Value, Value, Value]:
    """(query, key, value) of ``[query]``, ``[query, value]`` or ``[query, value, key]``."""
    if not 1 <= len(inputs) <= 3:
        raise TdcError(
            f"{layer} takes 1 to 3 inputs, got {len(inputs)}",
            accepted="[x] (self-attention), [query, value] or [query, value, key]",
        )
    for v in inputs:
        if v.rank != 3 or not isinstance(v.shape[-1], int):
            raise TdcError(
                f"{layer} needs (batch, time, features) inputs with static features, "
                f"got {shape_str(v.shape)}"
            )
    q = inputs[0]
    v = inputs[1] if len(inputs) > 1 else q
    k = inputs[2] if len(inputs) > 2 else v
    return q, k, v


@register("MultiHeadAttention")
class MultiHeadAttention(OpDef):
    params = {
        "num_heads": Param(REQUIRED, integer(lo=1)),
        "key_dim": Param(REQUIRED, integer(lo=1)),
        "value_dim": Param(None, optional(integer(lo=1))),
        "dropout": Param(0.0, number(lo=0, hi=1)),
        "use_bias": Param(True, boolean),
        "output_shape": Param(None, output_shape),
        "attention_axes": Param(None, axes),
        "sliding_window": Param(None, none_only("sliding_window")),
        "flash_attention": Param(None, optional(boolean)),
        "kernel_initializer": Param("glorot_uniform", initializer),
        "bias_initializer": Param("zeros", initializer),
        "use_gate": Param(False, only_false("use_gate")),
        "seed": Param(None, optional(integer(lo=0))),
        "use_causal_mask": Param(False, boolean),
        "return_attention_scores": Param(False, boolean),
        "attention_mask": Param(False, boolean),
        **training_only(
            "kernel_regularizer",
            "bias_regularizer",
            "activity_regularizer",
            "kernel_constraint",
            "bias_constraint",
        ),
    }
    multi_input = True
    mask_flow = "custom"
    call_params = ("use_causal_mask", "return_attention_scores")
    positional_call = True
    tensor_call_param = "attention_mask"

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        fq, fk, fv = (int(s[-1]) for s in shapes)
        h, dk = attrs["num_heads"], attrs["key_dim"]
        dv = attrs["value_dim"] or dk
        out = attrs["output_shape"] or fq
        dims = {"query": (fq, dk), "key": (fk, dk), "value": (fv, dv)}
        specs = {}
        for part, (fan, d) in dims.items():
            specs[f"{part}/kernel"] = WeightSpec((fan, h, d), attrs["kernel_initializer"])
            if attrs["use_bias"]:
                specs[f"{part}/bias"] = WeightSpec((h, d), attrs["bias_initializer"])
        specs["attention_output/kernel"] = WeightSpec((h, dv, out), attrs["kernel_initializer"])
        if attrs["use_bias"]:
            specs["attention_output/bias"] = WeightSpec((out,), attrs["bias_initializer"])
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        inputs = list(inputs)
        given = inputs.pop() if a["attention_mask"] else None
        q, k, v = attention_inputs(inputs, spec.type)
        raw = b.weights(self.weight_specs(a, [q.shape, k.shape, v.shape]))
        weights = {}
        for part, (w, bias) in [*PARTS.items(), PARTS_OUT]:
            weights[w] = raw[f"{part}/kernel"]
            if f"{part}/bias" in raw:
                weights[bias] = raw[f"{part}/bias"]
        masks, kinds = [], []
        # Keras fills query_mask, value_mask and (an explicit key's) key_mask itself
        for kind, val in (("q", q), ("v", v), ("k", k if len(inputs) > 2 else None)):
            m = None if val is None else mask_of(b, val, kind, spec.type)
            if m is not None:
                masks.append(m)
                kinds.append(kind)
        if given is not None:
            masks.append(_attention_mask(b, given, q, k, spec.type))
            kinds.append("a")
        attrs = {
            "heads": a["num_heads"],
            "key_dim": a["key_dim"],
            "value_dim": a["value_dim"] or a["key_dim"],
            "causal": a["use_causal_mask"],
            "masks": tuple(kinds),
            "cache": False,
            "scores": a["return_attention_scores"],
            # Keras's explicit path (not its fused kernel) zeroes hidden probabilities, so
            # a row that sees no key gives zeros rather than a uniform average
            "zero_hidden": a["dropout"] > 0 or a["return_attention_scores"],
        }
        outs = b.emit("mha", [q, k, v, *masks], attrs, weights)
        b.set_mask(outs[0], mask_of(b, q, "query", spec.type))
        return outs


def _attention_mask(b: Builder, m: Value, q: Value, k: Value, layer: str) -> Value:
    """The explicit ``attention_mask`` (batch, Tq, Tv) as bool (Keras casts it)."""
    want = (q.shape[0], q.shape[1], k.shape[1])
    fits = m.rank == 3 and all(
        not isinstance(x, int) or not isinstance(y, int) or x == y
        for x, y in zip(m.shape[1:], want[1:], strict=True)
    )
    if not fits:
        raise TdcError(
            f"{layer} attention_mask has shape {shape_str(m.shape)}, the scores {shape_str(want)}",
            accepted="attention_mask: true with the last inputs: entry of shape (batch, "
            "query time, value time), any dtype (nonzero: attend)",
        )
    return m if m.dtype == "bool" else b.emit("cast", [m], {"dtype": "bool"})[0]


@register("mha")
class MhaOp(OpDef):
    """Multi-head scaled dot-product attention with its four projections."""

    stream = "time"
    stream_why = "attends across time steps (only use_causal_mask: true self-attention streams)"
    kv_cache = True

    def cache_step(self, node: Node) -> dict[str, Any]:
        """The attrs of one step over the key/value cache (streaming), or StepRefused."""
        a = node.attrs
        if not a["causal"]:
            raise StepRefused(self.stream_why)
        if a.get("scores"):
            raise StepRefused("returns attention scores, which grow with the steps so far")
        if "a" in a["masks"]:
            raise StepRefused("takes an attention_mask over the whole sequence")
        if a["masks"]:
            raise StepRefused(
                "on a masked input attends to later steps from fully masked rows (Keras's "
                "causal mask with padding)"
            )
        return {**a, "causal": False, "cache": True}

    def cache_units(self, node: Node) -> list[tuple[str, int]]:
        """The carried caches: projected keys and values, heads folded into one axis."""
        a = node.attrs
        return [("keys", a["heads"] * a["key_dim"]), ("values", a["heads"] * a["value_dim"])]

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        a, w = node.attrs, node.weights
        q, k, v = node.inputs[:3]
        hk, hv = a["heads"] * a["key_dim"], a["heads"] * a["value_dim"]
        out = [((*q.shape[:2], int(w["wo"].shape[-1])), "float32")]
        if a["cache"]:
            kc, vc = node.inputs[-2:]
            t = _add_dims(kc.shape[1], k.shape[1])
            out += [((q.shape[0], t, hk), "float32"), ((q.shape[0], t, hv), "float32")]
        if a.get("scores"):
            out.append(((q.shape[0], a["heads"], q.shape[1], k.shape[1]), "float32"))
        return out

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        mha_onnx(g, node)

    def numpy(self, node: Node) -> dict[str, Any]:
        a, w = node.attrs, node.weights
        fused = node.inputs[0] is node.inputs[1] is node.inputs[2]
        n_mask = len(a["masks"])
        return {
            "heads": a["heads"],
            "key_dim": a["key_dim"],
            "value_dim": a["value_dim"],
            "hk": a["heads"] * a["key_dim"],
            "hv": a["heads"] * a["value_dim"],
            "out_dim": int(w["wo"].shape[-1]),
            "scale": repr(float(a["key_dim"] ** -0.5)),
            "use_bias": "bq" in w,
            "fused": fused,
            "causal": a["causal"],
            "cache": a["cache"],
            "scores": a.get("scores", False),
            "zero_hidden": a.get("zero_hidden", False),
            "mask_rows": [
                (name, kind)
                for name, kind in zip(_names(node)[3 : 3 + n_mask], a["masks"], strict=True)
            ],
            "caches": _names(node)[3 + n_mask :],
            "feats": [int(v.shape[-1]) for v in node.inputs[:3]],
        }

    def flops(self, node: Node) -> int:
        a = node.attrs
        q, k, v = (ones(x.shape) for x in node.inputs[:3])
        hk, hv = a["heads"] * a["key_dim"], a["heads"] * a["value_dim"]
        proj = q[1] * q[2] * hk + k[1] * k[2] * hk + v[1] * v[2] * hv
        scores = q[1] * k[1] * (hk + hv)
        out = q[1] * hv * int(node.weights["wo"].shape[-1])
        return 2 * (proj + scores + out)


def _names(node: Node) -> list[str]:
    return [f"x{i}" for i in range(len(node.inputs))]


def _add_dims(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return f"{a}+{b}"
