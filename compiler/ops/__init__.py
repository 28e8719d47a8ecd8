"""One module per layer family; importing this package registers every op."""

from . import activations, conv, core, normalization, pooling, recurrent, wrappers  # noqa: F401
