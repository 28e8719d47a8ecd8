"""Model file (YAML) -> ``ModelSpec``: every value checked, every error located.

The top level and each layer's arguments are checked here, the inputs in
``loader_inputs``, the wiring (references, outputs, dtypes) in ``loader_graph``. Sizes are
bounded (``params.MAX_*``) so that an absurd model is refused before anything is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TdcError, did_you_mean, listing, short
from ..ops import get_op, layer_types
from . import wiring
from .inputs import (
    INPUT_DTYPES,
    InputSpec,
    _kind,
    _kl,
    _line,
    check_name,
    parse_inputs,
)
from .layer_args import check_args
from .nested import MODEL_TYPES, nested_model, wiring_entry
from .wiring import split_ref
from .yaml_io import read_yaml

__all__ = [
    "INPUT_DTYPES",
    "InputSpec",
    "LayerSpec",
    "ModelSpec",
    "check_name",
    "load_model",
    "parse_model",
    "split_ref",
]

TOP_KEYS = ("name", "inputs", "layers", "outputs", "weights", "seed")


@dataclass
class LayerSpec:
    name: str
    type: str
    args: dict[str, Any]  # as written (for Keras)
    attrs: dict[str, Any]  # checked, defaults filled (for tdc)
    line: int
    inputs: list[str] = field(default_factory=list)
    inner: LayerSpec | None = None
    #: Bidirectional's explicit ``backward_layer`` (None: a mirrored copy of ``inner``).
    backward: LayerSpec | None = None
    #: A Keras operation's positional operands as written: references (also in
    #: ``inputs``) and constants (numbers, lists of numbers).
    operands: list[Any] = field(default_factory=list)
    #: A nested model (``type: Functional`` / ``Sequential``, SPEC 1.1): its own scope.
    model: ModelSpec | None = None

    @property
    def label(self) -> str:
        return f"{self.type}({self.inner.label})" if self.inner else self.type


@dataclass
class ModelSpec:
    name: str
    file: str
    inputs: list[InputSpec]
    layers: list[LayerSpec]
    outputs: list[str]
    weights: Path | None
    seed: int
    #: Integer input -> the smallest ``input_dim`` of the Embeddings its ids reach.
    id_limits: dict[str, int] = field(default_factory=dict)

    def layer_lines(self) -> dict[str, int]:
        """The YAML line of every layer name (a wrapped layer: its wrapper's line)."""
        where: dict[str, int] = {}
        for lay in self.layers:
            inner: LayerSpec | None = lay
            while inner is not None:
                where.setdefault(inner.name, lay.line)
                inner = inner.inner
        return where

    def layer(self, name: str) -> LayerSpec:
        return next(lay for lay in self.layers if lay.name == name)


def _several_outputs(spec: LayerSpec) -> bool:
    """A wrapped layer with several outputs (return_state, or a Bidirectional with
    merge_mode null or a return_state layer), which only Bidirectional takes."""
    if spec.type == "Bidirectional" and spec.inner is not None:
        return spec.attrs["merge_mode"] is None or _several_outputs(spec.inner)
    return bool(spec.attrs.get("return_state"))


def load_model(path: str | Path) -> ModelSpec:
    """Read and check a model file."""
    path = Path(path)
    doc = read_yaml(path)
    return _Parser(str(path), path).model(doc)


def parse_model(doc: Any, file: str, base: Path | None = None) -> ModelSpec:
    """Check an already-loaded document (tests and ``tdc import`` use this)."""
    return _Parser(file, base or Path(file)).model(doc)


class _Parser:
    def __init__(self, file: str, path: Path) -> None:
        self.file = file
        self.path = path
        #: How deep in nested models, and the model files being read (``file:`` cycles).
        self.depth = 0
        self.stack: tuple[Path, ...] = (path.resolve(),)
        #: The nested model's path, in front of its layers' names in messages (``cnn/``).
        self.scope = ""

    def child(self, file: str, path: Path, name: str) -> _Parser:
        """A parser for the model nested in this one as layer ``name``."""
        sub = _Parser(file, path)
        sub.depth, sub.stack, sub.scope = self.depth + 1, self.stack, f"{self.scope}{name}/"
        return sub

    def err(self, msg: str, line: int | None = None, layer: str | None = None, **kw: Any) -> None:
        where = None if layer is None else self.scope + layer
        raise TdcError(msg, file=self.file, line=line, layer=where, **kw)

    def model(self, doc: Any, name: str | None = None) -> ModelSpec:
        if not isinstance(doc, dict):
            self.err(
                f"the model file must be a mapping, not {_kind(doc)}",
                getattr(doc, "line", 1),
                accepted="a mapping with keys " + listing(TOP_KEYS),
            )
        for key in doc:
            if key not in TOP_KEYS:
                self.err(
                    f"unknown top-level key {short(key)}{did_you_mean(key, TOP_KEYS, close=True)}",
                    _kl(doc, key),
                    accepted=listing(TOP_KEYS),
                )
        inputs = parse_inputs(self.err, doc, self.file)
        spec = self.model_from(inputs, doc, name or self.model_name(doc))
        spec.weights, spec.seed = self.weights_path(doc), self.seed(doc)
        return spec

    def model_from(self, inputs: list[InputSpec], doc: dict, name: str) -> ModelSpec:
        """The model of ``inputs`` and ``doc``'s layers and outputs."""
        layers = self.layers(doc, [i.name for i in inputs])
        outputs = wiring.outputs(self.err, doc.get("outputs"), _kl(doc, "outputs"), layers)
        return ModelSpec(
            name=name,
            file=self.file,
            inputs=inputs,
            layers=layers,
            outputs=outputs,
            weights=None,
            seed=0,
            id_limits=wiring.check_dtypes(self.err, inputs, layers),
        )

    def model_name(self, doc: dict) -> str:
        name = doc.get("name", self.path.stem)
        if not isinstance(name, str) or not name or len(name) > 128 or not name.isprintable():
            self.err(
                f"bad model name {short(name)}",
                _kl(doc, "name"),
                accepted="a non-empty printable string of at most 128 characters",
            )
        return name

    def seed(self, doc: dict) -> int:
        seed = doc.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
            self.err(
                f"bad seed {short(seed)}", _kl(doc, "seed"), accepted="an integer in [0, 2**32)"
            )
        return seed

    def weights_path(self, doc: dict) -> Path | None:
        w = doc.get("weights")
        if w is None:
            return None
        if not isinstance(w, str) or not w.endswith(".npz") or "\0" in w or len(w) > 4096:
            self.err(
                f"bad weights path {short(w)}",
                _kl(doc, "weights"),
                accepted="the path of a .npz file, relative to the model file",
            )
        return self.path.parent / w

    def layers(self, doc: dict, input_names: list[str]) -> list[LayerSpec]:
        raw = doc.get("layers")
        if not isinstance(raw, list) or not raw:
            self.err(
                f"bad 'layers' {short(raw)}",
                _kl(doc, "layers"),
                accepted="a non-empty list of layers, each a mapping with a 'type'",
            )
        for k, entry in enumerate(raw):
            if not isinstance(entry, dict):
                self.err(
                    f"layer {k + 1} is {_kind(entry)}, not a mapping",
                    _kl(doc, "layers"),
                    accepted="a mapping with a 'type' and the layer's arguments",
                )
        names = self.assign_names(raw, set(input_names))
        later = {name: _line(entry) or 0 for entry, name in zip(raw, names, strict=True)}
        specs: list[LayerSpec] = []
        previous = input_names[0] if len(input_names) == 1 else None
        seen = set(input_names)
        for entry, name in zip(raw, names, strict=True):
            spec = self.layer(entry, name, top=True)
            line = _kl(entry, "inputs") or spec.line
            del later[name]
            op = get_op(spec.type)
            no_tensor = op.operands == () and "inputs" not in entry  # ops.arange
            entry = wiring.text_operand(self.err, op, spec, entry, line)  # ops.einsum
            refs = [] if no_tensor else wiring.layer_inputs(
                self.err, wiring_entry(entry, spec), spec, previous, seen, later, line,
                op.operands is not None,
            )  # fmt: skip
            spec.inputs = [r for r in refs if isinstance(r, str)]
            if op.operands is not None:
                spec.operands = wiring.operands(self.err, op, spec, refs, line)
            specs.append(spec)
            seen.add(name)
            previous = name
        return specs

    def assign_names(self, raw: list[dict], taken: set[str]) -> list[str]:
        used = set(taken)
        for entry in raw:
            name = entry.get("name")
            if name is None:
                continue
            check_name(name, self.file, _kl(entry, "name"))
            if name in used:
                self.err(f"duplicate name '{name}'", _kl(entry, "name"), accepted="unique names")
            used.add(name)
        return wiring.default_names(raw, used, layer_types())

    def layer(self, entry: dict, name: str, top: bool) -> LayerSpec:
        line = _line(entry)
        typ = entry.get("type")
        known = layer_types()
        if isinstance(typ, str) and typ.startswith("ops.") and typ not in known:
            ops = [k for k in known if k.startswith("ops.")]
            self.err(
                f"unknown Keras operation {short(typ)}{did_you_mean(typ, ops, close=True)}",
                _kl(entry, "type") or line,
                name,
                accepted=listing(ops, len(ops)),
            )
        if not isinstance(typ, str) or typ not in known:
            layers = [k for k in known if not k.startswith("ops.")]
            self.err(
                f"unknown layer type {short(typ)}{did_you_mean(typ, known, close=True)}",
                _kl(entry, "type") or line,
                name,
                accepted=listing(layers) + ", or a Keras operation ops.<name>",
            )
        if typ in MODEL_TYPES:  # a model as a layer: its own scope
            model = nested_model(self, entry, name, top)
            args = {k: v for k, v in entry.items() if k not in ("type", "name", "inputs")}
            return LayerSpec(name, typ, args, {}, _line(entry) or 0, model=model)
        op = get_op(typ)
        structural = {"type", "name"} | ({"inputs"} if top else set())
        args = {k: v for k, v in entry.items() if k not in structural}
        inner = None
        if op.wrapper:
            if not isinstance(args.get("layer"), dict):
                self.err(
                    f"{typ} needs the wrapped layer as a mapping under 'layer:'",
                    _kl(entry, "layer") or line,
                    name,
                    accepted="layer: {type: ..., ...}",
                )
            inner = self.layer(args["layer"], name, top=False)
            if typ != "Bidirectional" and _several_outputs(inner):
                self.err(
                    f"{typ}: return_state: true on the wrapped layer is not supported (nor a "
                    "wrapped Bidirectional with merge_mode: null: Keras needs one output here)",
                    line,
                    name,
                )
        attrs = check_args(self.err, op, args, entry, name)
        backward = None  # Bidirectional's backward_layer: a nested entry like layer:
        if isinstance(attrs.get("backward_layer"), dict):
            backward = self.layer(args["backward_layer"], name, top=False)
        return LayerSpec(name, typ, args, attrs, line, inner=inner, backward=backward)
