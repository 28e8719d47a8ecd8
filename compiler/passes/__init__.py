"""The pass pipeline: an explicit ordered tuple, run to a fixpoint, graph verified after each.

Each pass is a function ``(graph) -> bool`` (did it change anything) in a file of its own,
whose docstring shows the graph before and after. Passes edit the graph only through its
methods (``insert_before`` / ``insert_after``, ``remove``, ``replace_uses``, ``set_input``),
which keep producers and use lists current: a removed node is no one's producer.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir.graph import Graph
from ..ir.verify import verify
from .cancel_fold import cancel_fold
from .dce import dce
from .drop_noops import drop_noops
from .fold_affine import fold_affine
from .fold_batchnorm import fold_batchnorm
from .fold_batchnorm_depthwise import fold_batchnorm_depthwise
from .fold_batchnorm_forward import fold_batchnorm_forward
from .fuse_activation import fuse_activation
from .fuse_pad import fuse_pad
from .fuse_pad_pool import fuse_pad_pool
from .hoist_unfold import hoist_unfold
from .relu_clip import relu_clip
from .sink_fold import sink_fold

Pass = Callable[[Graph], bool]

PIPELINE: tuple[Pass, ...] = (
    drop_noops,
    cancel_fold,
    hoist_unfold,
    sink_fold,
    relu_clip,
    fold_affine,
    fold_batchnorm,
    fold_batchnorm_depthwise,
    fold_batchnorm_forward,
    fuse_pad,
    fuse_pad_pool,
    fuse_activation,
    dce,
)


def run_pipeline(
    graph: Graph, passes: tuple[Pass, ...] | None = None, max_rounds: int = 20
) -> list[str]:
    """Run ``passes`` in order until none changes the graph; returns the names that fired."""
    log: list[str] = []
    for _ in range(max_rounds):
        changed = False
        for p in PIPELINE if passes is None else passes:
            if p(graph):
                changed = True
                log.append(p.__name__)
            verify(graph)
        if not changed:
            return log
    raise AssertionError(f"passes did not reach a fixpoint in {max_rounds} rounds: {log[-8:]}")
