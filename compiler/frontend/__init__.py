"""Reading a model: the YAML file, its arguments, wiring and weights."""
