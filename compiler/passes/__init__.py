"""The pass pipeline: an explicit ordered tuple, run to a fixpoint, graph verified after each."""

from __future__ import annotations

from collections.abc import Callable

from ..ir import Graph

Pass = Callable[[Graph], bool]
PIPELINE: tuple[Pass, ...] = ()


def run_pipeline(
    graph: Graph, passes: tuple[Pass, ...] | None = None, max_rounds: int = 20
) -> list[str]:
    """Run ``passes`` in order until none changes the graph; returns the log of changes."""
    log: list[str] = []
    for _ in range(max_rounds):
        changed = False
        for p in PIPELINE if passes is None else passes:
            if p(graph):
                changed = True
                log.append(p.__module__.rsplit(".", 1)[-1])
            graph.verify()
        if not changed:
            break
    return log
