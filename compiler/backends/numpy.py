"""IR ``Graph`` -> one standalone NumPy module, rendered from ``templates/``.

Python prepares every name, shape and expression; the templates only loop and branch.
Each IR node becomes one function whose body is ``templates/ops/<op>.py.j2``.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from .. import __version__
from ..ir import Graph, Node, Value
from ..ops.activations import numpy_call
from ..registry import get_op


def templates_root() -> Path:
    """``compiler.templates`` when installed; the repository's ``templates/`` in a checkout."""
    try:
        return Path(str(resources.files("compiler.templates")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "templates"


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_root())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def template_path(op: str) -> str:
    return f"ops/{op}.py.j2"


def has_template(op: str) -> bool:
    return (templates_root() / template_path(op)).is_file()


class Names:
    """Turns arbitrary strings into unique, safe Python identifiers."""

    def __init__(self, reserved: set[str] | None = None) -> None:
        self.used = set(reserved or ()) | set(keyword.kwlist) | {"np", "self"}

    def __call__(self, raw: str, prefix: str = "") -> str:
        base = prefix + re.sub(r"\W", "_", raw, flags=re.ASCII)
        if not base or base[0].isdigit():
            base = "_" + base
        name, k = base, 1
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name


@dataclass
class Call:
    """One line of ``predict``: outputs = fn(inputs, weights)."""

    outs: str
    fn: str
    args: str


def _input_params(node: Node) -> list[str]:
    return ["x"] if len(node.inputs) == 1 else [f"x{i}" for i in range(len(node.inputs))]


def _function(env: jinja2.Environment, node: Node, fn: str) -> tuple[str, set[str]]:
    """One op's function text and the activation helpers it calls."""
    op = get_op(node.op)
    params = _input_params(node) + list(node.weights)
    act = node.attrs.get("activation", "linear")
    ctx: dict[str, Any] = {
        "fn": fn,
        "params": ", ".join(params),
        "layer": node.layer,
        "label": node.label,
        "op": node.op,
        "out_shape": _shape(node.output),
        "ret": numpy_call(act, node.attrs.get("act_params", {}), "y"),
        "in_shapes": [_shape(v) for v in node.inputs],
    }
    ctx.update(op.numpy(node))
    helpers = set(ctx.get("helpers", ()))
    if node.op == "act":
        helpers.add(node.attrs["kind"])
    if act != "linear":
        helpers.add(act)
    text = env.get_template(template_path(node.op)).render(ctx).rstrip() + "\n"
    return text, helpers


def _shape(v: Value) -> str:
    return "(" + ", ".join(str(d) for d in v.shape) + ("," if v.rank == 1 else "") + ")"


def to_numpy(graph: Graph, source: str) -> tuple[str, dict[str, np.ndarray]]:
    """The module's text and its weights (to be saved beside it as ``.npz``)."""
    env = _env()
    fnames, vnames = Names(), Names()
    values: dict[int, str] = {}
    for v in graph.inputs:
        values[id(v)] = vnames(v.name, "v_")
    functions, calls, weights, helpers = [], [], {}, set()
    for node in graph.nodes:
        fn = fnames(f"{node.layer}_{node.op.lower()}")
        body, used = _function(env, node, fn)
        functions.append(body)
        helpers |= used
        wargs = []
        for wname, arr in node.weights.items():
            weights[f"{fn}/{wname}"] = np.ascontiguousarray(arr, dtype=arr.dtype)
            wargs.append(f'w["{fn}/{wname}"]')
        for v in node.outputs:
            values[id(v)] = vnames(v.name, "v_")
        args = [values[id(v)] for v in node.inputs] + wargs
        outs = ", ".join(values[id(v)] for v in node.outputs)
        calls.append(Call(outs, fn, ", ".join(args)))
    text = env.get_template("module.py.j2").render(
        name=graph.name,
        version=__version__,
        source=source,
        helpers=sorted(helpers),
        functions=functions,
        calls=calls,
        inputs=[(repr(v.name), values[id(v)], _spec(v)) for v in graph.inputs],
        outputs=[
            (repr(n), values[id(v)]) for n, v in zip(graph.output_names, graph.outputs, strict=True)
        ],
    )
    return text, weights


def _spec(v: Value) -> str:
    dims = ", ".join(str(d) if isinstance(d, int) else "None" for d in v.shape)
    return f"(({dims}{',' if v.rank == 1 else ''}), np.{v.dtype})"


def load_module(text: str, weights: dict[str, np.ndarray], name: str = "tdc_model") -> Any:
    """Execute generated code in a fresh module namespace and return ``load()``'s model."""
    import types

    mod = types.ModuleType(name)
    exec(compile(text, f"<tdc:{name}>", "exec"), mod.__dict__)  # noqa: S102
    return mod.Model(weights)
