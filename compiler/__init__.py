"""tdc: a compiler for Keras-style sequence models (YAML -> IR -> ONNX / NumPy)."""

__version__ = "0.1.0"
