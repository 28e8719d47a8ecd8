"""ONNX lowerings of the attention ops (``mha``; ``score_attention``'s mask helpers).

``mha``: the projections are MatMuls whose weights fold the heads into one axis and the
1/sqrt(key_dim) scale into the query's kernel and bias; query, key and value read from
one value are projected by one MatMul of the concatenated kernels and split. Scores are
(batch, heads, Tq, Tv) from one batched MatMul; hidden scores become -1e9 (Where) before
the Softmax, as Keras's masked softmax.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..ir.graph import Node

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder

#: Keras's large negative score for a hidden position (Softmax's mask; Attention subtracts it).
HIDDEN = -1e9


def projections(node: Node) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """(kernels, biases) of query, key, value as (features, heads * dim) matrices, the
    query's scaled by 1/sqrt(key_dim); biases None without use_bias."""
    w, a = node.weights, node.attrs
    scale = np.float32(a["key_dim"] ** -0.5)
    kernels, biases = [], []
    for i, (kw, bw) in enumerate((("wq", "bq"), ("wk", "bk"), ("wv", "bv"))):
        s = scale if i == 0 else np.float32(1)
        kernels.append(w[kw].reshape(w[kw].shape[0], -1) * s)
        biases.append(w[bw].reshape(-1) * s if bw in w else None)
    return kernels, biases


def _project(g: OnnxBuilder, x: str, kernel: np.ndarray, bias: np.ndarray | None, h: str) -> str:
    y = g.op("MatMul", [x, g.const(kernel, f"{h}_kernel")])
    return y if bias is None else g.op("Add", [y, g.const(bias, f"{h}_bias")])


def _qkv(g: OnnxBuilder, node: Node) -> list[str]:
    kernels, biases = projections(node)
    names = [g[v] for v in node.inputs[:3]]
    if node.inputs[0] is node.inputs[1] is node.inputs[2]:
        bias = None if biases[0] is None else np.concatenate(biases)  # type: ignore[arg-type]
        y = _project(g, names[0], np.concatenate(kernels, axis=1), bias, "qkv")
        sizes = [k.shape[1] for k in kernels]
        return g.op("Split", [y, g.ints(sizes, "split")], n_out=3, axis=2)
    return [
        _project(g, x, k, b, h)
        for x, k, b, h in zip(names, kernels, biases, ("query", "key", "value"), strict=True)
    ]


def _heads(g: OnnxBuilder, x: str, heads: int, dim: int, perm: list[int]) -> str:
    y = g.op("Reshape", [x, g.ints([0, 0, heads, dim])])
    return g.op("Transpose", [y], perm=perm)


def causal_keep(g: OnnxBuilder, q: str, k: str) -> str:
    """(Tq, Tv) bool: query step i sees key step j <= i (Keras's top-left causal mask)."""
    one, zero = (g.const(np.asarray(i, np.int64), f"i{i}", np.int64) for i in (1, 0))

    def steps(x: str, axis: int) -> str:
        n = g.op("Gather", [g.op("Shape", [x]), one], axis=0)  # a scalar: the time length
        r = g.op("Range", [zero, n, one])
        return g.op("Unsqueeze", [r, g.ints([axis], "axes")])

    return g.op("GreaterOrEqual", [steps(q, 1), steps(k, 0)])


def keep_mask(
    g: OnnxBuilder, masks: list[tuple[str, str]], causal: tuple[str, str] | None, rank: int
) -> str | None:
    """The bool keep mask of scores (batch, [heads,] Tq, Tv), broadcastable: the AND of
    query masks (kind "q": rows), value/key masks ("v", "k": columns), explicit attention
    masks ("a": (batch, Tq, Tv)) and the causal mask; None: all kept."""
    keep = None
    lead = list(range(1, rank - 2))  # the heads axis, if any
    for name, kind in masks:
        axes = {"q": [*lead, rank - 1], "a": lead}.get(kind, [*lead, rank - 2])
        m = g.op("Unsqueeze", [name, g.ints(axes, "axes")]) if axes else name
        keep = m if keep is None else g.op("And", [keep, m])
    if causal is not None:
        c = causal_keep(g, *causal)
        keep = c if keep is None else g.op("And", [keep, c])
    return keep


def masked_softmax(g: OnnxBuilder, scores: str, keep: str | None) -> str:
    if keep is not None:
        scores = g.op("Where", [keep, scores, g.const(np.float32(HIDDEN), "hidden")])
    return g.op("Softmax", [scores], axis=-1)


def mha_onnx(g: OnnxBuilder, node: Node) -> None:
    a, w = node.attrs, node.weights
    h, dk, dv = a["heads"], a["key_dim"], a["value_dim"]
    q, k, v = _qkv(g, node)
    if a["cache"]:
        kc, vc = (g[x] for x in node.inputs[-2:])
        k, v = g.op("Concat", [kc, k], axis=1), g.op("Concat", [vc, v], axis=1)
        g.set(node, k, 1)
        g.set(node, v, 2)
    qh = _heads(g, q, h, dk, [0, 2, 1, 3])
    kh = _heads(g, k, h, dk, [0, 2, 3, 1])
    vh = _heads(g, v, h, dv, [0, 2, 1, 3])
    scores = g.op("MatMul", [qh, kh])
    n_mask = len(a["masks"])
    masks = [(g[m], kind) for m, kind in zip(node.inputs[3 : 3 + n_mask], a["masks"], strict=True)]
    keep = keep_mask(g, masks, (q, k) if a["causal"] else None, 4)
    probs = masked_softmax(g, scores, keep)
    if keep is not None and a.get("zero_hidden"):
        probs = g.op("Where", [keep, probs, g.const(np.float32(0), "zero")])
    if a.get("scores"):
        g.set(node, probs, 1)
    ctx = g.op("MatMul", [probs, vh])
    ctx = g.op("Reshape", [g.op("Transpose", [ctx], perm=[0, 2, 1, 3]), g.ints([0, 0, h * dv])])
    out = w["wo"].reshape(h * dv, -1)
    g.set(node, _project(g, ctx, out, w.get("bo"), "attention_output"))
