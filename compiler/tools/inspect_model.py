"""``tdc inspect``: per-layer output shapes, parameter counts and FLOPs."""

from __future__ import annotations

from ..frontend.loader import ModelSpec
from ..ir.graph import shape_str
from ..ir.lowering import Builder
from ..ops import get_op


def _per_layer(spec: ModelSpec) -> tuple[Builder, dict[str, int], dict[str, int]]:
    builder = Builder(spec)
    graph = builder.build()
    flops: dict[str, int] = {}
    for node in graph.nodes:
        flops[node.layer] = flops.get(node.layer, 0) + get_op(node.op).flops(node)
    params: dict[str, int] = {}
    for key, arr in builder.source.taken.items():
        layer = key.split("/", 1)[0]
        params[layer] = params.get(layer, 0) + int(arr.size)
    return builder, params, flops


def layer_table(spec: ModelSpec) -> str:
    """One row per YAML layer; FLOPs are per sample and per time step (symbolic dims = 1)."""
    builder, params, flops = _per_layer(spec)
    rows = [
        (i.name, "Input", shape_str(builder.values[i.name][0].shape), 0, 0) for i in spec.inputs
    ]
    rows += [
        (
            lay.name,
            lay.label,
            shape_str(builder.values[lay.name][0].shape),
            params.get(lay.name, 0),
            flops.get(lay.name, 0),
        )
        for lay in spec.layers
    ]
    rows.append(("total", "", "", sum(params.values()), sum(flops.values())))
    w = [max(len(str(r[k])) for r in [("layer", "type", "output shape"), *rows]) for k in range(3)]
    head = f"{'layer':<{w[0]}}  {'type':<{w[1]}}  {'output shape':<{w[2]}}"
    head += f"  {'params':>10}  {'FLOPs':>12}"
    lines = [f"model '{spec.name}' ({spec.file})", head, "-" * len(head)]
    for k, (name, label, shape, p, f) in enumerate(rows):
        if k == len(rows) - 1:
            lines.append("-" * len(head))
        lines.append(f"{name:<{w[0]}}  {label:<{w[1]}}  {shape:<{w[2]}}  {p:>10,}  {f:>12,}")
    lines.append("N = batch, T = time; FLOPs per sample and time step.")
    return "\n".join(lines)
