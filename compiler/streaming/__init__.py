"""The step form of a causal model: one time step, its carried state."""
