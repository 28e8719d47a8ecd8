"""Reading one Keras layer call for ``tdc import``: which tensors feed the layer.

A saved functional model records every call of a layer as an inbound node,
``{"args": [...], "kwargs": {...}}``, each tensor as ``__keras_tensor__`` with its
``keras_history`` ``[layer, node_index, tensor_index]`` (tensor k of a layer is ``name:k``
in the model file). A seq2seq decoder ``LSTM(...)(dec_in, initial_state=[h, c])`` is
stored as::

    {"args": [<dec_in>], "kwargs": {"initial_state": [<enc, 0, 1>, <enc, 0, 2>]}}

``initial_state`` may also be one tensor rather than a list (GRU, SimpleRNN), be passed
positionally (``LSTM(...)(x, [h, c])`` puts it in ``args``), or hold constants
(``__numpy__``), which no model file can name. Keras fills in ``mask`` by itself only
for a call with one tensor argument; with ``initial_state`` it reads a mask only when one
is passed explicitly.

The model file writes an RNN's initial states as further inputs after the sequence,
``inputs: [dec_in, enc:1, enc:2]`` (LSTM: h then c; GRU and SimpleRNN: h), and such an RNN
reads no mask. Bidirectional has no form for initial states, so it is refused.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from ..ops import get_op, layer_types, recurrent_layers
from .config import producer

#: The initial states of a recurrent layer (its op's ``n_states``), in Keras's order.
STATES = ("h", "c")
ACCEPTED_STATES = (
    "initial_state= on LSTM ([h, c]), GRU or SimpleRNN ([h]), each a (batch, units) "
    "output of an earlier layer or a model input, without mask=; likewise [h, c] on "
    "ConvLSTM1D, ConvLSTM2D or ConvLSTM3D, each (batch, *spatial, filters)"
)


@dataclass
class Call:
    """The tensors of one call: the layer's inputs, its initial states, and what is refused."""

    inputs: list[Any] = field(default_factory=list)
    states: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: call arguments the model file writes as layer keys (``use_causal_mask: true``)
    keys: dict[str, Any] = field(default_factory=dict)

    def refs(self) -> list[str]:
        """Model-file references: the inputs, then the initial states."""
        return [ref(t) for t in self.inputs + self.states]


def ref(tensor: Any) -> str:
    """``name`` for a layer's first output, ``name:k`` for output k."""
    src, index = producer(tensor)
    return src.name if index == 0 else f"{src.name}:{index}"


def read_call(keras: Any, op: Any, node: Any, implicit_mask: Any) -> Call:
    """What ``op`` was called with at ``node``; ``implicit_mask(mask)`` tells whether a mask
    is the one Keras derives by itself (from Masking or Embedding ``mask_zero``)."""
    typ = type(op).__name__
    first, args = _bind(op, node)
    call = Call()
    layer = get_op(typ) if typ in layer_types() else None
    if layer is not None and layer.positional_call:  # mha(query, value, key): all inputs
        more = [args.pop(k, None) for k in ("value", "key")]
        first = [first, *(t for t in more if t is not None)]
    for key in layer.call_params if layer else ():  # use_causal_mask=True: a layer key
        value = args.pop(key, None)
        if value is True:
            call.keys[key] = value
        elif value not in (None, False):
            call.problems.append(f"called with {key}={value!r} (accepted: true or false)")
    tensor_key = layer.tensor_call_param if layer is not None else None
    given = args.pop(tensor_key, None) if tensor_key else None
    flat = keras.tree.flatten(first)
    call.inputs = [t for t in flat if _is_tensor(t)]
    if len(call.inputs) != len(flat):
        call.problems.append("called with non-tensor arguments")
    if given is not None and _is_tensor(given):  # attention_mask=m: the last input
        call.inputs.append(given)
        call.keys[str(tensor_key)] = True
    elif given is not None:
        call.problems.append(
            f"called with a constant {tensor_key} (accepted: a layer output or a model input)"
        )
    states = args.pop("initial_state", None)
    mask = args.pop("mask", None)
    args.pop("training", None)
    extra = sorted(k for k, v in args.items() if v is not None)
    if mask is not None and (states is not None or not implicit_mask(mask)):
        extra = sorted([*extra, "mask"])
    if states is not None:
        call.states = _states(keras, typ, states, call.problems, "mask" in extra)
        extra = [k for k in extra if k != "mask"]
    if extra:
        call.problems.append(f"called with {', '.join(extra)}")
    return call


def _bind(op: Any, node: Any) -> tuple[Any, dict[str, Any]]:
    """The first call argument and every other one by the name ``op.call`` gives it."""
    args, kwargs = list(node.arguments.args), dict(node.arguments.kwargs)
    try:
        bound = inspect.signature(op.call).bind(*args, **kwargs)
    except (TypeError, ValueError):  # not as ``call`` declares it: take positions as inputs
        return args, kwargs
    named: dict[str, Any] = {}
    params = inspect.signature(op.call).parameters
    for key, value in bound.arguments.items():
        kind = params[key].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif kind is inspect.Parameter.VAR_POSITIONAL:
            named.update({f"argument {i + 2}": v for i, v in enumerate(value)})
        else:
            named[key] = value
    if not named:
        return [], {}
    first = next(iter(named))
    return named.pop(first), named


def _states(keras: Any, typ: str, states: Any, problems: list[str], masked: bool) -> list[Any]:
    """The initial-state tensors of an RNN call; a problem for anything a model file lacks."""
    flat = keras.tree.flatten(states)
    tensors = [t for t in flat if _is_tensor(t)]

    def refuse(why: str) -> list[Any]:
        problems.append(f"{why} (accepted: {ACCEPTED_STATES})")
        return []

    if typ not in recurrent_layers():
        return refuse(
            f"initial_state= on {typ} is not supported (the model file has no form for it)"
        )
    if len(tensors) != len(flat):
        return refuse("initial_state holds constants, not layer outputs or model inputs")
    if masked:
        return refuse(
            "called with both mask= and initial_state= (a model-file RNN with initial "
            "states reads no mask)"
        )
    want = STATES[: get_op(typ).n_states]
    if len(tensors) != len(want):
        return refuse(
            f"initial_state has {len(tensors)} tensor(s), {typ} takes {len(want)} "
            f"({', '.join(want)})"
        )
    return tensors


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "_keras_history")
