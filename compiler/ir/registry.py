"""The op registry: every Keras layer type and every IR op is registered exactly once.

An ``OpDef`` subclass can play two roles:

* a **layer** accepted in model files (it has ``params``, Keras's constructor arguments),
  whose ``lower`` turns one YAML entry into IR nodes;
* an **IR op** (it overrides ``infer``), which then also provides ``onnx`` (its ONNX
  lowering) and ``numpy`` (the context for ``templates/ops/<name>.py.j2``).

Most Keras layers are both (``Dense`` lowers to one ``Dense`` node). Some only lower to
other ops (``Flatten`` becomes ``reshape``); IR-only ops (``fold``, ``act``) have lowercase
names so they can never be confused with a Keras class.

What the lowering, the passes, streaming and the backends may do with an op is declared on
it, once, as *traits*: the class attributes and methods of ``OpDef`` below. The recipe for
a new layer and the list of traits are in ``compiler/ops/README.md``;
``tests/test_registry.py`` checks that every op declares what is read of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import TdcError
from ..frontend.params import Param

if TYPE_CHECKING:
    from ..backends.onnx.build import OnnxBuilder
    from .graph import Node, Shape, Value
    from .lowering import Builder, LayerSpec

OPS: dict[str, OpDef] = {}


@dataclass(frozen=True)
class WeightSpec:
    """A Keras variable: its shape and the initialiser that draws it when no file is given."""

    shape: tuple[int, ...]
    init: str


#: The values of ``OpDef.mask_flow`` (see there).
MASK_FLOWS = ("propagate", "drop", "merge_or", "sequence", "unsupported", "custom")
#: The values of ``OpDef.stream`` (see there).
STREAM_RULES = ("elementwise", "last_axis", "custom", "recurrent", "fold", "unfold", "time")


class StepRefused(Exception):
    """Raised by ``OpDef.step_attrs``: why the op cannot run one time step at a time (the
    streaming pass names the layer before it)."""


def step_axis(axis: int, rank: int) -> int:
    """``axis`` of a rank-``rank`` timed value, for its step value (rank - 1): positive axes
    shift down by one; the time axis itself is refused."""
    if axis % rank == 1:
        raise StepRefused("works along the time axis (axis 1)")
    return axis if axis < 0 else axis - 1


def register(name: str):
    """Class decorator: ``@register("Conv2D")`` adds one instance under ``name``."""

    def deco(cls: type[OpDef]) -> type[OpDef]:
        if name in OPS:
            raise AssertionError(f"op {name} registered twice")
        cls.name = name
        OPS[name] = cls()
        return cls

    return deco


def get_op(name: str) -> OpDef:
    """The op registered as ``name``. The op modules register themselves when the
    ``compiler.ops`` package is imported: code outside it imports ``get_op`` from there."""
    return OPS[name]


def layer_types() -> list[str]:
    """The Keras class names a model file may use."""
    return sorted(n for n, op in OPS.items() if op.params is not None)


def ir_ops() -> list[str]:
    return sorted(n for n, op in OPS.items() if op.is_ir_op)


def recurrent_layers() -> list[str]:
    """The layer types with recurrent state (``n_states > 0``), in registration order."""
    return [n for n, op in OPS.items() if op.n_states > 0 and op.params is not None]


class OpDef:
    """Base class; see the module docstring for the two roles."""

    name: ClassVar[str] = ""
    #: Keras constructor arguments (besides name/trainable/dtype); None: not a layer.
    params: ClassVar[dict[str, Param] | None] = None
    #: The layer wraps another one given under ``layer:`` (TimeDistributed).
    wrapper: ClassVar[bool] = False
    #: The layer takes a list of inputs (merge layers).
    multi_input: ClassVar[bool] = False
    #: The name of a lowering the ONNX backend provides for this op (the recurrent ops,
    #: whose loops need ONNX subgraphs); None: the op's own ``onnx`` method.
    onnx_lowering: ClassVar[str | None] = None
    #: The NumPy backend's template: ``templates/ops/<template>.py.j2``; None: the op's name.
    template: ClassVar[str | None] = None

    # -- traits: masks and recurrent state (read by ``lowering``, streaming, import) -----
    #: How Keras's mask reaches the layer's outputs (``Builder.flow_mask``); every layer
    #: declares one of ``MASK_FLOWS`` (None: an IR op only, never lowered from a file):
    #: "propagate": the first input's mask, unchanged (Keras's base ``compute_mask`` of a
    #: layer that supports masking: activations, Dense, dropout, normalization);
    #: "drop": no mask (convolutions, pooling, reshaping: Keras's layers without masking);
    #: "merge_or": the OR of the inputs' masks while every input has one (merge layers);
    #: "sequence": the first input's mask on the outputs that kept the time axis;
    #: "unsupported": a masked input is refused, naming the layer;
    #: "custom": ``lower`` reads ``b.mask`` and calls ``b.set_mask`` itself.
    mask_flow: ClassVar[str | None] = None
    #: Keras ORs the inputs' masks as they are (merge layers' ``compute_mask``), so masks
    #: that do not fit their inputs must agree in shape (``lowering.mask_misfit``).
    or_masks: ClassVar[bool] = False
    #: Reads its input's mask one step at a time, as Keras's RNN loop: the (batch, time)
    #: step mask (``Builder.mask``), any other is refused; its sequence outputs keep the
    #: input's Keras mask as it is.
    reads_step_mask: ClassVar[bool] = False
    #: Recurrent layers: how many states it carries (h; h and c): the initial states it
    #: takes as inputs after the sequence, its ``return_state`` outputs, its streaming
    #: states (``recurrent_layers``: Bidirectional wraps exactly these). 0: not recurrent.
    n_states: ClassVar[int] = 0
    #: A Keras operation (``ops.<name>``): the names of ``keras.ops.<name>``'s positional
    #: operands, given as ``inputs:``, where numbers are constant operands (those named in
    #: ``params`` as well may be keyword arguments instead). None: a layer.
    operands: ClassVar[tuple[str, ...] | None] = None

    # -- traits: how Keras calls the layer (the Keras oracle, ``tdc import``) -----------
    #: Keras call arguments the model file writes as layer keys (``use_causal_mask:
    #: true``): the oracle passes them to the call, not the constructor; ``tdc import``
    #: writes them from a saved call.
    call_params: ClassVar[tuple[str, ...]] = ()
    #: Keras takes the inputs as positional arguments (``mha(query, value, key)``), not as
    #: one list.
    positional_call: ClassVar[bool] = False
    #: A Keras call argument that takes a tensor (MultiHeadAttention's ``attention_mask``):
    #: the layer key of that name set true makes the last ``inputs:`` entry that argument,
    #: of any dtype (Keras casts it). None: no such argument.
    tensor_call_param: ClassVar[str | None] = None

    # -- traits: what the passes may do with the op (declared here, once) -------------
    #: Acts on the last axis alone, so it gives the same on (N, T, *S) as on (N*T, *S):
    #: ``sink_fold`` may move a fold below it (see ``sinks_fold``).
    last_axis_only: ClassVar[bool] = False
    #: Applies an ``activation`` attr itself: ``fuse_activation`` may fold a following
    #: activation into it.
    fuses_activation: ClassVar[bool] = False
    #: Has a ``kernel`` whose last axis is the output channel (and an optional ``bias``):
    #: ``fold_batchnorm`` may scale it by a following BatchNormalization.
    folds_batchnorm: ClassVar[bool] = False

    # -- streaming: how the IR op runs on one time step (``compiler/streaming``) ----------
    #: What the op does to a *timed* value (N, T, ...) in the step form, one of
    #: ``STREAM_RULES`` (every IR op declares one; None: not an IR op):
    #: "elementwise": per element, or combining same-shaped values: attrs unchanged;
    #: "last_axis": acts on the last axis only (refused where that is the time axis);
    #: "custom": ``step_attrs`` gives the attrs for the step value (or refuses);
    #: "recurrent": runs one step from the carried states (``n_states`` of them);
    #: "fold" / "unfold": merges / splits batch and time: dropped on the stream's time axis;
    #: "time": works along the time axis: no step form, refused with ``stream_why``.
    stream: ClassVar[str | None] = None
    #: Why a "time" op has no step form; the refusal reads "<layer> <stream_why>, so ...".
    stream_why: ClassVar[str] = "works along the time axis"
    #: Causal attention: on a timed input the step attends over carried key/value caches
    #: (``cache_step`` gives the step's attrs, ``cache_units`` the caches); otherwise the
    #: op's ``stream`` rule applies.
    kv_cache: ClassVar[bool] = False

    # -- layer role ----------------------------------------------------------------
    def check_attrs(self, attrs: dict[str, Any]) -> None:
        """Cross-argument checks after each argument passed its own (raise ValueError)."""

    def weight_specs(self, attrs: dict[str, Any], shapes: list[Shape]) -> dict[str, WeightSpec]:
        return {}

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        weights = b.weights(self.weight_specs(spec.attrs, [v.shape for v in inputs]))
        return b.emit(self.name, inputs, spec.attrs, weights)

    # -- IR-op role ----------------------------------------------------------------
    @property
    def is_ir_op(self) -> bool:
        return type(self).infer is not OpDef.infer

    def infer(self, node: Node) -> list[tuple[Shape, str]]:
        raise TdcError(f"{self.name} is not an IR op")

    def onnx(self, g: OnnxBuilder, node: Node) -> None:
        raise NotImplementedError(f"no ONNX lowering for {self.name}")

    def numpy(self, node: Node) -> dict[str, Any]:
        """Template variables for ``templates/ops/<name>.py.j2`` besides the common ones."""
        return {}

    def sinks_fold(self, node: Node) -> bool:
        """Whether ``sink_fold`` may move a fold from ``node``'s input to its output."""
        return self.last_axis_only and len(node.inputs) == 1

    def step_attrs(self, node: Node, rank: int) -> dict[str, Any]:
        """The attrs of ``node`` on one step of its rank-``rank`` timed inputs (rank - 1),
        for ``stream == "custom"``; raise ``StepRefused`` when the op mixes steps."""
        raise NotImplementedError(f"{self.name} declares no step_attrs")

    def cache_step(self, node: Node) -> dict[str, Any]:
        """For ``kv_cache``: the attrs of one step over the key/value caches (the op takes
        the caches as its last two inputs and returns them grown by the step as its
        last two outputs); raise ``StepRefused`` when this node cannot stream."""
        raise NotImplementedError(f"{self.name} declares no cache_step")

    def cache_units(self, node: Node) -> list[tuple[str, int]]:
        """For ``kv_cache``: the carried caches, (what, units) each: (batch, steps so far,
        units), empty before the first step."""
        raise NotImplementedError(f"{self.name} declares no cache_units")

    def dtype_free_inputs(self, attrs: dict[str, Any]) -> int:
        """How many trailing inputs may hold any dtype (a ``tensor_call_param`` given)."""
        return int(bool(self.tensor_call_param and attrs.get(self.tensor_call_param)))

    def flops(self, node: Node) -> int:
        """Floating-point operations for batch 1 and every symbolic dim set to 1."""
        return 0
