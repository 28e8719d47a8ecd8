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

from ... import __version__
from ...ir.graph import Graph, Node, Value
from ...ops import get_op
from ...ops.activations import numpy_call
from .text import code_text, finalize, rendered


def templates_root() -> Path:
    """``compiler.templates`` when installed; the repository's ``templates/`` in a checkout."""
    try:
        return Path(str(resources.files("compiler.templates")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[3] / "templates"


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_root())),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=finalize,
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
        if base.startswith("__"):  # a class body would mangle it (``__x`` -> ``_Model__x``)
            base = "n" + base
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
        "layer": code_text(node.layer, "comment"),
        "label": code_text(node.label, "comment"),
        "op": node.op,
        "out_shape": _shape(node.output),
        "ret": numpy_call(act, node.attrs.get("act_params", {}), "y"),
        "in_shapes": [_shape(v) for v in node.inputs],
    }
    ctx.update(op.numpy(node))
    if "what" in ctx:
        ctx["what"] = code_text(ctx["what"], "comment")
    helpers = set(ctx.get("helpers", ()))
    if node.op == "act":
        helpers.add(node.attrs["kind"])
    if act != "linear":
        helpers.add(act)
    text = env.get_template(template_path(node.op)).render(ctx).rstrip() + "\n"
    return text, helpers


def _shape(v: Value) -> str:
    return "(" + ", ".join(str(d) for d in v.shape) + ("," if v.rank == 1 else "") + ")"


@dataclass
class Rendered:
    """One graph's op functions, the lines calling them, and its value names."""

    functions: list[str]
    calls: list[Call]
    values: dict[int, str]
    helpers: set[str]


class Weights:
    """The module's ``.npz`` entries; an array used by several functions is stored once."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: list[tuple[np.ndarray, str]] = []

    def key(self, arr: np.ndarray, key: str) -> str:
        for known, k in self.seen:
            if known is arr:
                return k
        base, n = key, 1
        while key in self.arrays:
            key, n = f"{base}_{n}", n + 1
        self.seen.append((arr, key))
        self.arrays[key] = np.ascontiguousarray(arr, dtype=arr.dtype)
        return key


class Functions:
    """Function names, and the functions already written: a node of the same layer whose
    code is the same (the step form's convolutions, say) calls the existing one."""

    MARK = "__tdc_function__"

    def __init__(self) -> None:
        self.names = Names()
        self.written: dict[tuple[str, str], str] = {}

    def add(self, node: Node, body: str, hint: str) -> tuple[str, str | None]:
        """The function's name and its text (None when an existing one is reused)."""
        key = (node.layer, body.split("\n", 1)[-1])  # the code, less the shape comment
        if key in self.written:
            return self.written[key], None
        fn = self.written[key] = self.names(hint)
        return fn, rendered(body.replace(self.MARK, fn))


def _render(
    env: jinja2.Environment, graph: Graph, fns: Functions, weights: Weights, prefix: str = ""
) -> Rendered:
    """Render ``graph``'s nodes, one function each (named ``prefix`` + layer + op)."""
    vnames = Names()
    values = {id(v): vnames(v.name, "v_") for v in graph.inputs}
    out = Rendered([], [], values, set())
    for node in graph.nodes:
        body, used = _function(env, node, Functions.MARK)
        fn, text = fns.add(node, body, f"{prefix}{node.layer}_{node.op.lower()}")
        if text is not None:
            out.functions.append(text)
        out.helpers |= used
        keys = [weights.key(arr, f"{fn}/{k}") for k, arr in node.weights.items()]
        wargs = [f"w[{code_text(key)}]" for key in keys]
        for v in node.outputs:
            values[id(v)] = vnames(v.name, "v_")
        args = [values[id(v)] for v in node.inputs] + wargs
        outs = ", ".join(values[id(v)] for v in node.outputs)
        out.calls.append(Call(outs, fn, ", ".join(args)))
    return out


def _io(graph: Graph, r: Rendered, n_outputs: int | None = None) -> dict[str, Any]:
    """Inputs as (key, variable, spec) and outputs as (key, variable) for the template."""
    pairs = list(zip(graph.output_names, graph.outputs, strict=True))[:n_outputs]
    return {
        "inputs": [(code_text(v.name), r.values[id(v)], _spec(v)) for v in graph.inputs],
        "outputs": [(code_text(n), r.values[id(v)]) for n, v in pairs],
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


def _step_context(env: jinja2.Environment, step: Any, fns: Functions, weights: Weights) -> dict:
    """Template context of ``init_state`` / ``step`` (``step`` a StepGraph or a reason)."""
    if isinstance(step, str):
        return {"streaming": None, "not_causal": code_text(step), "step_helpers": set()}
    r = _render(env, step.graph, fns, weights, "step_")
    n_in = len(step.graph.inputs) - len(step.states)
    io = _io(step.graph, r, len(step.graph.outputs) - len(step.states))
    states = step.graph.inputs[n_in:]
    finals = step.graph.outputs[len(io["outputs"]) :]
    return {
        "not_causal": None,
        "step_helpers": r.helpers,
        "streaming": {
            "functions": r.functions,
            "calls": r.calls,
            "inputs": io["inputs"][:n_in],
            "outputs": io["outputs"],
            "states": [
                (code_text(s.key), r.values[id(v)], r.values[id(f)], s.units, *_state_text(s))
                for s, v, f in zip(step.states, states, finals, strict=True)
            ],
        },
    }


def _state_text(state: Any) -> tuple[str, str]:
    """A carried state's recurrent layer and which state it is, as string literals."""
    return code_text(state.layer), code_text(state.what)


def to_numpy(graph: Graph, source: str, step: Any = None) -> tuple[str, dict[str, np.ndarray]]:
    """The module's text and its weights (to be saved beside it as ``.npz``).

    ``step`` is the model's ``StepGraph`` (the module gets ``init_state`` and ``step``) or
    the reason it has none (they raise it).
    """
    env = _env()
    fns = Functions()
    weights = Weights()
    main = _render(env, graph, fns, weights)
    stream = _step_context(env, step or "compiled without a step form", fns, weights)
    text = env.get_template("module.py.j2").render(
        name=code_text(graph.name, "docstring"),
        version=code_text(__version__, "docstring"),
        source=code_text(source, "docstring"),
        helpers=sorted(main.helpers | stream.pop("step_helpers")),
        functions=main.functions,
        calls=main.calls,
        id_limits=[(code_text(k), n) for k, n in id_limits(graph).items()],
        **_io(graph, main),
        **stream,
    )
    return text, weights.arrays


def _spec(v: Value) -> str:
    dims = ", ".join(str(d) if isinstance(d, int) else "None" for d in v.shape)
    return f"(({dims}{',' if v.rank == 1 else ''}), np.{v.dtype})"


def load_module(text: str, weights: dict[str, np.ndarray], name: str = "tdc_model") -> Any:
    """Execute generated code in a fresh module namespace and return ``load()``'s model."""
    import types

    mod = types.ModuleType(name)
    exec(compile(text, f"<tdc:{name}>", "exec"), mod.__dict__)  # noqa: S102
    return mod.Model(weights)
