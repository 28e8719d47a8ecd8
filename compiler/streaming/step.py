"""Streaming: the whole-sequence graph -> a step graph that consumes one time step.

Every value of the whole-sequence graph is of one of three kinds:

- ``timed``: axis 1 is the stream's time axis, ``(N, T, ...)``; its step value is
  ``(N, ...)``, that step's slice;
- ``folded``: axis 0 is batch times time, ``(N*T, ...)`` (inside TimeDistributed); its step
  value is ``(N, ...)``: with one frame per sequence the batch *is* the folded axis;
- ``static``: no stream time axis (an RNN's last output and what follows it); its step value
  has the same shape and is the value as if the sequence ended at this step.

Before (TimeDistributed(Conv2D) -> LSTM, return_sequences=False)::

    x(N, T, H, W, C) -> fold -> Conv2D -> unfold -> LSTM -> y(N, U)

After (inputs x_t and the carried states, outputs y and the new states)::

    x_t(N, H, W, C) -> Conv2D -> reshape (N, 1, F) -> LSTM(h0=state_in_0, c0=state_in_1)
        -> y(N, U), state_out_0, state_out_1

Each op's ``stream`` trait (``OpDef.stream``) says what happens to it: fold and unfold of
the stream's time axis disappear; an RNN ("recurrent", ``n_states`` states) runs one step
from the carried state (its mask, if any, is that step's mask: a masked step keeps the
state); causal attention (an op with ``cache_step``) appends this step's keys and values to
the carried caches (batch, steps so far, units), empty before the first step, and attends
over them; other ops get their step attributes from ``rules.timed_attrs``. Anything that
works along the time axis (pooling or convolving over it, reading it backwards,
reshaping it away) is refused with the layer named: such a model has no step form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TdcError
from ..ir.graph import Graph, Node, Shape, Value
from ..ir.registry import StepRefused
from ..ir.verify import verify
from ..ops import get_op
from .rules import refuse, timed_attrs

TIMED, FOLDED, STATIC = "timed", "folded", "static"
STATE_WHAT = ("h", "c")


@dataclass(frozen=True)
class State:
    """One carried state: ``state_in_<k>`` / ``state_out_<k>``, zeros before the first step."""

    index: int
    layer: str  # the recurrent layer (or the attention layer) that carries it
    what: str  # "h" or "c"; "keys" or "values" for an attention layer's cache
    units: int
    spatial: tuple[int, ...] = ()  # a ConvLSTM's state: (N, *spatial, units)
    cache: bool = False  # a key/value cache (batch, steps so far, units): empty at first

    @property
    def shape(self) -> tuple[int, ...]:
        """Its shape per sample (batch axis left out; a cache: its first step)."""
        return (*self.spatial, self.units)

    @property
    def per_sample(self) -> tuple[int | None, ...]:
        """Its shape per sample as the NumPy module's ``STATES`` gives it: a key/value
        cache's steps so far as None."""
        return (None, self.units) if self.cache else self.shape

    def zeros(self, batch: int) -> np.ndarray:
        """The state before the first step (an empty key/value cache)."""
        shape = (batch, 0, self.units) if self.cache else (batch, *self.shape)
        return np.zeros(shape, np.float32)

    @property
    def key(self) -> str:
        """Its key in the NumPy module's state dict."""
        return f"state_{self.index}"

    @property
    def onnx_in(self) -> str:
        return f"state_in_{self.index}"

    @property
    def onnx_out(self) -> str:
        return f"state_out_{self.index}"


@dataclass
class StepGraph:
    graph: Graph  # inputs: model inputs less their time axis, then state_in_<k>
    states: list[State]  # outputs: the model's outputs, then state_out_<k>
    timed: list[bool]  # per model output: has a time axis (else: as if the sequence ended)

    def zero_feeds(self, batch: int) -> dict[str, np.ndarray]:
        """The ONNX step model's ``state_in_<k>`` before the first step: zeros (empty
        key/value caches)."""
        return {s.onnx_in: s.zeros(batch) for s in self.states}


class _Stepper:
    """Rebuilds ``src`` node by node with every value's stream time axis removed."""

    def __init__(self, src: Graph, where: dict[str, int], file: str) -> None:
        self.src, self.where, self.file = src, where, file
        self.g = Graph(src.name)
        self.map: dict[int, Value] = {}
        self.kind: dict[int, str] = {}
        self.states: list[State] = []
        self.state_ins: list[Value] = []
        self.state_outs: list[Value] = []

    def build(self) -> StepGraph:
        for v in self.src.inputs:
            self._input(v)
        for node in self.src.nodes:
            try:
                self._visit(node)
            except TdcError as e:
                line = self.where.get(node.layer)
                raise e.with_context(file=self.file, line=line, layer=node.layer) from None
        self._names_free()
        self.g.inputs += self.state_ins
        self.g.outputs = [self.map[id(v)] for v in self.src.outputs] + self.state_outs
        self.g.output_names = [*self.src.output_names, *(s.onnx_out for s in self.states)]
        timed = [self.kind[id(v)] == TIMED for v in self.src.outputs]
        return StepGraph(self.g, self.states, timed)

    # -- values ---------------------------------------------------------------------------
    def _input(self, v: Value) -> None:
        if v.rank < 2:
            raise TdcError(
                f"input '{v.name}' has no time axis {v.shape}; streaming needs (batch, time, ...)",
                file=self.file,
            )
        new = Value(self.g.fresh(v.name), (v.shape[0], *v.shape[2:]), v.dtype)
        self.g.inputs.append(new)
        self._bind(v, new, TIMED)

    def _bind(self, old: Value, new: Value, kind: str) -> None:
        self.map[id(old)], self.kind[id(old)] = new, kind

    def _emit(
        self, op: str, inputs: list[Value], attrs: dict[str, Any], like: Node, weights: bool = True
    ) -> Node:
        # fresh dicts: the passes rerun on the step graph must not touch the whole graph
        taken = dict(like.weights) if weights else {}
        node = Node(op, inputs, [], dict(attrs), taken, like.layer, like.label)
        for shape, dtype in get_op(op).infer(node):
            name = self.g.fresh(f"{like.layer}/{op}")  # '/' never occurs in a model-file name
            node.outputs.append(Value(name, tuple(shape), dtype))
        return self.g.add_node(node)

    # -- nodes ----------------------------------------------------------------------------
    def _visit(self, node: Node) -> None:
        kinds = [self.kind[id(v)] for v in node.inputs]
        ins = [self.map[id(v)] for v in node.inputs]
        op = get_op(node.op)
        rule = op.stream
        if op.kv_cache and TIMED in kinds:
            self._cached(node, kinds, ins)
        elif rule == "fold" and kinds[0] == TIMED:
            self._bind(node.output, ins[0], FOLDED)
        elif rule == "unfold" and kinds[1] == TIMED:
            self._bind(node.output, ins[0], TIMED)
        elif rule == "recurrent" and kinds[0] == TIMED:
            self._recurrent(node, ins)
        else:
            self._copy(node, kinds, ins)

    def _copy(self, node: Node, kinds: list[str], ins: list[Value]) -> None:
        present = set(kinds)
        if len(present) > 1:
            raise refuse(node, "combines a sequence with values that have no time axis")
        kind = present.pop() if present else STATIC
        attrs = node.attrs
        if kind == TIMED:
            attrs = timed_attrs(node)
        new = self._emit(node.op, ins, attrs, node)
        for old, v in zip(node.outputs, new.outputs, strict=True):
            self._bind(old, v, kind)

    def _recurrent(self, node: Node, ins: list[Value]) -> None:
        a = node.attrs
        if (node.label or "").startswith("Bidirectional"):
            raise refuse(node, "reads the sequence backwards as well as forwards")
        if a["go_backwards"]:
            raise refuse(node, "with go_backwards reads the sequence from its end")
        if len(ins) - 1 - int(a["masked"]):
            raise refuse(
                node, "starts from initial_state= values (the step form starts from zeros)"
            )
        x = ins[0]
        feats = x.shape[1:]
        seq = self._reshape(x, (1, *feats), node)
        mask = [self._reshape(ins[1], (1,), node)] if a["masked"] else []
        states = []
        full = node.outputs[0].shape  # (N, [T,] *state): the state's shape per sample
        shape = full[2:] if a["return_sequences"] else full[1:]
        for what in STATE_WHAT[: get_op(node.op).n_states]:
            state = State(len(self.states), node.layer, what, shape[-1], tuple(shape[:-1]))
            self.states.append(state)
            states.append(Value(state.onnx_in, (x.shape[0], *shape)))
        self.state_ins += states
        attrs = {**a, "return_sequences": False, "return_state": True}
        new = self._emit(node.op, [seq, *mask, *states], attrs, node)
        y, *finals = new.outputs
        self.state_outs += finals
        self._bind(node.outputs[0], y, TIMED if a["return_sequences"] else STATIC)
        for old, v in zip(node.outputs[1:], finals, strict=False):
            self._bind(old, v, STATIC)

    def _cached(self, node: Node, kinds: list[str], ins: list[Value]) -> None:
        """Attention over the steps so far: this step's keys and values join the carried
        cache (``op.cache_step`` gives the step's attrs or refuses)."""
        op = get_op(node.op)
        try:
            attrs = op.cache_step(node)
        except StepRefused as e:
            raise refuse(node, str(e)) from None
        if set(kinds) != {TIMED}:
            raise refuse(node, "combines a sequence with values that have no time axis")
        one: dict[int, Value] = {}  # one (N, 1, ...) value per input value: q, k, v may be one
        for x in ins:
            if id(x) not in one:
                one[id(x)] = self._reshape(x, (1, *x.shape[1:]), node)
        caches = []
        for what, units in op.cache_units(node):
            state = State(len(self.states), node.layer, what, units, cache=True)
            self.states.append(state)
            caches.append(Value(state.onnx_in, (ins[0].shape[0], f"S{state.index}", units)))
        self.state_ins += caches
        new = self._emit(node.op, [one[id(x)] for x in ins] + caches, attrs, node)
        y, *finals = new.outputs
        self.state_outs += finals
        self._bind(node.output, self._reshape(y, y.shape[2:], node), TIMED)

    def _reshape(self, x: Value, shape: Shape, like: Node) -> Value:
        return self._emit("reshape", [x], {"shape": tuple(shape)}, like, weights=False).output

    def _names_free(self) -> None:
        """State names must not clash with the model's own input and output names."""
        taken = {v.name for v in self.src.inputs} | set(self.src.output_names)
        for s in self.states:
            for name in (s.onnx_in, s.onnx_out):
                if name in taken:
                    raise TdcError(
                        f"the name '{name}' is reserved for the streaming state",
                        file=self.file,
                        accepted="other input and output names",
                    )


def step_graph(compiled: Any) -> StepGraph:
    """The step form of a compiled model; a TdcError names the first layer without one."""
    from ..passes import run_pipeline

    spec = compiled.spec
    step = _Stepper(compiled.graph, spec.layer_lines(), spec.file).build()
    verify(step.graph)
    run_pipeline(step.graph)
    return step
