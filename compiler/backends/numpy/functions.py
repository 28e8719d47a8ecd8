"""The functions of a generated module and the weights ``Model.__init__`` prepares."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

import jinja2
import numpy as np

from ...ir.graph import Graph, Node
from .names import Names, reserved, value_names
from .templating import Rendered, notes, shape, templates_root
from .text import code_text, rendered


@dataclass
class Call:
    """One line of ``predict`` or ``step``: outputs = fn(inputs, *prepared weights)."""

    node: Node
    fn: str
    weights: str | None
    notes: list[str]
    outs: str = ""
    args: str = ""


@dataclass
class Module:
    """What the module's functions and ``Model.__init__`` are made of, across ``predict``
    and ``step``: a node of the same layer whose code is the same (the step form's
    convolutions, say) calls the function already written, with the same weights."""

    env: jinja2.Environment
    #: renders one node's function (``codegen._function``)
    function: Callable[[jinja2.Environment, Node, str], Rendered]
    names: Names = field(default_factory=lambda: Names(reserved(templates_root())))
    written: dict[tuple[str, str], str] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    keys: list[tuple[np.ndarray, str]] = field(default_factory=list)
    prepared: dict[tuple[tuple[str, ...], str], str] = field(default_factory=dict)
    attrs: Names = field(default_factory=lambda: Names({"predict", "step", "init_state"}))
    init: list[tuple[str, str]] = field(default_factory=list)
    helpers: set[str] = field(default_factory=set)

    def render(self, graph: Graph, prefix: str = "") -> tuple[list[str], list[Call]]:
        """The new functions for ``graph``'s nodes and the calls of all of them."""
        functions, calls = [], []
        for node in graph.nodes:
            r = self.function(self.env, node, "__tdc_function__")
            self.helpers |= r.helpers
            code = "\n".join(s for s in r.body.split("\n") if not s.startswith("#"))
            key = (node.layer, code)
            fn = self.written.get(key)
            if fn is None:
                fn = self.written[key] = self.names(node.layer, f"_{node.op.lower()}", prefix)
                header = self.env.get_template("function.py.j2").render(
                    layer=code_text(node.layer, "comment"),
                    label=code_text(node.label, "comment"),
                    out_shape=shape(node.output),
                    notes=notes(node),
                    body=rendered(r.body.replace("__tdc_function__", fn)),
                )
                functions.append(rendered(header.rstrip() + "\n"))
            attr, made = self._weights(node, fn, r)
            functions += made
            calls.append(Call(node, fn, attr, notes(node)))
        return functions, calls

    def _weights(self, node: Node, fn: str, r: Rendered) -> tuple[str | None, list[str]]:
        """The ``Model`` attribute with the node's prepared weights, and the function that
        prepares them (when new)."""
        if not node.weights:
            return None, []
        keys = tuple(self._key(arr, f"{fn}/{k}") for k, arr in node.weights.items())
        attr = self.prepared.get((keys, r.prepare))
        if attr is not None:
            return attr, []
        attr = self.prepared[(keys, r.prepare)] = self.attrs(fn, cap=False)
        arrays = [f"w[{code_text(k)}]" for k in keys]
        if not r.prepare:
            self.init.append((attr, _tuple(arrays, parens=True)))
            return attr, []
        maker = self.names(fn, "_weights", cap=False)
        self.init.append((attr, f"{maker}({', '.join(arrays)})"))
        text = self.env.get_template("weights.py.j2").render(
            fn=maker,
            op_fn=fn,
            raw=list(node.weights),
            lines=rendered(textwrap.indent(r.prepare, "    ")),
            ret=_tuple(r.weights),
        )
        return attr, [rendered(text)]

    def _key(self, arr: np.ndarray, key: str) -> str:
        """The ``.npz`` entry of ``arr``: an array several functions use is stored once."""
        for known, k in self.keys:
            if known is arr:
                return k
        base, n = key, 1
        while key in self.arrays:
            key, n = f"{base}_{n}", n + 1
        self.keys.append((arr, key))
        self.arrays[key] = np.ascontiguousarray(arr, dtype=arr.dtype)
        return key

    def name_values(self, graph: Graph, calls: list[Call], given: dict[int, str]) -> dict:
        """Name ``graph``'s values (after every function is named) and fill in the calls."""
        values = value_names(graph, Names(self.names.used), given)
        for c in calls:
            args = [values[id(v)] for v in c.node.inputs]
            args += [f"*self.{c.weights}"] if c.weights else []
            c.outs = ", ".join(values[id(v)] for v in c.node.outputs)
            c.args = ", ".join(args)
        return values


def _tuple(items: list[str], parens: bool = False) -> str:
    """Python source of a tuple of ``items`` (in parentheses with ``parens`` or one item)."""
    if len(items) == 1:
        return f"({items[0]},)"
    return f"({', '.join(items)})" if parens else ", ".join(items)
