"""ONNX lowering of SimpleRNN / LSTM / GRU onto ONNX's native RNN, LSTM and GRU ops.

Layout 0: the (N, T, F) input is transposed to (T, N, F); ``go_backwards`` reverses the
time axis first, so ONNX's forward pass emits the sequence in Keras's (processing) order.
Weights are converted from Keras's layout here: gate blocks reordered (LSTM i, f, c, o ->
ONNX i, o, f, c; GRU z, r, h is already ONNX's order), transposed, and the bias split
into ONNX's ``B = [Wb, Rb]``. The op sits in an ``If`` that runs it only on an input with
elements (:func:`if_nonempty`): no samples or no steps give the initial states.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from onnx import TensorProto, helper

if TYPE_CHECKING:
    from ...ir.graph import Node, Value
    from .build import OnnxBuilder

#: Keras activation -> (ONNX RNN activation, alpha, beta) with exactly Keras's formula.
ONNX_RNN_ACTS: dict[str, tuple[str, float | None, float | None]] = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "relu": ("Relu", None, None),
    "leaky_relu": ("LeakyRelu", 0.2, None),
    "elu": ("Elu", 1.0, None),
    "softsign": ("Softsign", None, None),
}  # not Softplus: onnxruntime's overflows to inf past x = 88 where Keras's gives x; not
# linear (Affine): with a huge unbounded candidate, onnxruntime's gate z falls just short
# of 1 where Keras's rounds to 1, and (1 - z) * candidate is then huge instead of 0
RNN_ACTIVATIONS = tuple(ONNX_RNN_ACTS)

#: Keras gate index for each ONNX gate position.
GATE_ORDER = {"RNN": (0,), "LSTM": (0, 3, 1, 2), "GRU": (0, 1, 2)}
INT64_MIN = -(2**63)


def activation_attrs(kinds: list[str]) -> dict[str, Any]:
    """``activations`` plus the alpha/beta lists, consumed in order by the functions using them."""
    names, alphas, betas = [], [], []
    for kind in kinds:
        name, alpha, beta = ONNX_RNN_ACTS[kind]
        names.append(name)
        if alpha is not None:
            alphas.append(alpha)
        if beta is not None:
            betas.append(beta)
    attrs: dict[str, Any] = {"activations": names}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def reorder(w: np.ndarray, units: int, order: tuple[int, ...]) -> np.ndarray:
    """Gate blocks of the last axis of ``w`` in ONNX's order."""
    return np.concatenate([w[..., k * units : (k + 1) * units] for k in order], axis=-1)


def onnx_weights(node: Node, op: str) -> list[np.ndarray]:
    """``[W, R]`` or ``[W, R, B]`` with ONNX's shapes (one direction)."""
    units, order = node.attrs["units"], GATE_ORDER[op]
    w = node.weights
    out = [
        reorder(w["kernel"], units, order).T[None],
        reorder(w["recurrent_kernel"], units, order).T[None],
    ]
    if "bias" in w:
        bias = w["bias"]
        if bias.ndim == 2:  # GRU reset_after: input and recurrent biases
            wb, rb = reorder(bias[0], units, order), reorder(bias[1], units, order)
        else:
            wb = reorder(bias, units, order)
            rb = np.zeros_like(wb)
        out.append(np.concatenate([wb, rb])[None])
    return [np.ascontiguousarray(a, dtype=np.float32) for a in out]


def gate_kinds(node: Node, op: str) -> list[str]:
    """Activation per ONNX slot: RNN [f]; LSTM [f, g, h]; GRU [f, g]."""
    act = node.attrs["act"]
    if op == "RNN":
        return [act]
    rec = node.attrs["recurrent_act"]
    return [rec, act, act] if op == "LSTM" else [rec, act]


def initial_states(g: OnnxBuilder, node: Node) -> list[str]:
    """The initial states given to the layer, with ONNX's direction axis: (1, N, units)."""
    n_init = len(node.inputs) - 1 - int(node.attrs.get("masked", False))
    states = node.inputs[len(node.inputs) - n_init :] if n_init else []
    return [g.op("Unsqueeze", [g[s], g.ints([0], "axes")]) for s in states]


def nan_steps(g: OnnxBuilder, x: str, init: list[str]) -> tuple[str, str]:
    """Where Keras's state is NaN and ONNX's native ops would not say so.

    A NaN in a step's input (or in an initial state) makes Keras's state NaN from that
    step on; onnxruntime's native recurrent ops drop it. Returns a (T, N, 1) bool, true
    from a sample's first NaN step on, and an (N, 1) bool, true if the sample ever had one.
    """

    def any_nan(v: str, axes: list[int]) -> str:
        flags = g.op("Cast", [g.op("IsNaN", [v])], to=TensorProto.FLOAT)
        return g.op("ReduceMax", [flags], axes=axes, keepdims=1)  # opset 17: axes attr

    count = g.op("CumSum", [any_nan(x, [2]), g.ints([0], "axis")])  # (T, N, 1)
    for h in init:  # (1, N, units)
        count = g.op("Add", [count, any_nan(h, [2])])
    zero = g.const(np.float32(0.0), "zero")
    poisoned = g.op("Greater", [count, zero])
    ever = g.op("Greater", [g.op("ReduceMax", [count], axes=[0], keepdims=0), zero])
    return poisoned, ever


#: IR ops whose output holds only values of their first input, moved, or zeros.
_SELECTING = frozenset({"mask_apply", "reverse_time", "transpose", "reshape", "identity"})


def nan_free(v: Value) -> bool:
    """True when ``v`` provably holds no NaN: an Embedding lookup (weights are finite, the
    weights file refuses anything else), seen through ops that only move, select or zero
    values and fuse no activation. The NaN guard of :func:`nan_steps` is then left out:
    there is nothing for it to find."""
    node = v.producer
    while node is not None and node.op in _SELECTING and "activation" not in node.attrs:
        node = node.inputs[0].producer
    return node is not None and node.op == "Embedding" and "activation" not in node.attrs


def native_op(
    g: OnnxBuilder, node: Node, op: str, x: str, lens: str = ""
) -> tuple[str, list[str], list[str]]:
    """ONNX's own RNN / LSTM / GRU over the time-major ``x`` (``lens``: its optional
    ``sequence_lens``): returns (Y, final states, the initial states given to it); Y is ""
    without ``return_sequences``. The op runs only when ``x`` has elements (see
    :func:`if_nonempty`); on no steps or no samples, Y is empty and the final states are
    the initial ones (or zeros)."""
    names = ("W", "R", "B")
    weights = [g.const(a, n) for a, n in zip(onnx_weights(node, op), names, strict=False)]
    inputs = [x, *weights]
    init = initial_states(g, node)
    if init or lens:  # B and sequence_lens are optional inputs: "" when absent
        inputs += [""] * (4 - len(inputs)) + [lens] + init
    attrs = {"hidden_size": node.attrs["units"], **activation_attrs(gate_kinds(node, op))}
    if op == "GRU":
        attrs["linear_before_reset"] = int(node.attrs["reset_after"])
    n_states = 2 if op == "LSTM" and node.attrs.get("return_state") else 1
    seqs = bool(node.attrs["return_sequences"])
    units = node.attrs["units"]

    def run() -> list[str]:
        y, *finals = g.op(op, inputs, n_out=1 + n_states, **attrs)
        if not seqs:  # an optional output left out: the op need not write it
            g.nodes[-1].output[0] = ""
        return [y, *finals] if seqs else finals

    def empty() -> list[str]:
        tn = g.op("Slice", [g.op("Shape", [x]), g.ints([0], "starts"), g.ints([2], "ends")])
        y = [g.op("Unsqueeze", [zeros(g, tn, units), g.ints([1], "axes")])] if seqs else []
        n = g.op("Slice", [g.op("Shape", [x]), g.ints([1], "starts"), g.ints([2], "ends")])
        zero = g.op("Unsqueeze", [zeros(g, n, units), g.ints([0], "axes")])
        return [*y, *(init[:n_states] if init else [zero] * n_states)]

    y, *finals = if_nonempty(g, node.layer, x, run, empty)
    return (y, finals, init) if seqs else ("", [y, *finals], init)


def zeros(g: OnnxBuilder, lead: str, units: int) -> str:
    """A float zero tensor of shape ``(*lead, units)`` (``lead``: an int64 shape vector)."""
    shape = g.op("Concat", [lead, g.ints([units])], axis=0)
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [1], [0.0])
    return g.op("ConstantOfShape", [shape], value=zero)


def if_nonempty(
    g: OnnxBuilder,
    layer: str,
    x: str,
    run: Callable[[], list[str]],
    empty: Callable[[], list[str]],
) -> list[str]:
    """The outputs of the nodes ``run`` emits when ``x`` has elements, else of those
    ``empty`` emits: one ONNX ``If`` on ``Size(x) > 0``.

    onnxruntime's native LSTM and GRU abort the whole process on a batch of 0 (GRU on 0
    steps too) and Scan fails on 0 steps, so a recurrent loop runs in the ``then`` branch
    only; ``empty`` gives the same outputs, empty or the initial states, without running
    it. The test is two scalar ops per layer: the loop itself is not slowed.
    """
    cond = g.op("Greater", [g.op("Size", [x]), g.const(np.int64(0), "zero", np.int64)])
    then_branch, n_out = _branch(g, run, f"{layer}/nonempty")
    else_branch, _ = _branch(g, empty, f"{layer}/empty")
    outs = g.op("If", [cond], n_out=n_out, then_branch=then_branch, else_branch=else_branch)
    return outs if n_out > 1 else [outs]


def _branch(g: OnnxBuilder, build: Callable[[], list[str]], name: str) -> tuple[Any, int]:
    """A subgraph of the nodes ``build`` emits (reading outer names), and its output count."""
    outer, g.nodes = g.nodes, []
    outs = build()
    made = {o for n in g.nodes for o in n.output}
    for k, o in enumerate(outs):  # outer names passed on and repeats: each output its own
        if o not in made or o in outs[:k]:
            outs[k] = g.op("Identity", [o])
    nodes, g.nodes = g.nodes, outer
    infos = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    return helper.make_graph(nodes, g.fresh(name), [], infos), len(outs)


def guarded(
    g: OnnxBuilder, node: Node, x: str, y: str, finals: list[str], init: list[str], some: str = ""
) -> tuple[str, list[str]]:
    """The native op's (T, N, units) sequence ("" without ``return_sequences``) and final
    states, NaN where Keras's are (see :func:`nan_steps`; ``x`` the time-major input).
    ``some``: an (N, 1) bool, false for a sample whose states stay the initial ones."""
    guard = None if not init and nan_free(node.inputs[0]) else nan_steps(g, x, init)
    nan = g.const(np.float32(np.nan), "nan") if guard else ""
    states = [g.op("Squeeze", [s, g.ints([0], "axes")]) for s in finals]
    if some:
        firsts = [g.op("Squeeze", [i, g.ints([0], "axes")]) for i in init]
        states = [g.op("Where", [some, s, i]) for s, i in zip(states, firsts, strict=False)]
    if guard:
        states = [g.op("Where", [guard[1], nan, s]) for s in states]
    seq = ""
    if node.attrs["return_sequences"]:
        seq = g.op("Squeeze", [y, g.ints([1], "axes")])
        seq = g.op("Where", [guard[0], nan, seq]) if guard else seq
    return seq, states


def layer_outputs(g: OnnxBuilder, node: Node, seq: str, states: list[str]) -> list[str]:
    """(output, states...) as the layer returns them; ``seq``: the (N, T, units) sequence."""
    if node.attrs["return_sequences"]:
        out = seq
    else:  # a distinct name, so the output and the state can be graph outputs both
        out = g.op("Identity", [states[0]]) if node.attrs.get("return_state") else states[0]
    return [out, *states] if node.attrs.get("return_state") else [out]


def lower_onnx(g: OnnxBuilder, node: Node, op: str) -> list[str]:
    """Emit the nodes of one recurrent layer; returns its output names (output, states...)."""
    x = g.op("Transpose", [g[node.inputs[0]]], perm=[1, 0, 2])
    if node.attrs["go_backwards"]:
        ends = g.ints([INT64_MIN], "ends")
        x = g.op("Slice", [x, g.ints([-1], "starts"), ends, g.ints([0], "axes"), g.ints([-1])])
    y, finals, init = native_op(g, node, op, x)
    seq, states = guarded(g, node, x, y, finals, init)
    if seq:
        seq = g.op("Transpose", [seq], perm=[1, 0, 2])
    return layer_outputs(g, node, seq, states)
