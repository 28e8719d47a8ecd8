"""float16 ONNX models, converted with the ``onnx`` package alone.

Every float32 initializer is stored as float16 (half the bytes). A node runs in float16
only where onnxruntime's CPU provider has a float16 kernel for its op (``FLOAT16_OPS``,
measured on onnxruntime 1.32, x86-64: only data-movement ops) and all its float inputs are
float16 already; every other node stays float32 and reads its weights through a ``Cast``
to float32 (which onnxruntime folds once, when the session starts). The graph's inputs and
outputs stay float32: a value crossing between the two kinds gets a ``Cast``. Ops kept in
float32 on purpose, whatever the provider offers: recurrent layers and subgraphs
(``LSTM``, ``GRU``, ``RNN``, ``Scan``, ``Loop``, ``If``: state carried over many steps),
normalisations, reductions and ``Softmax`` (sums that lose range and precision in float16).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: Ops with a float16 kernel in onnxruntime's CPU provider (1.32, x86-64), which lose
#: nothing in float16 (they move or select values, no arithmetic).
FLOAT16_OPS = frozenset(
    {
        "Identity",
        "Transpose",
        "Reshape",
        "Concat",
        "Slice",
        "Squeeze",
        "Unsqueeze",
        "Split",
        "Gather",
        "Flatten",
        "Expand",
        "Tile",
        "Max",
        "Min",
    }
)
F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16
SUFFIX = "/fp16"


def to_float16(proto: onnx.ModelProto, float16_ops: Iterable[str] = FLOAT16_OPS) -> onnx.ModelProto:
    """A float16 copy of ``proto`` (float32 inputs and outputs; see the module docstring)."""
    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    types = _elem_types(model)
    half = _float16_values(graph, types, set(float16_ops))
    casts_in = _convert_initializers(graph, half)
    nodes = []
    for node in graph.node:
        nodes.append(node)
        if node.name in half["nodes"]:
            nodes += _retype(node, types, half)
    needed = _needs_float32(graph)
    kept = [n for n in casts_in if n.output[0] in needed]
    kept += [
        n
        for n in nodes
        if n.op_type != "Cast" or not n.name.startswith("fp16_out/") or n.output[0] in needed
    ]
    del graph.node[:]
    graph.node.extend(kept)
    del graph.value_info[:]
    return model


def _elem_types(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*g.input, *g.output, *g.value_info]}
    types.update({t.name: t.data_type for t in g.initializer})
    return types


def _float16_values(graph: onnx.GraphProto, types: dict[str, int], ops: set[str]) -> dict:
    """The nodes that run in float16 and the values they and the initializers make."""
    values = {t.name for t in graph.initializer if t.data_type == F32}
    values -= {i.name for i in graph.input}
    nodes = set()
    for i, node in enumerate(graph.node):
        if not node.name:
            node.name = f"node_{i}"
        floats = [x for x in node.input if x and types.get(x) == F32]
        outs = [y for y in node.output if y and types.get(y) == F32]
        if node.op_type in ops and node.domain in ("", "ai.onnx") and floats and outs:
            if all(x in values for x in floats) and not _has_subgraph(node):
                nodes.add(node.name)
                values.update(outs)
    return {"values": values, "nodes": nodes}


def _has_subgraph(node: onnx.NodeProto) -> bool:
    return any(
        a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute
    )


def _convert_initializers(graph: onnx.GraphProto, half: dict) -> list[onnx.NodeProto]:
    """Store float32 initializers as float16 (``NAME/fp16``); a Cast back to ``NAME`` each."""
    casts = []
    for t in graph.initializer:
        if t.name in half["values"] and t.data_type == F32:
            arr = numpy_helper.to_array(t).astype(np.float16)
            name = t.name
            t.CopyFrom(numpy_helper.from_array(arr, name + SUFFIX))
            casts.append(
                helper.make_node("Cast", [name + SUFFIX], [name], to=F32, name=f"fp16_in/{name}")
            )
    return casts


def _retype(node: onnx.NodeProto, types: dict[str, int], half: dict) -> list[onnx.NodeProto]:
    """Point a float16 node at the float16 names; a Cast to float32 after each float output."""
    for k, x in enumerate(node.input):
        if x in half["values"]:
            node.input[k] = x + SUFFIX
    casts = []
    for k, y in enumerate(node.output):
        if y and types.get(y) == F32:
            node.output[k] = y + SUFFIX
            casts.append(helper.make_node("Cast", [y + SUFFIX], [y], to=F32, name=f"fp16_out/{y}"))
    return casts


def _needs_float32(graph: onnx.GraphProto) -> set[str]:
    """Names read as float32: by nodes, by subgraphs (outer-scope names), as graph outputs."""
    used: dict[str, int] = defaultdict(int)
    for node in graph.node:
        for x in node.input:
            used[x] += 1
        for a in node.attribute:
            for sub in [a.g] if a.HasField("g") else list(a.graphs):
                for name in _subgraph_reads(sub):
                    used[name] += 1
    return set(used) | {o.name for o in graph.output}


def _subgraph_reads(graph: onnx.GraphProto) -> set[str]:
    names = {x for n in graph.node for x in n.input}
    for n in graph.node:
        for a in n.attribute:
            for sub in [a.g] if a.HasField("g") else list(a.graphs):
                names |= _subgraph_reads(sub)
    return names
