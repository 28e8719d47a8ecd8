"""The op registry: every Keras layer type and every IR op is registered exactly once.

An ``OpDef`` subclass can play two roles:

* a **layer** accepted in model files (it has ``params``, Keras's constructor arguments),
  whose ``lower`` turns one YAML entry into IR nodes;
* an **IR op** (it overrides ``infer``), which then also provides ``onnx`` (its ONNX
  lowering) and ``numpy`` (the context for ``templates/ops/<name>.py.j2``).

Most Keras layers are both (``Dense`` lowers to one ``Dense`` node). Some only lower to
other ops (``Flatten`` becomes ``reshape``); IR-only ops (``fold``, ``act``) have lowercase
names so they can never be confused with a Keras class.
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


class OpDef:
    """Base class; see the module docstring for the two roles."""

    name: ClassVar[str] = ""
    #: Keras constructor arguments (besides name/trainable/dtype); None: not a layer.
    params: ClassVar[dict[str, Param] | None] = None
    #: The layer wraps another one given under ``layer:`` (TimeDistributed).
    wrapper: ClassVar[bool] = False
    #: The layer takes a list of inputs (merge layers).
    multi_input: ClassVar[bool] = False
    #: How the Keras mask of the first input reaches the outputs: "auto" (Keras's own
    #: behaviour, looked up by layer type in ``lowering.KERAS_MASK_FLOW``), "propagate",
    #: "drop", or "custom" (``lower`` reads ``b.mask`` and calls ``b.set_mask`` itself).
    mask_flow: ClassVar[str] = "auto"
    #: The name of a lowering the ONNX backend provides for this op (the recurrent ops,
    #: whose loops need ONNX subgraphs); None: the op's own ``onnx`` method.
    onnx_lowering: ClassVar[str | None] = None

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

    def flops(self, node: Node) -> int:
        """Floating-point operations for batch 1 and every symbolic dim set to 1."""
        return 0
