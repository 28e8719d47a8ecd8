"""The oracle: the same model built in Keras (JAX backend) with the same weights."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import TdcError
from ..frontend.loader import LayerSpec, ModelSpec, split_ref
from ..frontend.nested import nested_of
from ..ops import get_op
from .classes import layer_class, variable_path


def import_keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError:
        raise TdcError("this command needs Keras: pip install 'tdc[keras]'") from None
    return keras


def make_layer(keras: Any, spec: LayerSpec, name: str | None, made: Made | None = None) -> Any:
    """The Keras layer of ``spec``; a nested model's layers are recorded in ``made``
    under their weights-file prefix."""
    made = made if made is not None else Made("")
    if spec.model is not None:
        return make_model(keras, spec, name, made)
    args = dict(spec.args)
    op = get_op(spec.type)
    for key in (*op.call_params, op.tensor_call_param):  # call arguments
        args.pop(key, None)
    if spec.inner is not None:
        args["layer"] = make_layer(keras, spec.inner, None, made)
    if spec.backward is not None:  # named so that its variable paths say the direction
        args["backward_layer"] = make_layer(keras, spec.backward, f"backward_{spec.name}")
    if name is not None:
        args["name"] = name
    return (layer_class(keras, spec.type) or getattr(keras.layers, spec.type))(**args)


class Made:
    """The Keras layers built for a model: (weights-file key prefix + name, layer)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.layers: list[tuple[str, Any]] = []

    def child(self, name: str) -> Made:
        sub = Made(f"{self.prefix}{name}/")
        sub.layers = self.layers
        return sub


def make_model(keras: Any, spec: LayerSpec, name: str | None, made: Made) -> Any:
    """A nested ``Functional`` or ``Sequential`` model (its layers' variables recorded
    under ``<prefix><spec.name>/``)."""
    model = spec.model
    assert model is not None
    inner = made.child(spec.name)
    if spec.type == "Sequential":
        layers = [_made(keras, lay, inner) for lay in model.layers]
        return keras.Sequential(layers, name=name or spec.name)
    ins, tensors = build_graph(keras, model, inner)
    outs = [pick(tensors, n) for n in model.outputs]  # one output as itself, as Keras users
    one = len(ins) == 1, len(outs) == 1
    return keras.Model(
        ins[0] if one[0] else ins, outs[0] if one[1] else outs, name=name or spec.name
    )


def _made(keras: Any, lay: LayerSpec, made: Made) -> Any:
    layer = make_layer(keras, lay, lay.name, made)
    if nested_of(lay)[0] is None:  # a (wrapped) model records its own layers
        made.layers.append((made.prefix + lay.name, layer))
    return layer


def build_graph(keras: Any, spec: ModelSpec, made: Made) -> tuple[list[Any], dict[str, list[Any]]]:
    """The Keras inputs of ``spec`` and every layer's output tensors by name."""
    tensors: dict[str, list[Any]] = {}
    for inp in spec.inputs:
        tensors[inp.name] = [keras.Input(shape=inp.shape, dtype=inp.dtype, name=inp.name)]
    for lay in spec.layers:
        if get_op(lay.type).operands is not None:
            tensors[lay.name] = call_operation(keras, lay, tensors)
            continue
        layer = _made(keras, lay, made)
        tensors[lay.name] = call_layer(layer, lay, [pick(tensors, n) for n in lay.inputs])
    return [tensors[i.name][0] for i in spec.inputs], tensors


def variable_key(layer_name: str, path: str, backward: frozenset[str] = frozenset()) -> str:
    """``<layer>/<variable>``; Bidirectional layers add the direction (``backward``: names
    of explicit backward layers, which need not start with ``backward_``)."""
    parts = path.split("/")
    # Paths start with the layer's own name (which may itself start with forward_),
    # except in a reloaded model, where they start inside the layer.
    inner = parts[1:-1] if parts[0] == layer_name else parts[:-1]
    direction = ""
    if any(p in backward for p in inner):
        direction = "backward/"
    elif any(p.startswith("forward_") for p in inner):
        direction = "forward/"
    elif any(p.startswith("backward_") for p in inner):
        direction = "backward/"
    return f"{layer_name}/{direction}{parts[-1]}"


def layer_variables(layer: Any, key_name: str | None = None) -> list[tuple[str, Any]]:
    """(weights-file key, Keras variable) for every variable of a layer, keyed
    ``<key_name>/...`` (default: the layer's name)."""
    backward, sub = set(), layer
    while sub is not None:  # through TimeDistributed down to a Bidirectional
        if getattr(sub, "backward_layer", None) is not None:
            backward.add(sub.backward_layer.name)
        sub = getattr(sub, "layer", None)
    prefix = (key_name or layer.name)[: -len(layer.name)]
    if type(layer).__name__ == "MultiHeadAttention":  # its sublayer names: query/kernel
        return [(f"{prefix}{layer.name}/{_last_two(v.path)}", v) for v in layer.weights]
    return [
        (prefix + variable_key(layer.name, variable_path(layer, v), frozenset(backward)), v)
        for v in getattr(layer, "weights", ())  # a Keras operation (not a layer) has none
    ]


def _last_two(path: str) -> str:
    """``query/kernel`` of ``mha/query/kernel``."""
    return "/".join(path.split("/")[-2:])


def call_layer(layer: Any, spec: LayerSpec, ins: list[Any]) -> list[Any]:
    """Call ``layer`` on ``ins`` as a Keras user would; every output, as a list.

    An RNN given several inputs takes the first as the sequence and the rest as
    ``initial_state``; merge layers take the list; MultiHeadAttention takes its inputs as
    positional arguments. An op's ``call_params`` (layer keys of the model file that are
    Keras call arguments, like ``use_causal_mask``) are passed to the call, and its
    ``tensor_call_param`` (``attention_mask``), when set, is the last input.
    """
    op = get_op(spec.type)
    kwargs = {k: spec.args[k] for k in op.call_params if k in spec.args}
    if op.dtype_free_inputs(spec.attrs):  # attention_mask: the last input
        ins = list(ins)
        kwargs[str(op.tensor_call_param)] = ins.pop()
    if op.n_states > 0 and len(ins) > 1:
        out = layer(ins[0], initial_state=ins[1:])
    elif op.positional_call:  # mha(query, value, key)
        out = layer(*ins, **kwargs) if len(ins) > 1 else layer(ins[0], ins[0], **kwargs)
    else:
        out = layer(ins if len(ins) > 1 else ins[0], **kwargs)
    return list(out) if isinstance(out, list | tuple) else [out]


def call_operation(keras: Any, spec: LayerSpec, tensors: dict[str, list[Any]]) -> list[Any]:
    """``keras.ops.<name>(*operands, **keyword arguments)`` on the graph's tensors (as the
    op's ``call_keras`` makes the call: a list operand, einsum's subscripts first); a
    constant operand as a Python number or a float32 array. Every output, as a list."""
    args = [
        pick(tensors, o)
        if isinstance(o, str)
        else (o if isinstance(o, int | float) else np.asarray(o, np.float32))
        for o in spec.operands
    ]
    out = get_op(spec.type).call_keras(keras.ops, args, dict(spec.args))
    return list(out) if isinstance(out, list | tuple) else [out]


def pick(tensors: dict[str, list[Any]], ref: str) -> Any:
    """The tensor ``name`` (output 0) or ``name:k`` (output k) refers to."""
    name, k = split_ref(ref)
    return tensors[name][k]


def keras_model(
    spec: ModelSpec, weights: dict[str, np.ndarray], outputs: list[str] | None = None
) -> Any:
    """A functional Keras model of ``spec`` whose variables hold ``weights``."""
    keras = import_keras()
    made = Made("")
    ins, tensors = build_graph(keras, spec, made)
    model = keras.Model(ins, [pick(tensors, n) for n in outputs or spec.outputs])
    for key_name, layer in made.layers:
        for key, v in layer_variables(layer, key_name):
            if key not in weights:
                raise TdcError(f"no weight for Keras variable {key}")
            v.assign(weights[key])
        if hasattr(layer, "finalize_state"):  # Normalization reads its variables once
            layer.finalize_state()
    return model


def run_keras(model: Any, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """``model``'s outputs on ``inputs``, as Keras's ``predict`` gives them.

    On a batch of 0, ``predict`` runs no batch at all (and fails); the model runs on one
    all-zero sample instead and its outputs are cut back to none, which gives them their
    shapes. Keras fails on a null axis of length 0 where a layer steps through it (an RNN,
    TimeDistributed): that is a TdcError naming the input, not Keras's traceback.
    """
    if inputs and inputs[0].shape[0] == 0:
        one = [np.zeros((1, *x.shape[1:]), x.dtype) for x in inputs]
        return [o[:0] for o in run_keras(model, one)]
    batch = max(1, inputs[0].shape[0])
    try:
        out = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0, batch_size=batch)
    except Exception as e:
        _refuse_empty_axis(model, inputs, e)
        raise
    return [np.asarray(o) for o in (out if isinstance(out, list) else [out])]


def _refuse_empty_axis(model: Any, inputs: list[np.ndarray], error: Exception) -> None:
    """Raise a TdcError for ``error`` when an input has an axis of length 0 past the batch."""
    for k, x in enumerate(inputs):
        if 0 in x.shape[1:]:
            name = getattr(model.inputs[k], "name", str(k)) if k < len(model.inputs) else str(k)
            raise TdcError(
                f"Keras cannot run this model on input '{name}' of shape {tuple(x.shape)}: "
                f"an axis of length 0 ({type(error).__name__} in Keras)",
                accepted="null axes of length 1 or more with --backend keras; the onnx and "
                "numpy backends also take length 0",
            ) from None
