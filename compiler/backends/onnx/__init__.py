"""IR graph -> ONNX model: building, layout, optimising, saving, running."""
