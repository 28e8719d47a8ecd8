"""IR graph -> one standalone NumPy module, rendered from templates."""
