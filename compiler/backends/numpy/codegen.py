"""IR ``Graph`` -> one standalone NumPy module, rendered from ``templates/``.

Python prepares every name, shape and expression; the templates only loop and branch
(:mod:`.templating` says what an op template is given and may declare). Values are
named by :mod:`.names`, functions and prepared weights gathered by :mod:`.functions`, and
:func:`.layout.fit` keeps every line within 100 columns.
"""

from __future__ import annotations

from typing import Any

import jinja2
import numpy as np

from ... import __version__
from ...ir.graph import Graph, Node, Value
from ...ops import get_op
from ...ops.activations import numpy_call
from .functions import Module
from .layout import fit
from .templating import (
    Rendered,
    _env,
    has_template,
    input_names,
    shape,
    template_path,
    templates_root,
)
from .text import code_text

__all__ = ["has_template", "load_module", "template_path", "templates_root", "to_numpy"]


def _function(env: jinja2.Environment, node: Node, fn: str) -> Rendered:
    op = get_op(node.op)
    act = node.attrs.get("activation", "linear")
    ctx: dict[str, Any] = {
        "fn": fn,
        "inputs": input_names(node),
        "weights": list(node.weights),
        "shapes": {k: repr(tuple(arr.shape)) for k, arr in node.weights.items()},
        "layer": code_text(node.layer, "comment"),
        "label": code_text(node.label, "comment"),
        "op": node.op,
        "out_shape": shape(node.output),
        "out_dims": list(node.output.shape),
        "ret": numpy_call(act, node.attrs.get("act_params", {}), "y"),
        "in_shapes": [shape(v) for v in node.inputs],
    }
    ctx.update(op.numpy(node))
    if "what" in ctx:
        ctx["what"] = code_text(ctx["what"], "comment")
    helpers = set(ctx.get("helpers", ()))
    if node.op == "act":
        helpers.add(node.attrs["kind"])
    if act != "linear":
        helpers.add(act)
    module = env.get_template(template_path(node.op)).make_module(ctx)
    prepare = str(module.prepare()).strip() if hasattr(module, "prepare") else ""
    weights = list(getattr(module, "weights", ctx["weights"]))
    return Rendered(str(module).rstrip() + "\n", weights, prepare, helpers)


def _io(graph: Graph, values: dict, n_outputs: int | None = None) -> dict[str, Any]:
    """Inputs as (key, variable, spec) and outputs as (key, variable) for the template."""
    pairs = list(zip(graph.output_names, graph.outputs, strict=True))[:n_outputs]
    return {
        "inputs": [(code_text(v.name), values[id(v)], _spec(v)) for v in graph.inputs],
        "outputs": [(code_text(n), values[id(v)]) for n, v in pairs],
    }


def id_limits(graph: Graph) -> dict[str, int]:
    """Integer inputs by name: the fewest rows of the Embeddings that gather with them
    (directly or through TimeDistributed's fold); their ids must lie below."""
    made = {id(v): n for n in graph.nodes for v in n.outputs}
    names = {id(v): v.name for v in graph.inputs}
    limits: dict[str, int] = {}
    for node in graph.nodes:
        if node.op != "Embedding":
            continue
        v = node.inputs[0]
        while id(v) in made and made[id(v)].op == "fold":
            v = made[id(v)].inputs[0]
        if id(v) in names:
            rows = int(node.weights["embeddings"].shape[0])
            limits[names[id(v)]] = min(limits.get(names[id(v)], rows), rows)
    return limits


def _step_context(m: Module, step: Any, rendered: tuple[list, list] | None) -> dict:
    """Template context of ``init_state`` / ``step`` (``step`` a StepGraph, whose
    functions ``rendered`` holds, or the reason there is none)."""
    if isinstance(step, str) or rendered is None:
        return {"streaming": None, "not_causal": code_text(str(step))}
    (functions, calls), g = rendered, step.graph
    n_in = len(g.inputs) - len(step.states)
    states, finals = g.inputs[n_in:], g.outputs[len(g.outputs) - len(step.states) :]
    given = {id(v): (s.layer, f"_{s.what}0") for s, v in zip(step.states, states, strict=True)}
    values = m.name_values(g, calls, given)
    io = _io(g, values, len(g.outputs) - len(step.states))
    return {
        "not_causal": None,
        "streaming": {
            "functions": functions,
            "calls": calls,
            "inputs": io["inputs"][:n_in],
            "outputs": io["outputs"],
            "states": [
                (code_text(st.key), values[id(v)], values[id(f)], str(st.per_sample))
                + _state_text(st)
                for st, v, f in zip(step.states, states, finals, strict=True)
            ],
        },
    }


def _state_text(state: Any) -> tuple[str, str]:
    """A carried state's recurrent layer and which state it is, as string literals."""
    return code_text(state.layer), code_text(state.what)


def to_numpy(
    graph: Graph, source: str, step: Any = None, precision: str = "float32"
) -> tuple[str, dict[str, np.ndarray]]:
    """The module's text and its weights (to be saved beside it as ``.npz``).

    ``step`` is the model's ``StepGraph`` (the module gets ``init_state`` and ``step``) or
    the reason it has none (they raise it). ``precision`` float16: the weights are
    returned as float16 (the module casts them back to float32 when it loads).
    """
    m = Module(_env(), _function)
    functions, calls = m.render(graph)  # every function is named before any value
    step = step or "compiled without a step form"
    stepped = None if isinstance(step, str) else m.render(step.graph, "step_")
    values = m.name_values(graph, calls, {})
    stream = _step_context(m, step, stepped)
    text = m.env.get_template("module.py.j2").render(
        name=code_text(graph.name, "docstring"),
        version=code_text(__version__, "docstring"),
        source=code_text(source, "docstring"),
        helpers=sorted(m.helpers),
        functions=functions,
        calls=calls,
        init=m.init,
        id_limits=[(code_text(k), n) for k, n in id_limits(graph).items()],
        precision=precision,
        **_io(graph, values),
        **stream,
    )
    if precision == "float16":
        return fit(text), {k: _half(v) for k, v in m.arrays.items()}
    return fit(text), m.arrays


def _half(arr: np.ndarray) -> np.ndarray:
    return arr.astype(np.float16) if arr.dtype == np.float32 else arr


def _spec(v: Value) -> str:
    dims = ", ".join(str(d) if isinstance(d, int) else "None" for d in v.shape)
    return f"(({dims}{',' if v.rank == 1 else ''}), np.{v.dtype})"


def load_module(text: str, weights: dict[str, np.ndarray], name: str = "tdc_model") -> Any:
    """Execute generated code in a fresh module namespace and return ``load()``'s model."""
    import types

    mod = types.ModuleType(name)
    exec(compile(text, f"<tdc:{name}>", "exec"), mod.__dict__)  # noqa: S102
    return mod.Model(weights)
