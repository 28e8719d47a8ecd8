"""The templates of the NumPy backend, and what every op template is given.

Each IR node becomes one function whose body is ``templates/ops/<template>.py.j2`` (the
op's ``template`` trait, else its name). Besides what the op's ``numpy()`` returns, an op
template gets ``fn``, ``inputs`` (its parameter names for the node's inputs), ``weights``
(the node's weight names), ``layer``, ``label``, ``op``, ``out_shape``, ``out_dims``,
``in_shapes`` and ``ret`` (``y`` with any activation fused into the node applied). It
writes ``def {{ fn }}({{ (inputs + weights) | join(", ") }}):``, and may declare

- ``{% set weights = [...] %}``: the parameters its function takes after its inputs, and
- ``{% macro prepare() %}``: statements that make them from the layer's weights (named
  as the node's), once, when the model is built (transposes, reshapes, gate splits,
  folded scales): the module gets a ``<function>_weights`` function that
  ``Model.__init__`` calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2

from ...ir.graph import Node, Value
from ...ops import get_op
from .text import code_text, finalize


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
    """The template of IR op ``op``: its ``template`` trait, else its own name."""
    return f"ops/{getattr(get_op(op), 'template', None) or op}.py.j2"


def has_template(op: str) -> bool:
    return (templates_root() / template_path(op)).is_file()


#: Parameter names of ops whose inputs differ in kind (default: ``x``; ``x0, x1, ...`` for
#: several inputs of one kind); recurrent ops: ``x``, ``mask``, then ``h0``, ``c0``.
INPUT_NAMES = {
    "mask_apply": ("x", "mask"),
    "masked_mean": ("x", "mask"),
    "mask_where": ("x", "fallback", "mask"),
    "mask_or": ("a", "b"),
    "unfold": ("x", "like"),
    "bidi_merge": ("forward", "backward"),
    "dot": ("x", "y"),
}


def input_names(node: Node) -> list[str]:
    n = len(node.inputs)
    if getattr(get_op(node.op), "n_states", 0) > 0:
        masked = node.attrs.get("masked", False)
        return ["x", *(["mask"] if masked else []), "h0", "c0"][:n]
    if node.op in INPUT_NAMES:
        return list(INPUT_NAMES[node.op])[:n]
    return ["x"] if n == 1 and node.op not in ("merge", "concat") else [f"x{i}" for i in range(n)]


@dataclass
class Rendered:
    """One node's function: its text, weights parameters and what ``prepare`` does."""

    body: str
    weights: list[str]
    prepare: str
    helpers: set[str]


def shape(v: Value) -> str:
    return "(" + ", ".join(str(d) for d in v.shape) + ("," if v.rank == 1 else "") + ")"


#: How the passes fold a layer into a node (``attrs["absorbs"]``: (layer, how) pairs).
FOLDED = {"kernel": "{} folded into {}'s kernel", "fused": "{} fused into {}"}


def notes(node: Node) -> list[str]:
    """Comments naming the layers the passes folded into ``node`` (from other layers)."""
    return [
        code_text(FOLDED.get(how, "{} folded into {}").format(layer, node.layer), "comment")
        for layer, how in node.attrs.get("absorbs", ())
        if layer != node.layer
    ]
