"""``ModelSpec`` -> IR ``Graph``: each layer's ``lower`` emits its nodes through a Builder."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .errors import TdcError
from .ir import Graph, Node, Shape, Value
from .loader import LayerSpec, ModelSpec, split_ref
from .params import check_size
from .registry import WeightSpec, get_op
from .weights import WeightSource

#: Keras layers whose ``supports_masking`` passes the first input's mask on unchanged
#: (the base ``Layer.compute_mask``); any other type drops it, except the ones below.
_PROPAGATE = (
    "Activation ELU LeakyReLU PReLU ReLU Dense Identity Dropout AlphaDropout "
    "GaussianDropout GaussianNoise SpatialDropout1D SpatialDropout2D SpatialDropout3D "
    "ActivityRegularization BatchNormalization GroupNormalization LayerNormalization "
    "UnitNormalization Rescaling Normalization TimeDistributed"
)
#: Merge layers: the output mask is the OR of the input masks when every input has one.
_MERGE_OR = "Add Subtract Average Maximum Minimum Multiply"
#: Layers that read or combine masks in ways not compiled yet: refuse masked inputs.
#: (Concatenate, Maximum, Minimum: "custom" in their ops; Dot drops the mask as Keras's
#: ``Dot.compute_mask`` returns None; Softmax refuses a masked input in its ``lower``.)
_UNSUPPORTED = "Softmax MultiHeadAttention GroupedQueryAttention"
KERAS_MASK_FLOW: dict[str, str] = {
    # the wrapped RNNs read the mask themselves; the output keeps it with return_sequences
    "Bidirectional": "sequence",
    **dict.fromkeys(_PROPAGATE.split(), "propagate"),
    **dict.fromkeys(_MERGE_OR.split(), "merge_or"),
    **dict.fromkeys(_UNSUPPORTED.split(), "unsupported"),
}


class Builder:
    """Lowers layers one by one; ops call back into it to emit nodes and fetch weights."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.graph = Graph(spec.name)
        self.source = WeightSource(spec.weights, spec.seed)
        self.layer: LayerSpec | None = None
        self.values: dict[str, list[Value]] = {}
        #: id(value) -> its Keras mask: a bool value of shape (N, T) (True: a valid step).
        self.masks: dict[int, Value] = {}

    def mask(self, value: Value) -> Value | None:
        """The Keras mask attached to ``value``, if any."""
        return self.masks.get(id(value))

    def set_mask(self, value: Value, mask: Value | None) -> None:
        if mask is not None:
            self.masks[id(value)] = mask

    def build(self) -> Graph:
        for inp, shape in zip(self.spec.inputs, input_shapes(self.spec.inputs), strict=True):
            self.values[inp.name] = [self.graph.add_input(inp.name, shape, inp.dtype)]
        for lay in self.spec.layers:
            self.layer = lay
            try:
                ins = [self.resolve(n) for n in lay.inputs]
                self.values[lay.name] = self.lower(lay, ins)
            except TdcError as e:
                raise e.with_context(file=self.spec.file, line=lay.line, layer=lay.name) from None
        try:
            self.graph.outputs = [self.resolve(n) for n in self.spec.outputs]
        except TdcError as e:
            raise e.with_context(file=self.spec.file) from None
        self.graph.output_names = list(self.spec.outputs)
        self.source.finish()
        return self.graph

    def resolve(self, ref: str) -> Value:
        """The value ``name`` (output 0) or ``name:k`` (output k) refers to."""
        name, k = split_ref(ref)
        outs = self.values[name]
        if k >= len(outs):
            listed = ", ".join([name] + [f"{name}:{i}" for i in range(1, len(outs))])
            raise TdcError(f"{ref!r}: '{name}' has {len(outs)} output(s): {listed}")
        return outs[k]

    def lower(self, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        """Lower ``spec`` (top-level or wrapped) on ``inputs``."""
        op = get_op(spec.type)
        several = op.multi_input or getattr(op, "initial_state_inputs", False)
        if not several and len(inputs) != 1:
            raise TdcError(f"{spec.type} takes exactly one input, got {len(inputs)}")
        outputs = op.lower(self, spec, inputs)
        self.flow_mask(spec.type, op.mask_flow, inputs, outputs)
        return outputs

    def flow_mask(self, kind: str, flow: str, inputs: list[Value], outputs: list[Value]) -> None:
        """Attach the output mask Keras would compute for layer type ``kind``: the first
        input's mask ("propagate"; "sequence": only onto outputs that kept the time axis),
        the OR of all inputs' masks ("merge_or"), or none ("drop"; "custom": ``lower``
        did it)."""
        if flow == "auto":
            flow = KERAS_MASK_FLOW.get(kind, "drop")
        masks = [self.mask(v) for v in inputs]
        if flow in ("custom", "drop") or all(m is None for m in masks):
            return
        if flow == "unsupported":
            raise TdcError(
                f"{kind} on a masked input (Embedding mask_zero, Masking) is not supported"
            )
        mask = masks[0]
        if flow == "merge_or":
            mask = None if any(m is None for m in masks) else self.mask_or(masks)
        elif flow == "sequence":
            outputs = [o for o in outputs if o.rank >= 3]
        elif flow != "propagate":
            raise AssertionError(f"unknown mask flow {flow!r}")
        for out in outputs:
            if self.mask(out) is None:
                self.set_mask(out, mask)

    def mask_or(self, masks: list[Value | None]) -> Value:
        out = masks[0]
        assert out is not None
        for m in masks[1:]:
            assert m is not None
            if m is not out:
                out = self.emit("mask_or", [out, m])[0]
        return out

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
            check_size(tuple(shape))
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
