"""The typed graph, the op registry, and lowering a model file to the graph."""
