"""Model file (YAML) -> ``ModelSpec``: every value checked, every error located."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import TdcError
from .params import BASE_PARAMS, REQUIRED, Param
from .registry import OpDef, get_op, layer_types
from .yaml_io import read_yaml

TOP_KEYS = ("name", "inputs", "layers", "outputs", "weights", "seed")
INPUT_DTYPES = ("float32", "int32", "int64")
MAX_DIM = 1 << 24


@dataclass
class InputSpec:
    name: str
    shape: tuple[int | None, ...]
    dtype: str
    line: int


@dataclass
class LayerSpec:
    name: str
    type: str
    args: dict[str, Any]  # as written (for Keras)
    attrs: dict[str, Any]  # checked, defaults filled (for tdc)
    line: int
    inputs: list[str] = field(default_factory=list)
    inner: LayerSpec | None = None

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

    def layer(self, name: str) -> LayerSpec:
        return next(lay for lay in self.layers if lay.name == name)


def snake_case(name: str) -> str:
    """Keras's default layer-name stem: ``Conv2D`` -> ``conv2d``, ``PReLU`` -> ``p_re_lu``."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


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

    def err(self, msg: str, line: int | None = None, layer: str | None = None, **kw: Any) -> None:
        raise TdcError(msg, file=self.file, line=line, layer=layer, **kw)

    def model(self, doc: Any) -> ModelSpec:
        if not isinstance(doc, dict):
            self.err("the model file must be a mapping with 'inputs' and 'layers'", 1)
        for key in doc:
            if key not in TOP_KEYS:
                self.err(
                    f"unknown top-level key '{key}'", _kl(doc, key), accepted=", ".join(TOP_KEYS)
                )
        inputs = self.inputs(doc)
        layers = self.layers(doc, {i.name for i in inputs})
        outputs = self.outputs(doc, layers, inputs)
        return ModelSpec(
            name=self.model_name(doc),
            file=self.file,
            inputs=inputs,
            layers=layers,
            outputs=outputs,
            weights=self.weights_path(doc),
            seed=self.seed(doc),
        )

    def model_name(self, doc: dict) -> str:
        name = doc.get("name", self.path.stem)
        if not isinstance(name, str) or not name:
            self.err("'name' must be a non-empty string", _kl(doc, "name"))
        return name

    def seed(self, doc: dict) -> int:
        seed = doc.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
            self.err("'seed' must be an integer in [0, 2**32)", _kl(doc, "seed"))
        return seed

    def weights_path(self, doc: dict) -> Path | None:
        w = doc.get("weights")
        if w is None:
            return None
        if not isinstance(w, str) or not w.endswith(".npz"):
            self.err("'weights' must be the path of a .npz file", _kl(doc, "weights"))
        return self.path.parent / w

    def inputs(self, doc: dict) -> list[InputSpec]:
        raw = doc.get("inputs")
        if not isinstance(raw, dict) or not raw:
            self.err(
                "'inputs' must map each input name to {shape: [...], dtype: ...}",
                _kl(doc, "inputs"),
            )
        return [self.one_input(name, spec, raw.key_lines.get(name)) for name, spec in raw.items()]

    def one_input(self, name: str, spec: Any, line: int | None) -> InputSpec:
        check_name(name, self.file, line)
        if not isinstance(spec, dict) or "shape" not in spec:
            self.err(f"input '{name}' needs {{shape: [...]}}", line)
        for key in spec:
            if key not in ("shape", "dtype"):
                self.err(
                    f"input '{name}': unknown key '{key}'", _kl(spec, key), accepted="shape, dtype"
                )
        shape = spec["shape"]
        ok = isinstance(shape, list) and all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and 0 < d <= MAX_DIM)
            for d in shape
        )
        if not ok:
            self.err(
                f"input '{name}': shape must be a list of positive integers or null "
                f"(batch axis excluded)",
                _kl(spec, "shape"),
            )
        dtype = spec.get("dtype", "float32")
        if dtype not in INPUT_DTYPES:
            self.err(
                f"input '{name}': unknown dtype {dtype!r}",
                _kl(spec, "dtype"),
                accepted=", ".join(INPUT_DTYPES),
            )
        return InputSpec(name, tuple(shape), dtype, line or 0)

    def layers(self, doc: dict, input_names: set[str]) -> list[LayerSpec]:
        raw = doc.get("layers")
        if not isinstance(raw, list) or not raw:
            self.err("'layers' must be a non-empty list of layers", _kl(doc, "layers"))
        for entry in raw:
            if not isinstance(entry, dict):
                self.err("each layer must be a mapping with a 'type'", _kl(doc, "layers"))
        names = self.assign_names(raw, input_names)
        specs: list[LayerSpec] = []
        previous = next(iter(input_names)) if len(input_names) == 1 else None
        seen = set(input_names)
        for entry, name in zip(raw, names, strict=True):
            spec = self.layer(entry, name, top=True)
            spec.inputs = self.layer_inputs(entry, spec, previous, seen)
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
        out: list[str] = []
        counts: dict[str, int] = {}
        for entry in raw:
            name = entry.get("name")
            if name is None:
                stem = snake_case(str(entry.get("type", "layer")))
                while True:
                    k = counts.get(stem, 0)
                    counts[stem] = k + 1
                    name = stem if k == 0 else f"{stem}_{k}"
                    if name not in used:
                        break
                used.add(name)
            out.append(name)
        return out

    def layer_inputs(
        self, entry: dict, spec: LayerSpec, previous: str | None, seen: set[str]
    ) -> list[str]:
        raw = entry.get("inputs")
        line = _kl(entry, "inputs") or spec.line
        if raw is None:
            if previous is None:
                self.err(
                    "the first layer of a model with several inputs needs 'inputs:'",
                    spec.line,
                    spec.name,
                )
            return [previous]
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            self.err("'inputs' must be a name or a list of names", line, spec.name)
        for n in names:
            if self.reference(n, line, spec.name)[0] not in seen:
                self.err(
                    f"input '{n}' is not an input or an earlier layer",
                    line,
                    spec.name,
                    accepted=", ".join(sorted(seen)),
                )
        return list(names)

    def reference(self, ref: str, line: int | None, layer: str | None = None) -> tuple[str, int]:
        """``name`` -> (name, 0); ``name:k`` -> (name, k), output k >= 1 of a multi-output layer."""
        try:
            return split_ref(ref)
        except ValueError:
            self.err(
                f"bad reference {ref!r}",
                line,
                layer,
                accepted="a name, or name:k (k >= 1) for output k of a multi-output layer",
            )
            raise AssertionError from None

    def layer(self, entry: dict, name: str, top: bool) -> LayerSpec:
        line = entry.line
        typ = entry.get("type")
        known = layer_types()
        if not isinstance(typ, str) or typ not in known:
            self.err(
                f"unknown layer type {typ!r}",
                _kl(entry, "type") or line,
                name,
                accepted=", ".join(known),
            )
        op = get_op(typ)
        structural = {"type", "name"} | ({"inputs"} if top else set())
        args = {k: v for k, v in entry.items() if k not in structural}
        inner = None
        if op.wrapper:
            if not isinstance(args.get("layer"), dict):
                self.err(f"{typ} needs the wrapped layer as a mapping under 'layer:'", line, name)
            inner = self.layer(args["layer"], name, top=False)
            if inner.attrs.get("return_state"):
                self.err(
                    f"{typ}: return_state: true on the wrapped layer is not supported", line, name
                )
        attrs = self.check_args(op, args, entry, name)
        return LayerSpec(name, typ, args, attrs, line, inner=inner)

    def check_args(self, op: OpDef, args: dict, entry: dict, name: str) -> dict[str, Any]:
        params: dict[str, Param] = {**BASE_PARAMS, **(op.params or {})}
        accepted = ", ".join(["name", *params] + (["inputs"] if not op.wrapper else []))
        attrs: dict[str, Any] = {}
        for key, value in args.items():
            if op.wrapper and key == "layer":
                continue
            if key not in params:
                self.err(
                    f"{op.name}: unknown argument '{key}'", _kl(entry, key), name, accepted=accepted
                )
            try:
                attrs[key] = params[key].check(value)
            except ValueError as e:
                self.err(
                    f"{op.name}: bad value {value!r} for '{key}'",
                    _kl(entry, key),
                    name,
                    accepted=str(e),
                )
        for key, p in params.items():
            if key not in attrs:
                if p.default is REQUIRED:
                    self.err(f"{op.name}: missing required argument '{key}'", entry.line, name)
                attrs[key] = p.default
        try:
            op.check_attrs(attrs)
        except ValueError as e:
            self.err(f"{op.name}: {e}", entry.line, name)
        return attrs

    def outputs(self, doc: dict, layers: list[LayerSpec], inputs: list[InputSpec]) -> list[str]:
        raw = doc.get("outputs")
        if raw is None:
            return [layers[-1].name]
        names = [raw] if isinstance(raw, str) else raw
        known = [lay.name for lay in layers]
        line = _kl(doc, "outputs")
        if not isinstance(names, list) or not names:
            self.err("'outputs' must be a layer name or a list of layer names", line)
        if not all(isinstance(n, str) for n in names):
            self.err("'outputs' must be a layer name or a list of layer names", line)
        for n in names:
            if self.reference(n, line)[0] not in known:
                self.err(f"output {n!r} is not a layer", line, accepted=", ".join(known))
        if len(set(names)) != len(names):
            self.err("'outputs' lists a layer twice", line)
        return list(names)


def split_ref(ref: str) -> tuple[str, int]:
    """``name`` -> (name, 0); ``name:k`` (k >= 1) -> (name, k); anything else ValueError."""
    if ":" not in ref:
        return ref, 0
    name, _, k = ref.partition(":")
    if not k.isdigit() or not k.isascii() or int(k) < 1 or k != str(int(k)):
        raise ValueError(ref)
    return name, int(k)


NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


def check_name(name: Any, file: str, line: int | None) -> None:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise TdcError(
            f"bad name {name!r}",
            file=file,
            line=line,
            accepted="a letter or _ followed by up to 127 letters, digits, '_', '.', '-'",
        )


def _kl(mapping: Any, key: str) -> int | None:
    lines = getattr(mapping, "key_lines", None)
    if lines and key in lines:
        return lines[key]
    return getattr(mapping, "line", None)
