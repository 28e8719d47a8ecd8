"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D (channels_last; each one IR op of the same name).

Keras's ConvLSTMCell: the gates are convolutions instead of matrix products, in Keras's
gate order i, f, c, o::

    z = conv(x_t, kernel, strides, padding, dilation_rate) + bias
        + conv(h, recurrent_kernel, strides 1, padding 'same')
    c = f * c + i * act(cc);  h = o * act(c)   (i, f, o: recurrent_act of their blocks)

Weights keep Keras's layouts: ``kernel`` ``(*k, cin, 4 * filters)``, ``recurrent_kernel``
``(*k, filters, 4 * filters)``, ``bias`` ``(4 * filters,)``. Node attrs: ``filters``,
``strides``, ``padding``, ``dilation_rate``, ``act``, ``recurrent_act``,
``return_sequences``, ``go_backwards``, ``masked``, ``return_state``. Inputs as the other
RNNs (``recurrent.py``): the (N, T, *S, C) sequence, the (N, T) mask when ``masked`` (a
masked step keeps the state and repeats the previous output), then optionally h and c,
each (N, *S', filters). The input convolution of all T frames is one convolution on the
folded (N*T, *S, C) batch, before the loop. ONNX: ``backends/onnx/conv_lstm.py``;
NumPy: ``templates/ops/conv_lstm.py.j2``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import TdcError, listing
from ..frontend.params import (
    REQUIRED,
    Param,
    boolean,
    choice,
    dense_like_training,
    initializer,
    int_tuple,
    integer,
    number,
    optional,
    rnn_activation,
)
from ..ir.graph import Node, Shape, Value, check_rank, shape_str
from ..ir.registry import OpDef, WeightSpec, register
from .conv_lstm_numpy import numpy_context
from .recurrent import STATE_NAMES
from .window import Window, plan_window, spatial_size

if TYPE_CHECKING:
    from ..ir.lowering import Builder, LayerSpec


def _only_false(what: str) -> Any:
    def check(v: Any) -> bool:
        if v is not False:
            raise ValueError(f"false ({what} is not supported)")
        return False

    return check


def conv_lstm_params(rank: int) -> dict[str, Param]:
    """Keras's constructor arguments of ConvLSTM<rank>D."""
    return {
        "filters": Param(REQUIRED, integer(lo=1)),
        "kernel_size": Param(REQUIRED, int_tuple(rank)),
        "strides": Param((1,) * rank, int_tuple(rank)),
        "padding": Param("valid", choice("valid", "same", any_case=True)),
        "data_format": Param(None, optional(choice("channels_last", any_case=True))),
        "dilation_rate": Param((1,) * rank, int_tuple(rank)),
        "activation": Param("tanh", rnn_activation),
        "recurrent_activation": Param("sigmoid", rnn_activation),
        "use_bias": Param(True, boolean),
        "kernel_initializer": Param("glorot_uniform", initializer),
        "recurrent_initializer": Param("orthogonal", initializer),
        "bias_initializer": Param("zeros", initializer),
        "unit_forget_bias": Param(True, boolean),
        **dense_like_training(["kernel", "recurrent", "bias"]),
        "dropout": Param(0.0, number(lo=0, hi=1)),
        "recurrent_dropout": Param(0.0, number(lo=0, hi=1)),
        "seed": Param(None, optional(integer(lo=0))),
        "return_sequences": Param(False, boolean),
        "return_state": Param(False, boolean),
        "go_backwards": Param(False, boolean),
        "stateful": Param(False, _only_false("stateful: true")),
    }


class _ConvLSTM(OpDef):
    """A ConvLSTM of ``rank`` spatial axes: (N, T, *S, C) -> (N, [T,] *S', filters)."""

    rank: ClassVar[int] = 0
    n_states = 2
    onnx_lowering = "conv_recurrent"
    mask_flow, stream = "custom", "recurrent"
    reads_step_mask = True
    template = "conv_lstm"

    def check_attrs(self, attrs: dict[str, Any]) -> None:
        if max(attrs["strides"]) > 1 and max(attrs["dilation_rate"]) > 1:
            raise ValueError("strides > 1 cannot be combined with dilation_rate > 1")

    def frame(self, x: Value) -> Value:
        """One frame of the sequence ``x``: (N, *S, C)."""
        return Value("frame", (x.shape[0], *x.shape[2:]), x.dtype)

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        shape, f = shapes[0], attrs["filters"]
        if not all(isinstance(d, int) for d in shape[2:]):
            raise TdcError(
                f"{self.name} needs static spatial and channel dimensions, got {shape_str(shape)}"
            )
        taps = tuple(attrs["kernel_size"])
        specs = {
            "kernel": WeightSpec((*taps, shape[-1], 4 * f), attrs["kernel_initializer"]),
            "recurrent_kernel": WeightSpec((*taps, f, 4 * f), attrs["recurrent_initializer"]),
        }
        if attrs["use_bias"]:
            init = attrs["bias_initializer"]
            if attrs["unit_forget_bias"] and init == "zeros":
                init = "lstm_bias"
            specs["bias"] = WeightSpec((4 * f,), init)
        return specs

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        a = spec.attrs
        check_rank(inputs[0], (self.rank + 3,), self.name)
        x, states = inputs[0], inputs[1:]
        if states and len(states) != self.n_states:
            raise TdcError(
                f"{self.name} takes 2 initial states ({listing(STATE_NAMES)}) after the "
                f"sequence, got {len(states)}"
            )
        weights = b.weights(self.weight_specs(a, [x.shape]))
        mask = b.mask(x)
        if mask is not None and tuple(mask.shape) != tuple(x.shape[:2]):
            raise TdcError(
                f"{self.name} reads a mask of shape {shape_str(mask.shape)} on its "
                f"{shape_str(x.shape)} input, not one of its (batch, time) axes",
                accepted="a (batch, time) mask, e.g. Masking on (batch, time, features) "
                "then TimeDistributed(Reshape)",
            )
        read = None if states else mask  # as the other RNNs: initial_state= reads no mask
        attrs = {
            "filters": a["filters"],
            "strides": tuple(a["strides"]),
            "padding": a["padding"].lower(),
            "dilation_rate": tuple(a["dilation_rate"]),
            "act": a["activation"],
            "recurrent_act": a["recurrent_activation"],
            "return_sequences": a["return_sequences"],
            "go_backwards": a["go_backwards"],
            "masked": read is not None,
            "return_state": a["return_state"],
        }
        ins = [x, *([] if read is None else [read]), *states]
        outs = b.emit(self.name, ins, attrs, weights)
        if a["return_sequences"]:
            b.set_mask(outs[0], mask)
        return outs

    # -- IR op ------------------------------------------------------------------------
    def split_inputs(self, node: Node) -> tuple[Value, Value | None, list[Value]]:
        """(sequence, mask or None, initial states) of a node."""
        masked = node.attrs.get("masked", False)
        mask = node.inputs[1] if masked else None
        return node.inputs[0], mask, node.inputs[1 + int(masked) :]

    def window(self, node: Node) -> Window:
        """The input convolution's window over one frame."""
        a, taps = node.attrs, node.weights["kernel"].shape[: self.rank]
        frame = self.frame(node.inputs[0])
        return plan_window(frame, taps, a["strides"], a["dilation_rate"], a["padding"], node.op)

    def recurrent_window(self, node: Node) -> Window:
        """The recurrent convolution's window over the state: stride 1, padding 'same'."""
        taps = node.weights["kernel"].shape[: self.rank]
        one = (1,) * self.rank
        return plan_window(self.state_value(node), taps, one, one, "same", node.op)

    def state_value(self, node: Node) -> Value:
        x, f = node.inputs[0], node.attrs["filters"]
        return Value("state", (x.shape[0], *self.window(node).out, f), "float32")

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, mask, states = self.split_inputs(node)
        check_rank(x, (self.rank + 3,), self.name)
        kernel = node.weights["kernel"]
        if x.shape[-1] != kernel.shape[-2]:
            raise TdcError(f"{self.name} kernel {kernel.shape} does not fit {shape_str(x.shape)}")
        if mask is not None and tuple(mask.shape) != tuple(x.shape[:2]):
            raise TdcError(f"{self.name} needs a (batch, time) mask, got {shape_str(mask.shape)}")
        state = self.state_value(node).shape
        for s, what in zip(states, STATE_NAMES, strict=False):
            if tuple(s.shape[1:]) != tuple(state[1:]) or s.dtype != "float32":
                raise TdcError(
                    f"{self.name} initial state {what} must be float32 "
                    f"{shape_str(('batch', *state[1:]))}, got {shape_str(s.shape)} {s.dtype}"
                )
        y = ((x.shape[0], x.shape[1], *state[1:]), "float32")
        out = y if node.attrs["return_sequences"] else (state, "float32")
        extra = [(state, "float32")] * 2 if node.attrs.get("return_state") else []
        return [out, *extra]

    def numpy(self, node: Node) -> dict[str, Any]:
        _, mask, states = self.split_inputs(node)
        return numpy_context(
            node, self.window(node), self.recurrent_window(node), mask is not None, bool(states)
        )

    def flops(self, node: Node) -> int:
        x, k = node.inputs[0], node.weights["kernel"]
        steps = x.shape[1] if isinstance(x.shape[1], int) else 1
        state = self.state_value(node).shape
        positions = spatial_size(state[1:-1])
        rk = node.weights["recurrent_kernel"]
        per_step = 2 * positions * (int(k.size) + int(rk.size)) + 10 * positions * state[-1]
        return steps * per_step


@register("ConvLSTM1D")
class ConvLSTM1D(_ConvLSTM):
    """ConvLSTM over (N, T, W, C)."""

    rank = 1
    params = conv_lstm_params(1)


@register("ConvLSTM2D")
class ConvLSTM2D(_ConvLSTM):
    """ConvLSTM over (N, T, H, W, C)."""

    rank = 2
    params = conv_lstm_params(2)


@register("ConvLSTM3D")
class ConvLSTM3D(_ConvLSTM):
    """ConvLSTM over (N, T, D, H, W, C)."""

    rank = 3
    params = conv_lstm_params(3)
