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
derived from existing ones, so the output is deterministic. The Transpose-sinking
rewrites live in ``onnx_sink.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx

from .layout import OnnxGraph, attrs
from .sink import sink_through_reduce, sink_transpose

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
