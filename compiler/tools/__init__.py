"""The commands: the CLI, compile/run/verify/inspect/bench/import."""
