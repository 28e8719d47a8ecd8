"""Models inside models (SPEC 1.1): ``type: Functional`` and ``type: Sequential`` entries.

A nested model is parsed into its own ``ModelSpec`` (its names are its own scope) held by
the layer entry (``LayerSpec.model``):

- ``Functional`` inline: ``inputs`` (a mapping of input specs, as at the top of a model
  file), ``layers``, ``outputs``; it takes its one input from the previous layer (a
  model with several inputs is written with ``file:``, where ``inputs:`` wires it);
- ``Functional`` with ``file:``: another model file, relative to this one, with its own
  ``weights:`` or ``seed``; ``inputs:`` on the entry wires it like any layer;
- ``Sequential``: ``layers`` only; each takes the previous one's output, the first the
  model's input (whatever its shape).

An inline model's weights come from the outer weights file under its name
(``cnn/Conv1/kernel``); the lowering adds the prefix. A file that refers to itself,
directly or through others, is refused, and so is nesting deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TdcError, short
from .inputs import SEQUENTIAL_INPUT, InputSpec, _kind, _kl, _line
from .yaml_io import read_yaml

if TYPE_CHECKING:
    from .loader import LayerSpec, ModelSpec, _Parser

#: Layer types that are whole models.
MODEL_TYPES = ("Functional", "Sequential")
#: Deepest nesting of models (inline or by file).
MAX_DEPTH = 32

KEYS = {
    "Functional": ("name", "type", "inputs", "layers", "outputs", "file"),
    "Sequential": ("name", "type", "layers", "inputs"),
}


def nested_model(parser: _Parser, entry: dict, name: str, top: bool) -> ModelSpec:
    """The ``ModelSpec`` of a nested model entry (its keys checked)."""
    typ = entry["type"]
    _check_keys(parser, entry, typ, name, top)
    if parser.depth >= MAX_DEPTH:
        parser.err(f"models nested more than {MAX_DEPTH} deep", _line(entry), name)
    if typ == "Sequential":
        return _sequential(parser, entry, name)
    if "file" in entry:
        return _from_file(parser, entry, name)
    return _inline(parser, entry, name)


def wiring_entry(entry: dict, spec: LayerSpec) -> dict:
    """The entry as the wiring reads it: an inline Functional's ``inputs:`` are its own
    input specs, not references, so it takes the previous layer's output."""
    if spec.model is not None and spec.type == "Functional" and "file" not in spec.args:
        return {k: v for k, v in entry.items() if k != "inputs"}
    return entry


def _check_keys(parser: _Parser, entry: dict, typ: str, name: str, top: bool) -> None:
    keys = KEYS[typ]
    for key in entry:
        if key not in keys:
            parser.err(
                f"{typ}: unknown key {short(key)}",
                _kl(entry, key),
                name,
                accepted=", ".join(keys),
            )
    if typ == "Sequential" and not top and "inputs" in entry:
        parser.err("Sequential: 'inputs' of a wrapped model", _kl(entry, "inputs"), name)
    if typ == "Functional":
        inline = "layers" in entry or "outputs" in entry
        if "file" in entry and inline:
            parser.err(
                "Functional: give either 'file' or inline 'inputs'/'layers'/'outputs'",
                _kl(entry, "file"),
                name,
                accepted="file: OTHER.yaml, or inputs: {...}, layers: [...], outputs: [...]",
            )
        if "file" in entry and "inputs" in entry and not top:
            parser.err("Functional: 'inputs' of a wrapped model", _kl(entry, "inputs"), name)


def _inline(parser: _Parser, entry: dict, name: str) -> ModelSpec:
    if not isinstance(entry.get("inputs"), dict):
        parser.err(
            f"Functional: bad 'inputs' {short(entry.get('inputs'))}",
            _kl(entry, "inputs"),
            name,
            accepted="the model's inputs as a mapping {name: {shape: [...], dtype: ...}}, "
            "as at the top of a model file (one input; several need 'file:')",
        )
    if len(entry["inputs"]) != 1:
        parser.err(
            f"Functional: an inline model takes one input, got {len(entry['inputs'])}",
            _kl(entry, "inputs"),
            name,
            accepted="one input; a model with several inputs is written in its own file "
            "(file: OTHER.yaml) and wired with inputs: [a, b]",
        )
    doc = {k: entry[k] for k in ("inputs", "layers", "outputs") if k in entry}
    return parser.child(parser.file, parser.path, name).model(doc, name=name)


def _sequential(parser: _Parser, entry: dict, name: str) -> ModelSpec:
    raw = entry.get("layers")
    if not isinstance(raw, list) or not raw:
        parser.err(
            f"Sequential: bad 'layers' {short(raw)}",
            _kl(entry, "layers") or _line(entry),
            name,
            accepted="a non-empty list of layers, each taking the previous one's output",
        )
    for k, sub in enumerate(raw):
        own = sub.get("type") == "Functional" and "file" not in sub if isinstance(sub, dict) else 0
        if isinstance(sub, dict) and "inputs" in sub and not own:  # not its input specs
            parser.err(
                f"Sequential: layer {k + 1} has 'inputs' (a Sequential model is a chain)",
                _kl(sub, "inputs"),
                name,
                accepted="layers without 'inputs:'; a graph is a Functional model",
            )
    child = parser.child(parser.file, parser.path, name)
    inputs = [InputSpec(SEQUENTIAL_INPUT, (), "float32", _line(entry) or 0)]
    return child.model_from(inputs, {"layers": raw}, name=name)


def _from_file(parser: _Parser, entry: dict, name: str) -> ModelSpec:
    rel = entry["file"]
    line = _kl(entry, "file")
    if not isinstance(rel, str) or not rel.endswith((".yaml", ".yml")) or "\0" in rel:
        parser.err(
            f"Functional: bad file {short(rel)}",
            line,
            name,
            accepted="the path of another model file (.yaml), relative to this one",
        )
    path = parser.path.parent / rel
    resolved = path.resolve()
    if resolved in parser.stack:
        parser.err(f"Functional: {short(rel)} refers back to itself", line, name)
    if not path.is_file():
        parser.err(
            f"Functional: model file {short(rel)} not found (looked for {short(str(path))})",
            line,
            name,
            accepted="the path of another model file, relative to this one",
        )
    try:
        doc = read_yaml(path)
    except TdcError as e:
        raise e.with_context(layer=parser.scope + name) from None
    if not isinstance(doc, dict):
        raise TdcError(f"the model file must be a mapping, not {_kind(doc)}", file=str(path))
    child = parser.child(str(path), path, name)
    child.stack = (*parser.stack, resolved)
    return child.model(doc)


def nested_of(lay: LayerSpec) -> tuple[LayerSpec | None, int]:
    """The nested model entry ``lay`` is or wraps (None: none), and how many
    TimeDistributed wrap it (the only wrapper a model may stand in)."""
    folds, sub = 0, lay
    while sub.model is None and sub.inner is not None and sub.type == "TimeDistributed":
        folds, sub = folds + 1, sub.inner
    return (sub if sub.model is not None else None), folds


def referenced_files(spec: ModelSpec) -> list[tuple[str, Path]]:
    """The model files and weights files that ``spec``'s nested ``file:`` models read."""
    out: list[tuple[str, Path]] = []
    for lay in spec.layers:
        sub: Any = lay
        while sub is not None:
            if sub.model is not None:
                if "file" in sub.args:
                    out.append(("a model file it refers to", Path(sub.model.file)))
                    if sub.model.weights is not None:
                        out.append(("the weights file of a model it refers to", sub.model.weights))
                out += referenced_files(sub.model)
            sub = sub.inner
    return out
