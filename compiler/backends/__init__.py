"""Code generators: ``onnx`` (an onnx.ModelProto) and ``numpy`` (a standalone module)."""
