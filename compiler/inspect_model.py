"""``tdc inspect``: per-layer output shapes, parameter counts and FLOPs."""

from __future__ import annotations

from .ir import shape_str
from .loader import ModelSpec
from .lowering import Builder
from .registry import get_op


def layer_table(spec: ModelSpec) -> str:
    """One row per YAML layer; FLOPs are per sample and per time step (symbolic dims = 1)."""
    builder = Builder(spec)
    graph = builder.build()
    flops: dict[str, int] = {}
    for node in graph.nodes:
        flops[node.layer] = flops.get(node.layer, 0) + get_op(node.op).flops(node)
    params: dict[str, int] = {}
    for key, arr in builder.source.taken.items():
        layer = key.split("/", 1)[0]
        params[layer] = params.get(layer, 0) + int(arr.size)
    head = f"{'layer':<24} {'type':<34} {'output shape':<24} {'params':>10} {'FLOPs':>12}"
    lines = [f"model '{spec.name}' ({spec.file})", head, "-" * len(head)]
    for inp in spec.inputs:
        shape = shape_str(builder.values[inp.name][0].shape)
        lines.append(f"{inp.name:<24} {'Input':<34} {shape:<24} {0:>10} {0:>12}")
    for lay in spec.layers:
        shape = shape_str(builder.values[lay.name][0].shape)
        lines.append(
            f"{lay.name:<24} {lay.label:<34} {shape:<24} {params.get(lay.name, 0):>10,} "
            f"{flops.get(lay.name, 0):>12,}"
        )
    total_p, total_f = sum(params.values()), sum(flops.values())
    lines.append("-" * len(head))
    lines.append(f"{'total':<24} {'':<34} {'':<24} {total_p:>10,} {total_f:>12,}")
    lines.append("N = batch, T = time; FLOPs per sample and time step.")
    return "\n".join(lines)
