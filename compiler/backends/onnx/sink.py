"""The rewrites of ``onnx_opt`` that move Transposes below the ops they feed.

``sink_transpose`` gathers the region of layout-agnostic ops a Transpose (and others with
the same perm) can pass through, each op rebuilt by its ``onnx_layout`` adapter, and
moves the Transposes to where the region's results leave it, when that adds no more
Transposes than it removes. ``sink_through_reduce`` reduces the untransposed tensor with
the axes renumbered. ``onnx_opt`` then merges and cancels the Transposes that meet.
"""

from __future__ import annotations

import heapq

import onnx
from onnx import helper

from .layout import ADAPTERS, REDUCE_OPS, OnnxGraph, attrs


def _region(g: OnnxGraph, start: int) -> tuple[dict, list] | None:
    """Transposes like ``g.nodes[start]`` (same perm) and the nodes that can take their inputs.

    Visits, in graph order, the readers of covered tensors; a node joins when its adapter
    accepts it, covering its outputs. Another Transpose with the same perm feeding a
    joining node becomes a source too.
    """
    first = g.nodes[start]
    p = attrs(first)["perm"]
    where = {id(n): i for i, n in enumerate(g.nodes)}
    sources = {first.output[0]: first}
    region: list[tuple[onnx.NodeProto, object]] = []
    inside: set[str] = set()
    queue: list[int] = []
    seen: set[int] = set()

    def cover(names: list[str] | set[str]) -> None:
        for name in names:
            inside.add(name)
            for c in g.consumers(name):
                if where[id(c)] > start and where[id(c)] not in seen:
                    seen.add(where[id(c)])
                    heapq.heappush(queue, where[id(c)])

    cover([first.output[0]])
    while queue:
        node = g.nodes[heapq.heappop(queue)]
        if node.op_type not in ADAPTERS:
            continue
        extra = {}
        for name in node.input:
            src = g.producer(name) if name and name not in inside else None
            if src is not None and src.op_type == "Transpose" and attrs(src)["perm"] == p:
                extra[name] = src
        extra = {k: v for k, v in extra.items() if k not in g.outputs}
        adapter = ADAPTERS[node.op_type](g, node, p, inside | set(extra))
        if adapter is None:
            continue
        sources |= extra
        cover(list(extra) + [o for o in node.output if o])
        region.append((node, adapter))
    return (sources, region) if region else None


def sink_transpose(g: OnnxGraph) -> bool:
    """Move Transposes below the layout-agnostic ops they feed (see ``onnx_layout``).

    Before::  %t = Transpose(%c) perm=[0,2,3,1]; %r = Relu(%t); %u = Transpose(%r) perm=[0,3,1,2]
    After::   %r0 = Relu(%c); %r = Transpose(%r0) perm=[0,2,3,1]; %u = Transpose(%r) ...
              (then ``merge_transposes`` and ``drop_noops``: %u is %r0)

    Applies when the Transposes it removes are at least as many as those it adds where the
    moved region's results leave it (so it never grows the graph), e.g. a swish
    ``Mul(%t, Sigmoid(%t))`` takes one Transpose in and one out.
    """
    changed = False
    for node in g.live({"Transpose"}):
        if node.output[0] in g.outputs:
            continue
        found = _region(g, g.position(node))
        if found is not None and _sink(g, *found):
            changed = True
    return changed


def _sink(g: OnnxGraph, sources: dict, region: list) -> bool:
    members = {id(node) for node, _ in region}
    gone = [s for s in sources if all(id(c) in members for c in g.consumers(s))]
    leaving = [
        o
        for node, _ in region
        for o in node.output
        if o and (o in g.outputs or any(id(c) not in members for c in g.consumers(o)))
    ]
    if len(leaving) > len(gone) or not gone:
        return False
    p = attrs(next(iter(sources.values())))["perm"]
    inner = {o: g.fresh(f"{o}/nchw") for o in leaving}
    for node, adapter in region:
        ins, kw = adapter()
        ins = [sources[x].input[0] if x in sources else inner.get(x, x) for x in ins]
        while ins and not ins[-1]:
            ins.pop()
        outs = [inner.get(o, o) for o in node.output]
        new = helper.make_node(node.op_type, ins, outs, name=node.name, **kw)
        g.swap(node, new)
        for o in node.output:
            if o in inner:
                t = helper.make_node(
                    "Transpose", [inner[o]], [o], g.fresh(f"{o}/Transpose"), perm=p
                )
                g.insert_after(new, t)
    for s in gone:
        g.remove(sources[s])
    return True


def sink_through_reduce(g: OnnxGraph) -> bool:
    """Reduce the untransposed tensor, renumbering the axes.

    Before::  %t = Transpose(%c) perm=[0,2,3,1]; %m = ReduceMean(%t) axes=[1,2] keepdims=0
    After::   %m = ReduceMean(%c) axes=[2,3] keepdims=0      (the kept axes [0,1] in order)

    A Transpose of what remains is added when the kept axes come out in another order.
    """
    changed = False
    for node in g.live(REDUCE_OPS):
        t = g.producer(node.input[0])
        if t is None or t.op_type != "Transpose" or t.output[0] in g.outputs:
            continue
        if len(g.consumers(t.output[0])) != 1:
            continue
        p, kw = attrs(t)["perm"], attrs(node)
        n = len(p)
        axes = sorted({a % n for a in kw.get("axes", range(n))})
        kw["axes"] = sorted(p[a] for a in axes)
        if kw.get("keepdims", 1):
            q = p
        else:
            kept = [i for i in range(n) if i not in kw["axes"]]
            q = [kept.index(p[i]) for i in range(n) if i not in axes]
        y = node.output[0]
        if q == sorted(q):
            g.replace(node, node.op_type, [t.input[0]], **kw)
        else:
            inner = g.fresh(f"{y}/nchw")
            new = helper.make_node(node.op_type, [t.input[0]], [inner], name=node.name, **kw)
            g.swap(node, new)
            g.insert_after(
                new, helper.make_node("Transpose", [inner], [y], g.fresh(f"{y}/T"), perm=q)
            )
        g.remove(t)
        changed = True
    return changed
