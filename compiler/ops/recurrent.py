"""Recurrent layers: SimpleRNN, LSTM and GRU (each one IR op of the same name).

Weights stay in Keras's layout and gate order (LSTM i, f, c, o; GRU z, r, h); the ONNX
lowering (``backends/onnx/rnn.py``) reorders them for ONNX's RNN/LSTM/GRU ops, the NumPy
templates use Keras's order directly. Node attrs: ``units``, ``act`` (Keras's
``activation``), ``recurrent_act`` (LSTM/GRU), ``return_sequences``, ``go_backwards``,
``masked``, ``return_state`` and, for GRU, ``reset_after``. Inputs: the (N, T, F) sequence,
then (``masked``) the Keras (N, T) bool mask: a masked step keeps the previous state and
repeats the previous output, then optionally the initial states (h, or h, c for LSTM).
Outputs: the output, then with ``return_state`` the final h (and c), like Keras. ONNX uses
the native op when it has the activations (a masked layer with each sample's valid steps
moved to the front, ``rnn_compact``); otherwise a Scan loop with the cell written
out (``rnn_scan``). ``act`` is deliberately not called
``activation``: that attr name means an activation fused after the op.

Empty inputs: a batch of 0 gives empty outputs of the same shapes as Keras. A sequence of
0 steps, which Keras itself cannot run (its RNN and TimeDistributed index step 0), gives
an empty output sequence, and a last output and final states equal to the initial state
(zeros, or the given ``initial_state``): what Keras gives for a sequence whose every step
is masked, i.e. no step was seen. ONNX guards each loop with an ``If`` on the input's size
(``if_nonempty`` in ``backends/onnx/rnn.py``): onnxruntime's LSTM and GRU abort on them,
its Scan fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import TdcError, listing
from ..frontend.params import Param, boolean
from ..ir.graph import Node, Shape, check_rank, shape_str
from ..ir.registry import OpDef, WeightSpec, register
from .activations import numpy_call
from .recurrent_params import rnn_params as _params

if TYPE_CHECKING:
    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec


#: Names of the initial states (NumPy variables), in Keras's ``initial_state`` order.
STATE_NAMES = ("h0", "c0")


class _Recurrent(OpDef):
    """Shared by the three layers: ``gates`` blocks of ``units`` columns per weight."""

    gates: ClassVar[int] = 1
    n_states = 1
    #: ONNX's own op for the layer; the lowering is the ONNX backend's (``rnn_lower``).
    onnx_op: ClassVar[str] = "RNN"
    onnx_lowering = "recurrent"
    mask_flow, stream = "custom", "recurrent"
    reads_step_mask = True

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

    def node_attrs(self, attrs: dict[str, Any], masked: bool) -> dict[str, Any]:
        """The IR attrs of the node (inference-relevant arguments only)."""
        out = {"units": attrs["units"], "act": attrs["activation"]}
        if "recurrent_activation" in attrs:
            out["recurrent_act"] = attrs["recurrent_activation"]
        out["return_sequences"] = attrs["return_sequences"]
        out["go_backwards"] = attrs["go_backwards"]
        out["masked"] = masked
        out["return_state"] = attrs["return_state"]
        return out

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        check_rank(inputs[0], (3,), self.name)
        x, states = inputs[0], inputs[1:]
        if states and len(states) != self.n_states:
            raise TdcError(
                f"{self.name} takes {self.n_states} initial state(s) "
                f"({listing(STATE_NAMES[: self.n_states])}) after the sequence, got {len(states)}"
            )
        weights = b.weights(self.weight_specs(spec.attrs, [x.shape]))
        mask = b.mask(x)
        # Live Keras 3 fills in ``mask`` only for a call with one tensor argument: with
        # initial_state= the steps are not masked, yet the output sequence keeps the mask.
        read = None if states else mask
        ins = [x, *([] if read is None else [read]), *states]
        attrs = self.node_attrs(spec.attrs, read is not None)
        outs = b.emit(self.name, ins, attrs, weights)
        if spec.attrs["return_sequences"]:  # Keras keeps the mask on the sequence only
            b.set_mask(outs[0], mask)
        return outs

    def split_inputs(self, node: Node) -> tuple[Value, Value | None, list[Value]]:
        """(sequence, mask or None, initial states) of a node."""
        masked = node.attrs.get("masked", False)
        mask = node.inputs[1] if masked else None
        return node.inputs[0], mask, node.inputs[1 + int(masked) :]

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        x, mask, states = self.split_inputs(node)
        check_rank(x, (3,), self.name)
        kernel, units = node.weights["kernel"], node.attrs["units"]
        if x.shape[-1] != kernel.shape[0]:
            raise TdcError(f"{self.name} kernel {kernel.shape} does not fit {shape_str(x.shape)}")
        if mask is not None and tuple(mask.shape) != tuple(x.shape[:2]):
            raise TdcError(f"{self.name} needs a (batch, time) mask, got {shape_str(mask.shape)}")
        for s, what in zip(states, STATE_NAMES, strict=False):
            if s.rank != 2 or s.shape[-1] != units or s.dtype != "float32":
                raise TdcError(
                    f"{self.name} initial state {what} must be float32 (batch, {units}), "
                    f"got {shape_str(s.shape)} {s.dtype}"
                )
        state = ((x.shape[0], units), "float32")
        y = ((x.shape[0], x.shape[1], units), "float32")
        extra = [state] * self.n_states if node.attrs.get("return_state") else []
        return [y if node.attrs["return_sequences"] else state, *extra]

    def numpy(self, node: Node) -> dict[str, Any]:
        a = node.attrs
        kinds = [a["act"], a.get("recurrent_act", "linear")]
        _, mask, states = self.split_inputs(node)
        ret_states = ("h", "c")[: self.n_states] if a.get("return_state") else ()
        return {
            "units": a["units"],
            "act": a["act"],
            "width": self.gates * a["units"],
            "use_bias": "bias" in node.weights,
            "return_sequences": a["return_sequences"],
            "go_backwards": a["go_backwards"],
            "masked": mask is not None,
            "initial": bool(states),
            "state_ret": "".join(f", {s}" for s in ret_states),
            "helpers": tuple(sorted({k for k in kinds if k != "linear"})),
            **self.numpy_exprs(node),
        }

    def numpy_exprs(self, node: Node) -> dict[str, Any]:
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
    n_states = 2
    onnx_op = "LSTM"
    params = _params(gated=True, extra={"unit_forget_bias": Param(True, boolean)})

    def bias_init(self, attrs: dict[str, Any]) -> str:
        if attrs["unit_forget_bias"] and attrs["bias_initializer"] == "zeros":
            return "lstm_bias"
        return attrs["bias_initializer"]

    def numpy_exprs(self, node: Node) -> dict[str, Any]:
        """Gate expressions on the step's ``z``; ``fast``: sigmoid gates and tanh cell, where
        the template computes every gate in place with one tanh call per step."""
        u, act, rec = node.attrs["units"], node.attrs["act"], node.attrs["recurrent_act"]
        fast = rec == "sigmoid" and act == "tanh"
        gates = [_slice("z", u, i) for i in range(4)]  # fast: activated in place already
        if not fast:
            gates = [numpy_call(k, {}, g) for k, g in zip((rec, rec, act, rec), gates, strict=True)]
        return {
            "fast": fast,
            **dict(zip(("gate_i", "gate_f", "cell_in", "gate_o"), gates, strict=True)),
            "cell_out": "np.tanh(c, out=ic)" if fast else numpy_call(act, {}, "c"),
            "cell_out_new": numpy_call(act, {}, "c_new"),
            **({"helpers": ("tanh",)} if fast else {}),
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

    def node_attrs(self, attrs: dict[str, Any], masked: bool) -> dict[str, Any]:
        return {**super().node_attrs(attrs, masked), "reset_after": attrs["reset_after"]}

    def numpy(self, node: Node) -> dict[str, Any]:
        return {**super().numpy(node), "reset_after": node.attrs["reset_after"]}

    def numpy_exprs(self, node: Node) -> dict[str, Any]:
        """Gate expressions on the step's ``zr``; ``fast``: sigmoid gates, computed in place
        with one tanh call per step; ``cand``: the statement activating ``hh`` in place."""
        u, act, rec = node.attrs["units"], node.attrs["act"], node.attrs["recurrent_act"]
        fast = rec == "sigmoid"
        cand = "np.tanh(hh, out=hh)" if act == "tanh" else f"hh = {numpy_call(act, {}, 'hh')}"
        used = {act} - {"linear", "tanh"} | (set() if fast else {rec} - {"linear"})
        return {
            "fast": fast,
            "gate_z": f"zr[:, :{u}]" if fast else numpy_call(rec, {}, f"zr[:, :{u}]"),
            "gate_r": f"zr[:, {u}:]" if fast else numpy_call(rec, {}, f"zr[:, {u}:]"),
            "cand": cand,
            "helpers": tuple(sorted(used)),
        }

    def cell_flops(self, units: int) -> int:
        return 5 * units
