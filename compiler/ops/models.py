"""Models as layers (SPEC 1.1): ``Functional`` and ``Sequential`` entries.

A nested model is lowered in place: its inputs are bound to the values it is called on,
its layers lowered one by one into the same graph (node and value names carry its path,
``cnn/Conv1``), its outputs are the layer's outputs. Under ``TimeDistributed`` that is one
fold, the whole nested graph on (N*T, ...), one unfold. Masks flow through as Keras's
functional models pass them: a masked input is the masked value inside the model.

An inline model's weights are keyed with its path in front (``cnn/Conv1/kernel``); a
``file:`` model reads its own weights file (or draws from its own seed), and its weights
join the model's under its path, which is how the Keras oracle assigns them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import TdcError
from ..frontend.inputs import SEQUENTIAL_INPUT
from ..ir.graph import shape_str
from ..ir.registry import OpDef, register

if TYPE_CHECKING:
    from ..frontend.loader import InputSpec, ModelSpec
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


class _Model(OpDef):
    """A whole model called as a layer."""

    params: dict = {}
    mask_flow = "custom"  # the values themselves carry their masks in and out

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        model = spec.model
        assert model is not None
        if len(inputs) != len(model.inputs):
            raise TdcError(
                f"{spec.type} model '{model.name}' takes {len(model.inputs)} input(s), "
                f"got {len(inputs)}",
                accepted="one reference per input of the nested model, in its order",
            )
        for inp, value in zip(model.inputs, inputs, strict=True):
            check_input(inp, value)
        return lower_nested(b, spec, model, inputs)


def check_input(inp: InputSpec, value: Value) -> None:
    """The value a nested model is called on fits the input it declares (batch excluded)."""
    if inp.name == SEQUENTIAL_INPUT:
        return
    got = tuple(value.shape[1:])
    fits = len(got) == len(inp.shape) and all(
        d is None or g == d or not isinstance(g, int) for d, g in zip(inp.shape, got, strict=True)
    )
    if not fits:
        want = shape_str(("N", *[d if d is not None else "?" for d in inp.shape]))
        raise TdcError(
            f"the nested model's input '{inp.name}' is {want}, but it is called on "
            f"{shape_str(value.shape)}",
            accepted="a value of the shape the nested model's input declares",
        )
    if inp.dtype != value.dtype:
        raise TdcError(
            f"the nested model's input '{inp.name}' is {inp.dtype}, but it is called on "
            f"{value.dtype} values",
            accepted=f"{inp.dtype} values",
        )


def lower_nested(b: Builder, spec: LayerSpec, model: ModelSpec, inputs: list[Value]) -> list[Value]:
    """Lower ``model`` inside ``b`` under the path of ``spec``; its output values."""
    saved = (b.values, b.layer, b.prefix, b.weights_prefix, b.source)
    path = b.path + "/"
    b.values = {inp.name: [v] for inp, v in zip(model.inputs, inputs, strict=True)}
    b.prefix = path
    own = "file" in spec.args
    if own:
        b.source = type(saved[4])(model.weights, model.seed)
        b.source.total = saved[4].total
        b.weights_prefix = ""
    else:
        b.weights_prefix = saved[3] + spec.name + "/"
    try:
        outs = b.lower_layers(model)
        if own:
            b.source.finish()
            saved[4].total = b.source.total
            for key, value in b.source.taken.items():
                saved[4].taken[path + key] = value
    finally:
        b.values, b.layer, b.prefix, b.weights_prefix, b.source = saved
    return outs


@register("Functional")
class Functional(_Model):
    """``keras.Model(inputs, outputs)``: inline (``inputs``/``layers``/``outputs``) or a
    ``file:``."""


@register("Sequential")
class Sequential(_Model):
    """``keras.Sequential(layers)``: a chain, its input whatever it is called on."""
