"""ONNX-level rewrites of the finished node list, run to a fixpoint before the model is built.

tdc tensors are channels-last; ONNX Conv, pooling and Resize are channels-first, so each
such op's lowering wraps itself in ``Transpose(to NCHW) -> op -> Transpose(to NHWC)``.
These rewrites move Transposes down through layout-agnostic ops (elementwise activations,
broadcasting arithmetic with constants, Softmax/Concat with the axis renumbered, Pad,
Slice, Resize, reductions) and merge or cancel the pairs that meet, so a run of
convolutional ops changes layout once on entry and once on exit, and each activation
lands right after its Conv where onnxruntime fuses it. A final sweep folds Transposes and
Reshapes of constants and drops no-ops and dead nodes.

Every rewrite is a function ``(OnnxGraph) -> bool`` (did it change anything) that leaves
the node list topologically sorted; ``optimise`` runs them until none fires. Names are
derived from existing ones, so the output is deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
import onnx
from onnx import helper

from .onnx_layout import ADAPTERS, REDUCE_OPS, OnnxGraph, attrs

Rewrite = Callable[[OnnxGraph], bool]


def _is_noop(g: OnnxGraph, node: onnx.NodeProto) -> bool:
    if node.op_type == "Identity":
        return True
    if node.op_type == "Transpose":
        perm = attrs(node).get("perm")
        return perm is not None and list(perm) == sorted(perm)
    if node.op_type == "Pad" and len(node.input) > 1:
        pads = g.array(node.input[1])
        return pads is not None and not pads.any()
    return False


def drop_noops(g: OnnxGraph) -> bool:
    """Drop Identity, identity-perm Transpose and all-zero Pad.

    Before::  %y = Transpose(%x) perm=[0,1,2,3]; %z = Relu(%y)
    After::   %z = Relu(%x)

    When ``%y`` is a graph output, the producer of ``%x`` is renamed to write ``%y``
    instead (if ``%x`` has no other use); otherwise the no-op stays.
    """
    changed = False
    for node in g.live({"Identity", "Transpose", "Pad"}):
        if not _is_noop(g, node):
            continue
        x, y = node.input[0], node.output[0]
        producer = g.producer(x)
        if y not in g.outputs:
            g.replace_uses(y, x)
        elif producer is not None and x not in g.outputs and len(g.consumers(x)) == 1:
            g.rename_output(producer, x, y)
        else:
            continue
        g.remove(node)
        changed = True
    return changed


def merge_transposes(g: OnnxGraph) -> bool:
    """Compose consecutive Transposes into one (identity compositions are then dropped).

    Before::  %t = Transpose(%x) perm=[0,3,1,2]; %u = Transpose(%t) perm=[0,2,3,1]
    After::   %u = Transpose(%x) perm=[0,1,2,3]   (then ``drop_noops``: uses of %u read %x)

    The first Transpose stays while anything else reads ``%t``.
    """
    changed = False
    for node in g.live({"Transpose"}):
        first = g.producer(node.input[0])
        if first is None or first.op_type != "Transpose":
            continue
        p, q = attrs(first)["perm"], attrs(node)["perm"]
        g.replace(node, "Transpose", [first.input[0]], perm=[p[i] for i in q])
        changed = True
    return changed


def merge_reshapes(g: OnnxGraph) -> bool:
    """Collapse Reshape of a Reshape when the outer shape is a constant without zeros.

    Before::  %a = Reshape(%x, [-1, 64]); %b = Reshape(%a, [2, -1, 64])
    After::   %b = Reshape(%x, [2, -1, 64])

    (A 0 in the outer shape would copy a dimension of the inner result, so it must stay.)
    """
    changed = False
    for node in g.live({"Reshape"}):
        inner = g.producer(node.input[0])
        shape = g.array(node.input[1])
        if inner is None or inner.op_type != "Reshape" or shape is None or (shape == 0).any():
            continue
        g.replace(node, "Reshape", [inner.input[0], node.input[1]], **attrs(node))
        changed = True
    return changed


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


_FOLDABLE: dict[str, Callable[..., np.ndarray]] = {
    "Transpose": lambda x, perm=None: np.transpose(x, perm),
    "Reshape": lambda x, s: x.reshape([d if d else x.shape[i] for i, d in enumerate(s)]),
    "Concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "Unsqueeze": lambda x, axes: np.expand_dims(x, tuple(int(a) for a in axes)),
    "Squeeze": lambda x, axes: np.squeeze(x, tuple(int(a) for a in axes)),
    "Neg": np.negative,
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
}


def fold_constants(g: OnnxGraph) -> bool:
    """Evaluate a node whose inputs are all initialisers (shape arithmetic, weight layouts).

    Before::  %w2 = Transpose(%w) perm=[1,0]      (%w an initialiser)
    After::   %w2 an initialiser holding the transposed %w

    Only the ops in ``_FOLDABLE`` (exact in NumPy, same dtype) are folded.
    """
    changed = False
    for node in g.live(set(_FOLDABLE)):
        fold = _FOLDABLE[node.op_type]
        if len(node.output) != 1 or not node.input:
            continue
        arrays = [g.array(name) for name in node.input]
        if any(a is None for a in arrays):
            continue
        kwargs = attrs(node)
        if node.op_type == "Reshape" and kwargs.pop("allowzero", 0):
            continue
        value = np.asarray(fold(*arrays, **kwargs), dtype=arrays[0].dtype)
        out = node.output[0]
        g.remove(node)
        g.set_init(out, value)
        changed = True
    return changed


def drop_dead(g: OnnxGraph) -> bool:
    """Remove nodes none of whose outputs is read or is a graph output."""
    return g.drop_dead()


REWRITES: tuple[Rewrite, ...] = (
    drop_dead,
    drop_noops,
    merge_transposes,
    sink_transpose,
    sink_through_reduce,
    merge_reshapes,
    fold_constants,
)


def optimise(
    nodes: list[onnx.NodeProto],
    inits: list[onnx.TensorProto],
    inputs: list[str],
    outputs: list[str],
) -> None:
    """Rewrite ``nodes`` and ``inits`` in place until no rewrite applies."""
    outer = _subgraph_reads(nodes)  # kept like graph outputs: Scan bodies read them by name
    g = OnnxGraph(nodes, inits, inputs, [*outputs, *sorted(outer)])
    while any(rewrite(g) for rewrite in REWRITES):
        pass
    used = {name for node in g.nodes for name in node.input} | outer
    nodes[:] = g.nodes
    inits[:] = [t for name, t in g.inits.items() if name in used]


def _subgraph_reads(nodes: list[onnx.NodeProto]) -> set[str]:
    """Every name read inside the subgraphs (Scan, Loop, If bodies) of ``nodes``."""
    names: set[str] = set()
    for node in nodes:
        for a in node.attribute:
            for sub in [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs):
                names |= {x for n in sub.node for x in n.input} | _subgraph_reads(list(sub.node))
    return names
