"""Fold a chain of multiplications and additions by constants into one node.

Each of ``binary`` multiply/add/subtract/divide with a constant operand ``c`` and
``scale_shift`` is ``x * a + b`` for constants ``a``, ``b``; two in a row are one,
``(x * a1 + b1) * a2 + b2 = x * (a1 * a2) + (b1 * a2 + b2)``, with the constants combined
in float64 and rounded once:

Before::  %m = binary(%x; c=a1) kind=multiply; %y = binary(%m; c=b2) kind=add
After::   %y = scale_shift(%x; a=a1, b=b2) mode=mul_add

Before::  %m = binary(%x; c=2) kind=multiply; %y = binary(%m; c=3) kind=multiply
After::   %y = binary(%x; c=6) kind=multiply

Only float32 nodes whose output has the input's shape (the constants broadcast into it,
never widen it), and only when the first node's output feeds the second alone.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node

Affine = tuple[np.ndarray, np.ndarray]  # (a, b): x * a + b, float64


def _affine(node: Node) -> Affine | None:
    """``node`` as ``x * a + b``, or None when it is no such node."""
    x = node.inputs[0] if len(node.inputs) == 1 else None
    if x is None or x.dtype != "float32" or node.output.dtype != "float32":
        return None
    if node.output.shape != x.shape:
        return None
    w = {k: np.asarray(v, np.float64) for k, v in node.weights.items()}
    one, zero = np.float64(1.0), np.float64(0.0)
    if node.op == "scale_shift":
        if node.attrs["mode"] == "mul_add":
            return w["a"], w.get("b", zero)
        return one / w["b"], -w["a"] / w["b"]
    if node.op != "binary" or "c" not in w or node.weights["c"].dtype != np.float32:
        return None
    kind, c, first = node.attrs["kind"], w["c"], bool(node.attrs.get("const_first"))
    if kind == "multiply":
        return c, zero
    if kind == "add":
        return one, c
    if kind == "subtract":
        return (-one, c) if first else (one, -c)
    if kind == "divide" and not first:
        return one / c, zero
    return None


def _trim(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float32)
    while c.ndim and c.shape[0] == 1:
        c = c[0]
    return np.ascontiguousarray(c)


def _merged(first: Node, second: Node, a: np.ndarray, b: np.ndarray) -> Node:
    """One node computing ``x * a + b`` in place of ``second``, reading ``first``'s input."""
    a32, b32 = _trim(a), _trim(b)
    if not np.any(b32):
        op, attrs, weights = "binary", {"kind": "multiply"}, {"c": a32}
    elif np.all(a32 == 1):
        op, attrs, weights = "binary", {"kind": "add"}, {"c": b32}
    else:
        op, attrs, weights = "scale_shift", {"mode": "mul_add"}, {"a": a32, "b": b32}
    absorbs = [*first.attrs.get("absorbs", ()), (first.layer, "fused")]
    attrs["absorbs"] = [*absorbs, *second.attrs.get("absorbs", ())]
    return Node(op, [first.inputs[0]], [second.output], attrs, weights, second.layer, second.label)


def fold_affine(graph: Graph) -> bool:
    changed = False
    for second in list(graph.nodes):
        if second not in graph:
            continue
        outer = _affine(second)
        first = second.inputs[0].producer if outer is not None else None
        if first is None or outer is None:
            continue
        inner = _affine(first)
        if inner is None or graph.is_output(first.output):
            continue
        if len(graph.uses(first.output)) != 1:
            continue
        (a1, b1), (a2, b2) = inner, outer
        merged = _merged(first, second, a1 * a2, b1 * a2 + b2)
        graph.remove(second)
        graph.insert_after(first, merged)
        graph.remove(first)
        changed = True
    return changed
