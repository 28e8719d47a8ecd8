"""Keras interop: the oracle model, `tdc import`, Keras's own ONNX export."""
