"""One module per layer family; importing this package registers every op."""

from . import (  # noqa: F401
    activations,
    bidirectional,
    conv,
    conv_extra,
    core,
    dot,
    embedding,
    merge,
    normalization,
    pooling,
    recurrent,
    reshaping,
    wrappers,
)
