"""``tdc inspect``: per-layer output shapes, parameter counts and FLOPs.

Nested models (SPEC 1.1) show as a tree: a model's layers follow it, indented, and the
model's row counts everything inside it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..frontend.loader import ModelSpec
from ..frontend.nested import nested_of
from ..ir.graph import shape_str
from ..ir.lowering import Builder
from ..ops import get_op

Row = tuple[str, str, str, int, int]


def _per_layer(spec: ModelSpec) -> tuple[Builder, dict[str, int], dict[str, int]]:
    builder = Builder(spec)
    graph = builder.build()
    flops: dict[str, int] = {}
    for node in graph.nodes:
        flops[node.layer] = flops.get(node.layer, 0) + get_op(node.op).flops(node)
    params = {key: int(arr.size) for key, arr in builder.source.taken.items()}
    return builder, params, flops


def _within(table: dict[str, int], path: str) -> int:
    """The total of ``table``'s entries at ``path`` or below it."""
    return sum(v for k, v in table.items() if k == path or k.startswith(path + "/"))


def _rows(
    b: Builder, spec: ModelSpec, params: dict[str, int], flops: dict[str, int], prefix: str
) -> Iterator[Row]:
    indent = "  " * prefix.count("/")
    for lay in spec.layers:
        path = prefix + lay.name
        shape = shape_str(b.by_path[path][0].shape)
        total = sum(v for k, v in params.items() if k.startswith(path + "/"))
        yield indent + lay.name, lay.label, shape, total, _within(flops, path)
        inner = nested_of(lay)[0]
        if inner is not None and inner.model is not None:
            yield from _rows(b, inner.model, params, flops, path + "/")


def layer_table(spec: ModelSpec) -> str:
    """One row per YAML layer (nested models' layers indented under them); FLOPs are per
    sample and per time step (symbolic dims = 1)."""
    builder, params, flops = _per_layer(spec)
    rows: list[Row] = [
        (i.name, "Input", shape_str(builder.values[i.name][0].shape), 0, 0) for i in spec.inputs
    ]
    rows += list(_rows(builder, spec, params, flops, ""))
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
