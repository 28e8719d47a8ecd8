"""``ModelSpec`` -> IR ``Graph``: each layer's ``lower`` emits its nodes through a Builder."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import TdcError
from ..frontend.loader import LayerSpec, ModelSpec, split_ref
from ..frontend.params import check_size
from ..frontend.weights import WeightSource
from ..ops import get_op
from ..ops.keras_base import check_layer_dtypes
from .graph import Graph, Node, Shape, Value, shape_str
from .registry import WeightSpec
from .verify import verify


class Builder:
    """Lowers layers one by one; ops call back into it to emit nodes and fetch weights."""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.graph = Graph(spec.name)
        self.source = WeightSource(spec.weights, spec.seed)
        self.layer: LayerSpec | None = None
        self.values: dict[str, list[Value]] = {}
        #: id(value) -> its Keras mask: a bool value, usually of shape (N, T) (True: a
        #: valid step), in general the leading axes of the value; see ``mask``.
        self.masks: dict[int, Value] = {}
        #: id(wide mask) -> its (N, T) step mask; id(step mask) -> the wide mask.
        self.step_masks: dict[int, Value] = {}
        self.wide_of: dict[int, Value] = {}
        #: The path of the nested model being lowered (``cnn/``; "" at the top level), and
        #: the prefix of its weights' keys (a ``file:`` model has its own weights file).
        self.prefix = ""
        self.weights_prefix = ""
        #: Every layer's outputs by path, nested models' layers included (``tdc inspect``).
        self.by_path: dict[str, list[Value]] = {}

    @property
    def path(self) -> str:
        """The layer being lowered as its path from the top (``cnn/block_3_expand``)."""
        assert self.layer is not None
        return self.prefix + self.layer.name

    def keras_mask(self, value: Value) -> Value | None:
        """The Keras mask attached to ``value`` exactly as Keras has it, if any."""
        return self.masks.get(id(value))

    def mask(self, value: Value) -> Value | None:
        """The mask as a layer that reads it sees it: the Keras mask, except where it is
        *wide*: TimeDistributed keeps its input's mask, so a wrapped layer that consumes
        the masked axis (a character RNN over (N, W, C, F)) leaves an (N, W, C) mask on an
        (N, W, F) output. Keras's RNN loop masks a step when all of ``mask[:, t]`` is
        False, so the (N, W) step mask is ``any`` over the last axis (built once)."""
        m = self.masks.get(id(value))
        if m is None or not wide_mask(value, m) or not step_reducible(value, m):
            return m
        if id(m) not in self.step_masks:
            (step,) = self.emit("mask_ne", [m], {"value": False, "reduce": True})
            self.step_masks[id(m)], self.wide_of[id(step)] = step, m
        return self.step_masks[id(m)]

    def set_mask(self, value: Value, mask: Value | None) -> None:
        if mask is not None:
            self.masks[id(value)] = mask

    def build(self) -> Graph:
        for inp, shape in zip(self.spec.inputs, input_shapes(self.spec.inputs), strict=True):
            self.values[inp.name] = [self.graph.add_input(inp.name, shape, inp.dtype)]
        self.graph.outputs = self.lower_layers(self.spec)
        self.graph.output_names = list(self.spec.outputs)
        self.source.finish()
        return self.graph

    def lower_layers(self, spec: ModelSpec) -> list[Value]:
        """Lower ``spec``'s layers on the values already bound to its inputs; its outputs."""
        for lay in spec.layers:
            self.layer = lay
            try:
                ins = [self.resolve(n) for n in lay.inputs]
                self.values[lay.name] = self.by_path[self.path] = self.lower(lay, ins)
            except TdcError as e:
                raise e.with_context(file=spec.file, line=lay.line, layer=self.path) from None
        try:
            return [self.resolve(n) for n in spec.outputs]
        except TdcError as e:
            raise e.with_context(file=spec.file) from None

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
        # an RNN's initial states follow; a Keras operation checks its own operands
        several = op.multi_input or op.n_states > 0 or op.operands is not None
        several = several or spec.model is not None
        if not several and len(inputs) != 1:
            raise TdcError(f"{spec.type} takes exactly one input, got {len(inputs)}")
        self.check_mask(spec, inputs)
        if op.operands is None and spec.model is None:
            check_layer_dtypes(spec, inputs)  # bool and integer values of Keras operations
        outputs = op.lower(self, spec, inputs)
        self.flow_mask(spec.type, op.mask_flow, inputs, outputs)
        if op.reads_step_mask:  # an RNN's sequence keeps the Keras mask itself
            for out in outputs:
                wide = self.wide_of.get(id(self.masks.get(id(out))))
                if wide is not None:
                    self.masks[id(out)] = wide
        return outputs

    def check_mask(self, spec: LayerSpec, inputs: list[Value]) -> None:
        """Refuse a layer that would read a mask that does not fit its input, where
        Keras fails too (broadcast errors) or reads it in a way not compiled."""
        why = mask_misfit(self, spec, inputs)
        if why:
            raise TdcError(
                f"{spec.type} {why}",
                accepted="masks of an input's (batch, time) axes; a mask TimeDistributed "
                "keeps from (batch, time, steps) read by SimpleRNN, LSTM, GRU, Bidirectional, "
                "merges and layers that pass it on",
            )

    def flow_mask(
        self, kind: str, flow: str | None, inputs: list[Value], outputs: list[Value]
    ) -> None:
        """Attach the output mask Keras would compute for layer type ``kind`` as its op's
        ``mask_flow`` says: the first input's mask ("propagate"; "sequence": only onto
        outputs that kept the time axis), the OR of all inputs' masks ("merge_or"), or
        none ("drop"; "custom": ``lower`` did it)."""
        if flow is None:
            raise AssertionError(f"layer {kind} declares no mask_flow")
        masks = [self.keras_mask(v) for v in inputs]
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
            if self.keras_mask(out) is None:
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
        return self.source.take(self.weights_prefix + self.layer.name, specs)

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
            layer=self.path,
            label=self.layer.label,
        )
        for shape, dtype in get_op(op).infer(node):
            check_size(tuple(shape))
            node.outputs.append(Value(self.graph.fresh(self.path), tuple(shape), dtype))
        self.graph.add_node(node)
        return node.outputs

    def act(self, x: Value, kind: str, **params: Any) -> Value:
        """Apply a Keras activation by name ("linear" emits nothing)."""
        if kind == "linear":
            return x
        return self.emit("act", [x], {"kind": kind, **params})[0]


def wide_mask(value: Value, mask: Value) -> bool:
    """Whether ``mask`` is not the leading axes of ``value`` (see ``Builder.mask``)."""
    lead = tuple(value.shape[: mask.rank])
    return not (mask.rank < value.rank and tuple(mask.shape) == lead)


def step_reducible(value: Value, mask: Value) -> bool:
    """An (N, T, C) mask on an (N, T, F) value: Keras's RNN loop reads it as any over C."""
    return mask.rank == value.rank == 3 and tuple(mask.shape[:2]) == tuple(value.shape[:2])


def mask_misfit(b: Builder, spec: LayerSpec, inputs: list[Value]) -> str | None:
    """Why ``spec`` cannot read its inputs' masks as Keras does (None: it can)."""
    if not inputs:  # a Keras operation without tensor operands (ops.arange)
        return None
    kind, x, op = spec.type, inputs[0], get_op(spec.type)
    masks = [b.keras_mask(v) for v in inputs]
    m = masks[0]
    if m is not None:
        seen = f"reads a mask of shape {shape_str(m.shape)} on its {shape_str(x.shape)} input"
        if kind == "GlobalAveragePooling1D" and tuple(m.shape) != tuple(x.shape[:2]):
            return f"{seen} (Keras fails on it too)"
        if op.reads_step_mask and len(inputs) == 1 and x.rank == 3:
            step = b.mask(x)
            if step is None or tuple(step.shape) != tuple(x.shape[:2]):
                return f"{seen}, not one of its (batch, time) axes"
            inner = [spec.inner, spec.backward] if op.wrapper else [spec]
            if wide_mask(x, m) and any(s is not None and s.attrs.get("unroll") for s in inner):
                return f"with unroll: true {seen} (Keras fails on it too)"
    wide = [v for v, w in zip(inputs, masks, strict=True) if w is not None and wide_mask(v, w)]
    present = [w for w in masks if w is not None]
    if wide and op.or_masks:  # Keras ORs the masks as they are
        if any(w.rank != present[0].rank or w.shape[2:] != present[0].shape[2:] for w in present):
            return "on masks of different shapes (Keras fails on them too)"
    if wide and kind in ("Maximum", "Minimum", "Multiply"):  # these read the masks
        return "on an input whose mask does not fit it (Keras fails on it too)"
    if wide and kind == "Concatenate":
        same = all(w is not None and w.shape == masks[0].shape for w in masks)
        last = spec.attrs.get("axis", -1) % x.rank == x.rank - 1
        if not all(step_reducible(v, b.keras_mask(v)) for v in wide) or not (last or same):
            return "on an input whose mask does not fit it, other than on the last axis"
    return None


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
    verify(graph)
    return graph
