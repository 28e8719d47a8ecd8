"""One module per layer family; importing this package registers every op.

Code outside the op modules looks ops up through this package (``from ..ops import
get_op``), which guarantees that every family is registered first."""

from ..ir.registry import get_op, ir_ops, layer_types, recurrent_layers  # noqa: E402
from . import (  # noqa: F401
    activations,
    attention,
    attention_score,
    bidirectional,
    conv,
    conv_extra,
    conv_lstm,
    core,
    dot,
    embedding,
    keras_build_ir,
    keras_build_ops,
    keras_ir,
    keras_linalg,
    keras_ops,
    keras_shape_ir,
    keras_shape_ops,
    layer_normalization,
    layer_scale,
    merge,
    models,
    normalization,
    normalization_more,
    pooling,
    preprocessing,
    recurrent,
    reshaping,
    resize,
    wrappers,
)

__all__ = ["get_op", "ir_ops", "layer_types", "recurrent_layers"]
