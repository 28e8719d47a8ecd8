"""``ModelSpec`` -> IR ``Graph``: each layer's ``lower`` emits its nodes through a Builder."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .errors import TdcError
from .ir import Graph, Node, Shape, Value
from .loader import LayerSpec, ModelSpec
from .registry import WeightSpec, get_op
from .weights import WeightSource


class Builder:
    """Lowers layers one by one; ops call back into it to emit nodes and fetch weights."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.graph = Graph(spec.name)
        self.source = WeightSource(spec.weights, spec.seed)
        self.layer: LayerSpec | None = None
        self.values: dict[str, list[Value]] = {}

    def build(self) -> Graph:
        for inp, shape in zip(self.spec.inputs, input_shapes(self.spec.inputs), strict=True):
            self.values[inp.name] = [self.graph.add_input(inp.name, shape, inp.dtype)]
        for lay in self.spec.layers:
            self.layer = lay
            ins = [self.values[n][0] for n in lay.inputs]
            try:
                self.values[lay.name] = self.lower(lay, ins)
            except TdcError as e:
                raise e.with_context(file=self.spec.file, line=lay.line, layer=lay.name) from None
        self.graph.outputs = [self.values[n][0] for n in self.spec.outputs]
        self.graph.output_names = list(self.spec.outputs)
        self.source.finish()
        return self.graph

    def lower(self, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        """Lower ``spec`` (top-level or wrapped) on ``inputs``."""
        op = get_op(spec.type)
        if not op.multi_input and len(inputs) != 1:
            raise TdcError(f"{spec.type} takes exactly one input, got {len(inputs)}")
        return op.lower(self, spec, inputs)

    def weights(self, specs: dict[str, WeightSpec]) -> dict[str, np.ndarray]:
        assert self.layer is not None
        return self.source.take(self.layer.name, specs)

    def emit(
        self,
        op: str,
        inputs: list[Value],
        attrs: dict[str, Any] | None = None,
        weights: dict[str, np.ndarray] | None = None,
    ) -> list[Value]:
        """Append one node; its output shapes come from the op's ``infer``."""
        assert self.layer is not None
        node = Node(
            op,
            list(inputs),
            [],
            dict(attrs or {}),
            dict(weights or {}),
            layer=self.layer.name,
            label=self.layer.label,
        )
        for shape, dtype in get_op(op).infer(node):
            node.outputs.append(Value(self.graph.fresh(self.layer.name), tuple(shape), dtype))
        self.graph.add_node(node)
        return node.outputs

    def act(self, x: Value, kind: str, **params: Any) -> Value:
        """Apply a Keras activation by name ("linear" emits nothing)."""
        if kind == "linear":
            return x
        return self.emit("act", [x], {"kind": kind, **params})[0]


def input_shapes(inputs: list[Any]) -> list[Shape]:
    """Batch axis "N"; a null axis 1 is "T" (then "T2", "T3", ... for later inputs, since
    Keras lets each input have its own length); other null axes "<input>_d<k>"."""
    shapes, times = [], 0
    for inp in inputs:
        dims: list[int | str] = ["N"]
        for k, d in enumerate(inp.shape, start=1):
            if d is not None:
                dims.append(d)
            elif k == 1:
                times += 1
                dims.append("T" if times == 1 else f"T{times}")
            else:
                dims.append(re.sub(r"\W", "_", inp.name, flags=re.ASCII) + f"_d{k}")
        shapes.append(tuple(dims))
    return shapes


def build_graph(spec: ModelSpec) -> Graph:
    graph = Builder(spec).build()
    graph.verify()
    return graph
