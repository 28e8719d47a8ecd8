"""The Keras model ``tdc verify`` compares with.

``Rebuilt``: the model file rebuilt in Keras (``oracle.keras_model``) with the same weights.
``Saved``: the saved Keras model itself (``keras.saving.load_model(..., compile=False,
safe_mode=True)``), named by ``--keras`` or recorded by ``tdc import`` on the model file's
first line. Its inputs are matched to the model file's by name (by order where the names
differ) and must agree in shape and dtype; its outputs in number and shape.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TdcError, listing
from ..frontend.loader import ModelSpec
from .config import producer
from .float64 import clone_float64, float64_outputs, float64_spec
from .importer import load_saved, recorded_source
from .oracle import import_keras, keras_model, run_keras

REBUILT = "the model file rebuilt in Keras"


def display(path: Path | str) -> str:
    """A path as printed: relative to the working folder when it is absolute and inside
    it; a JSON string where it holds unprintable characters."""
    text = str(path)
    if Path(text).is_absolute():
        with contextlib.suppress(ValueError, OSError):
            text = str(Path(text).relative_to(Path.cwd()))
    return text if text.isprintable() else json.dumps(text)


class Rebuilt:
    """The model file rebuilt in Keras with the model's weights."""

    label = REBUILT

    def __init__(self, spec: ModelSpec, weights: dict[str, np.ndarray]) -> None:
        self.spec, self.weights = spec, weights
        self.model = keras_model(spec, weights)

    def run(self, xs: list[np.ndarray]) -> list[np.ndarray]:
        """The outputs on the seeded inputs ``xs``, in the model file's order."""
        return run_keras(self.model, xs)

    def float64(self, inputs: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """The outputs of the float64 rebuild on every input set."""
        spec = float64_spec(self.spec)
        return float64_outputs(lambda: keras_model(spec, self.weights), run_keras, inputs)

    def layers(self, names: list[str]) -> Callable[[list[np.ndarray]], list[np.ndarray]] | None:
        """No probe of its own: the layer-by-layer check rebuilds the model file."""
        return None


class Saved:
    """A saved Keras model (``.keras``) checked to fit the model file."""

    def __init__(self, path: Path, spec: ModelSpec, output_shapes: list[tuple]) -> None:
        self.path = path
        self.label = f"Keras model {display(path)}"
        self.graph = load_saved(path)
        self.order = match_inputs(self.graph, spec, path)
        names = [producer(t)[0].name for t in self.graph.inputs]
        self.note = None
        if sorted(names) != sorted(i.name for i in spec.inputs):
            self.note = (
                f"note: inputs matched by order (the Keras model's {listing(names)}, "
                f"the model file's {listing(i.name for i in spec.inputs)})"
            )
        check_outputs(self.graph, output_shapes, spec, path)

    def run(self, xs: list[np.ndarray]) -> list[np.ndarray]:
        """The outputs on the seeded inputs ``xs`` (in the model file's input order)."""
        return run_saved(self.graph, [xs[k] for k in self.order])

    def float64(self, inputs: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """The outputs of the saved model rebuilt in float64 on every input set."""
        ordered = [[xs[k] for k in self.order] for xs in inputs]
        return float64_outputs(lambda: clone_float64(self.graph), run_saved, ordered)

    def layers(self, names: list[str]) -> Callable[[list[np.ndarray]], list[np.ndarray]] | None:
        """The outputs of the saved model's layers ``names`` (None where one is missing,
        or used more than once)."""
        keras = import_keras()
        ops = {op.name: op for op in self.graph.operations}
        try:
            outs = [ops[n].output for n in names]
            outs = [o[0] if isinstance(o, list | tuple) else o for o in outs]
            probe = keras.Model(self.graph.inputs, outs)
        except (KeyError, AttributeError, ValueError):
            return None
        return lambda xs: run_saved(probe, [xs[k] for k in self.order])


def run_saved(model: Any, xs: list[np.ndarray]) -> list[np.ndarray]:
    """A loaded Keras model's outputs, flattened as ``model.outputs`` lists them."""
    keras = import_keras()
    out = model.predict(xs if len(xs) > 1 else xs[0], verbose=0, batch_size=xs[0].shape[0])
    return [np.asarray(o) for o in keras.tree.flatten(out)]


def _dims(shape: Any) -> str:
    """``[null, 4]``: a shape as the model file writes it (symbolic sizes by name)."""
    return "[" + ", ".join("null" if d is None else str(d) for d in shape) + "]"


def _describe(shape: Any, dtype: str) -> str:
    return f"{_dims(shape)} {dtype}"


def match_inputs(graph: Any, spec: ModelSpec, path: Path) -> list[int]:
    """For each input of the saved model, the model file input it takes."""
    saved = [(producer(t)[0].name, tuple(t.shape[1:]), str(t.dtype)) for t in graph.inputs]
    names = [inp.name for inp in spec.inputs]
    wanted = listing(f"'{i.name}' {_describe(i.shape, i.dtype)}" for i in spec.inputs)
    accepted = f"a Keras model whose inputs are the model file's: {wanted}"
    if sorted(s[0] for s in saved) == sorted(names):
        order = [names.index(s[0]) for s in saved]
    elif len(saved) == len(names):
        order = list(range(len(names)))
    else:
        raise TdcError(
            f"does not fit {display(spec.file)}: {len(saved)} input(s), the model file has "
            f"{len(names)}",
            file=str(path),
            accepted=accepted,
        )
    for (name, shape, dtype), k in zip(saved, order, strict=True):
        inp = spec.inputs[k]
        if shape != tuple(inp.shape) or dtype != inp.dtype:
            raise TdcError(
                f"does not fit {display(spec.file)}: input '{name}' is "
                f"{_describe(shape, dtype)}, the model file's '{inp.name}' is "
                f"{_describe(inp.shape, inp.dtype)}",
                file=str(path),
                accepted=accepted,
            )
    return order


def check_outputs(graph: Any, shapes: list[tuple], spec: ModelSpec, path: Path) -> None:
    """Refuse a saved model whose outputs differ from the model file's in number or in a
    fixed size (``shapes``: the compiled outputs' shapes, symbolic sizes as strings)."""
    outs = [tuple(t.shape[1:]) for t in graph.outputs]
    where = f"does not fit {display(spec.file)}"
    accepted = "a Keras model with the model file's outputs"
    if len(outs) != len(shapes):
        raise TdcError(
            f"{where}: {len(outs)} output(s), the model file has {len(shapes)}",
            file=str(path),
            accepted=accepted,
        )
    for k, (got, want) in enumerate(zip(outs, shapes, strict=True)):
        if not _fits(got, tuple(want[1:])):
            raise TdcError(
                f"{where}: output {k} is {_dims(got)} in the Keras model, "
                f"'{spec.outputs[k]}' is {_dims(want[1:])} in the model file",
                file=str(path),
                accepted=accepted,
            )


def _fits(got: tuple, want: tuple) -> bool:
    """Same rank, and the same size wherever both sizes are fixed."""
    return len(got) == len(want) and all(
        isinstance(w, str) or g is None or g == w for g, w in zip(got, want, strict=True)
    )


def choose(
    model: Path,
    spec: ModelSpec,
    weights: dict[str, np.ndarray],
    output_shapes: list[tuple],
    keras_path: Path | None,
    rebuild: bool,
) -> tuple[Rebuilt | Saved, str | None]:
    """The reference and a note to print: ``--keras PATH``, else the recorded source when
    it is there, else (with a note when it was recorded but is gone) the rebuild."""
    if keras_path is not None:
        saved = Saved(keras_path, spec, output_shapes)
        return saved, saved.note
    source = None if rebuild else recorded_source(model)
    if source is None:
        return Rebuilt(spec, weights), None
    if not source.is_file():
        note = (
            f"note: {display(model)} was imported from {display(source)}, which is not there; "
            f"compared with {REBUILT} instead (--keras PATH names the saved model)"
        )
        return Rebuilt(spec, weights), note
    try:
        saved = Saved(source, spec, output_shapes)
    except TdcError as e:
        e.message += f" (recorded as the source of {display(model)}; --rebuild skips it)"
        raise
    return saved, saved.note
