"""Recurrent layers: SimpleRNN, LSTM and GRU (each one IR op of the same name).

Weights stay in Keras's layout and gate order (LSTM i, f, c, o; GRU z, r, h); the ONNX
lowering (``recurrent_onnx``) reorders them for ONNX's RNN/LSTM/GRU ops, the NumPy
templates use Keras's order directly. Node attrs: ``units``, ``act`` (Keras's
``activation``), ``recurrent_act`` (LSTM/GRU), ``return_sequences``, ``go_backwards`` and,
for GRU, ``reset_after``. A second input, when present, is the Keras (N, T) bool mask: a masked
step keeps the previous state and repeats the previous output (ONNX: a Scan loop,
``recurrent_masked``). ``act`` is deliberately not called ``activation``: that attr
name means an activation fused after the op.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import TdcError
from ..ir import Node, Shape, check_rank, shape_str
from ..params import (
    REQUIRED,
    Param,
    activation,
    boolean,
    dense_like_training,
    initializer,
    integer,
    number,
    optional,
)
from ..registry import OpDef, WeightSpec, register
from .activations import apply_fused, numpy_call
from .recurrent_masked import lower_onnx_masked
from .recurrent_onnx import RNN_ACTIVATIONS, lower_onnx

if TYPE_CHECKING:
    from ..backends.onnx import OnnxBuilder
    from ..ir import Value
    from ..lowering import Builder, LayerSpec


def rnn_activation(v: Any) -> str:
    """An activation that ONNX's recurrent ops can apply exactly (null means linear)."""
    try:
        kind = activation(v)
    except ValueError:
        kind = None
    if kind not in RNN_ACTIVATIONS:
        raise ValueError(
            ", ".join(RNN_ACTIVATIONS)
            + " or null: the activations ONNX's recurrent ops apply exactly"
        )
    return kind


def _only_false(what: str) -> Any:
    def check(v: Any) -> bool:
        if v is not False:
            raise ValueError(f"false ({what} is not supported yet)")
        return False

    return check


def _cudnn(v: Any) -> Any:
    if v == "auto" or isinstance(v, bool):
        return v
    raise ValueError("auto, true or false")


def _params(gated: bool, extra: dict[str, Param]) -> dict[str, Param]:
    """Keras's constructor arguments shared by the three layers (plus ``extra``)."""
    p: dict[str, Param] = {
        "units": Param(REQUIRED, integer(lo=1)),
        "activation": Param("tanh", rnn_activation),
    }
    if gated:
        p["recurrent_activation"] = Param("sigmoid", rnn_activation)
    p |= {
        "use_bias": Param(True, boolean),
        "kernel_initializer": Param("glorot_uniform", initializer),
        "recurrent_initializer": Param("orthogonal", initializer),
        "bias_initializer": Param("zeros", initializer),
        **extra,
        **dense_like_training(["kernel", "recurrent", "bias"]),
        "dropout": Param(0.0, number(lo=0, hi=1)),
        "recurrent_dropout": Param(0.0, number(lo=0, hi=1)),
        "seed": Param(None, optional(integer(lo=0))),
        "return_sequences": Param(False, boolean),
        "return_state": Param(False, _only_false("return_state: true")),
        "go_backwards": Param(False, boolean),
        "stateful": Param(False, _only_false("stateful: true")),
        "unroll": Param(False, boolean),
    }
    if gated:
        p["use_cudnn"] = Param("auto", _cudnn)
    return p


class _Recurrent(OpDef):
    """Shared by the three layers: ``gates`` blocks of ``units`` columns per weight."""

    gates: ClassVar[int] = 1
    onnx_op: ClassVar[str] = "RNN"
    mask_flow = "custom"

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        features = shapes[0][-1]
        if not isinstance(features, int):
            raise TdcError(
                f"{self.name} needs a static feature dimension, got {shape_str(shapes[0])}"
            )
        width = self.gates * attrs["units"]
        specs = {
            "kernel": WeightSpec((features, width), attrs["kernel_initializer"]),
            "recurrent_kernel": WeightSpec((attrs["units"], width), attrs["recurrent_initializer"]),
        }
        if attrs["use_bias"]:
            specs["bias"] = WeightSpec(self.bias_shape(attrs), self.bias_init(attrs))
        return specs

    def bias_shape(self, attrs: dict[str, Any]) -> tuple[int, ...]:
        return (self.gates * attrs["units"],)

    def bias_init(self, attrs: dict[str, Any]) -> str:
        return attrs["bias_initializer"]

    def node_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The IR attrs of the node (inference-relevant arguments only)."""
        out = {"units": attrs["units"], "act": attrs["activation"]}
        if "recurrent_activation" in attrs:
            out["recurrent_act"] = attrs["recurrent_activation"]
        out["return_sequences"] = attrs["return_sequences"]
        out["go_backwards"] = attrs["go_backwards"]
        return out

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        check_rank(inputs[0], (3,), self.name)
        weights = b.weights(self.weight_specs(spec.attrs, [inputs[0].shape]))
        mask = b.mask(inputs[0])
        ins = inputs if mask is None else [inputs[0], mask]
        outs = b.emit(self.name, ins, self.node_attrs(spec.attrs), weights)
        if spec.attrs["return_sequences"]:  # Keras keeps the mask on the sequence only
            b.set_mask(outs[0], mask)
        return outs

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x = node.inputs[0]
        check_rank(x, (3,), self.name)
        kernel, units = node.weights["kernel"], node.attrs["units"]
        if x.shape[-1] != kernel.shape[0]:
            raise TdcError(f"{self.name} kernel {kernel.shape} does not fit {shape_str(x.shape)}")
        if len(node.inputs) == 2 and tuple(node.inputs[1].shape) != tuple(x.shape[:2]):
            mask = shape_str(node.inputs[1].shape)
            raise TdcError(f"{self.name} needs a (batch, time) mask, got {mask}")
        if node.attrs["return_sequences"]:
            return [((x.shape[0], x.shape[1], units), "float32")]
        return [((x.shape[0], units), "float32")]

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        if len(node.inputs) == 2:  # masked: a Scan loop (native ops only skip post-padding)
            y = lower_onnx_masked(g, node, self.onnx_op)
        else:
            y = lower_onnx(g, node, self.onnx_op)
        g.set(node, apply_fused(g, node, y))

    def numpy(self, node: Node) -> dict[str, Any]:
        a = node.attrs
        kinds = [a["act"], a.get("recurrent_act", "linear")]
        return {
            "units": a["units"],
            "act": a["act"],
            "width": self.gates * a["units"],
            "use_bias": "bias" in node.weights,
            "return_sequences": a["return_sequences"],
            "go_backwards": a["go_backwards"],
            "masked": len(node.inputs) == 2,
            "helpers": tuple(sorted({k for k in kinds if k != "linear"})),
            **self.numpy_exprs(node),
        }

    def numpy_exprs(self, node: Node) -> dict[str, str]:
        """The per-step expressions (activations already applied), Keras gate order."""
        return {"h_new": numpy_call(node.attrs["act"], {}, "z")}

    def flops(self, node: Node) -> int:
        x = node.inputs[0]
        steps = x.shape[1] if isinstance(x.shape[1], int) else 1
        units, width = node.attrs["units"], self.gates * node.attrs["units"]
        per_step = 2 * width * (int(x.shape[2]) + units) + 2 * width + self.cell_flops(units)
        return steps * per_step

    def cell_flops(self, units: int) -> int:
        """Elementwise work per step besides the GEMMs, bias adds and gate activations."""
        return 0


def _slice(var: str, units: int, k: int) -> str:
    """Gate ``k`` (Keras order) of a ``(n, gates*units)`` array named ``var``."""
    return f"{var}[:, {k * units}:{(k + 1) * units}]"


@register("SimpleRNN")
class SimpleRNN(_Recurrent):
    """``h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)``."""

    params = _params(gated=False, extra={})


@register("LSTM")
class LSTM(_Recurrent):
    """Long short-term memory, Keras gate order i, f, c, o."""

    gates = 4
    onnx_op = "LSTM"
    params = _params(gated=True, extra={"unit_forget_bias": Param(True, boolean)})

    def bias_init(self, attrs: dict[str, Any]) -> str:
        if attrs["unit_forget_bias"] and attrs["bias_initializer"] == "zeros":
            return "lstm_bias"
        return attrs["bias_initializer"]

    def numpy_exprs(self, node: Node) -> dict[str, str]:
        u, act, rec = node.attrs["units"], node.attrs["act"], node.attrs["recurrent_act"]
        return {
            "gate_i": numpy_call(rec, {}, _slice("z", u, 0)),
            "gate_f": numpy_call(rec, {}, _slice("z", u, 1)),
            "cell_in": numpy_call(act, {}, _slice("z", u, 2)),
            "gate_o": numpy_call(rec, {}, _slice("z", u, 3)),
            "cell_out": numpy_call(act, {}, "c"),
        }

    def cell_flops(self, units: int) -> int:
        return 6 * units


@register("GRU")
class GRU(_Recurrent):
    """Gated recurrent unit, Keras gate order z, r, h; ``reset_after`` as Keras."""

    gates = 3
    onnx_op = "GRU"
    params = _params(gated=True, extra={"reset_after": Param(True, boolean)})

    def bias_shape(self, attrs: dict[str, Any]) -> tuple[int, ...]:
        width = 3 * attrs["units"]
        return (2, width) if attrs["reset_after"] else (width,)

    def node_attrs(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {**super().node_attrs(attrs), "reset_after": attrs["reset_after"]}

    def numpy(self, node: Node) -> dict[str, Any]:
        after = node.attrs["reset_after"]
        return {
            **super().numpy(node),
            "reset_after": after,
            "input_bias": "bias[0]" if after else "bias",
            "recurrent_bias": "bias[1]",
        }

    def numpy_exprs(self, node: Node) -> dict[str, str]:
        u, act, rec = node.attrs["units"], node.attrs["act"], node.attrs["recurrent_act"]
        return {
            "gate_z": numpy_call(rec, {}, f"zr[:, :{u}]"),
            "gate_r": numpy_call(rec, {}, f"zr[:, {u}:]"),
            "cand": numpy_call(act, {}, "hh"),
        }

    def cell_flops(self, units: int) -> int:
        return 5 * units
