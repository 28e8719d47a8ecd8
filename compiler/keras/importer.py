"""``tdc import``: a saved Keras 3 model (``.keras``) to a model file plus its weights file.

The Keras graph is read from the live (loaded) model: its inputs, its layers in
topological order with their wiring, its outputs and every variable. Each layer's
``get_config()`` becomes the layer entry: the arguments tdc accepts, written only where
they differ from the default; initialisers, regularisers, constraints and float32 dtype
policies are dropped (they do not matter once the weights are in the file). Any other
argument must hold Keras's default, otherwise the layer is refused.

Everything is checked first (all offending layers reported at once, grouped by type and
reason: ``problems.py``), then the result is loaded and compiled from a scratch directory,
and only then are both files written. The conversion itself (``Converter``) lives in
``convert.py``.

The model file's first line records its source, for ``tdc verify``: a YAML comment
``# imported from: "<path>"`` whose path is a JSON string (so a newline, a quote or a
non-ASCII character in it stays inside the comment), relative to the model file's folder.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import TdcError
from ..frontend.arrays import write_npz
from ..ops import layer_types
from ..safe_write import write_atomic
from .convert import Converter
from .problems import ImportRefused, accepted_types, unknown_type

#: How the first line of an imported model file starts; a JSON string follows.
SOURCE_TAG = "# imported from: "


def import_keras(src: Path, dst: Path) -> None:
    """Convert the Keras model saved at ``src`` into ``dst`` (YAML) and ``dst``'s ``.npz``."""
    from .oracle import import_keras as keras_module

    keras = keras_module()
    model = _load(keras, src)
    graph = _functional(keras, model, src)
    conv = Converter(keras)
    doc, weights = conv.model(graph, dst)
    doc["name"] = model.name  # a Sequential's inner graph has a session-dependent name
    if conv.problems:
        raise ImportRefused(
            conv.problems,
            file=str(src),
            accepted=accepted_types(layer_types()) if unknown_type(conv.problems) else None,
        )
    text = source_line(src, dst) + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)
    _check_compiles(text, weights, dst, src)
    write_atomic(
        [
            (dst.with_suffix(".npz"), lambda p: write_npz(p, weights)),
            (dst, lambda p: p.write_text(text, encoding="utf-8")),
        ]
    )


def _load(keras: Any, src: Path) -> Any:
    if not src.is_file():
        raise TdcError("Keras model file not found", file=str(src))
    if not zipfile.is_zipfile(src):
        raise TdcError(
            "not a saved Keras model (not a zip archive)",
            file=str(src),
            accepted="a .keras file written by model.save",
        )
    try:
        return keras.saving.load_model(src, compile=False, safe_mode=True)
    except Exception as e:  # noqa: BLE001  (Keras raises many kinds for a bad file)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TdcError(
            f"cannot load the Keras model: {msg}", file=str(src), accepted="a Keras 3 .keras file"
        ) from None


def _functional(keras: Any, model: Any, src: Path) -> Any:
    """The functional graph of ``model`` (a Sequential keeps one once its input is known)."""
    if isinstance(model, keras.Sequential):
        model = getattr(model, "_functional", None)
        if model is None:
            raise TdcError(
                "the Sequential model has no known input shape", file=str(src),
                accepted="a Sequential model that starts with keras.Input",
            )  # fmt: skip
    if not hasattr(model, "operations") or not hasattr(model, "_nodes"):
        raise TdcError(
            f"cannot import a {type(model).__name__} (subclassed models have no graph)",
            file=str(src),
            accepted="Sequential and Functional models",
        )
    return model


def _check_compiles(text: str, weights: dict[str, np.ndarray], dst: Path, src: Path) -> None:
    """Load and compile the result from a scratch directory before anything is written."""
    from ..api import compile_spec
    from ..frontend.loader import load_model

    with tempfile.TemporaryDirectory(prefix="tdc-import-") as tmp:
        path = Path(tmp) / dst.name
        write_npz(path.with_suffix(".npz"), weights)
        path.write_text(text, encoding="utf-8")
        try:
            compile_spec(load_model(path))
        except TdcError as e:
            e.file = None
            raise TdcError(f"the imported model does not compile: {e}", file=str(src)) from None


def source_line(src: Path, dst: Path) -> str:
    """The comment line naming ``src`` in the model file ``dst``: relative to ``dst``'s
    folder where there is such a path, as a JSON string (ASCII, one line, quotes escaped)."""
    try:
        path = os.path.relpath(src.resolve(), dst.parent.resolve())
    except (ValueError, OSError):  # another drive, or a folder that cannot be resolved
        path = str(src.absolute())
    return SOURCE_TAG + json.dumps(path) + "\n"


def recorded_source(model: Path) -> Path | None:
    """The saved Keras model ``model``'s first line names, as an absolute path (a relative
    one is relative to the model file's folder); None when the line is absent or not a
    JSON string."""
    if not model.is_file():
        return None
    try:
        with open(model, "rb") as f:
            first = f.readline(1 << 16).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not first.startswith(SOURCE_TAG):
        return None
    try:
        value = json.loads(first[len(SOURCE_TAG) :])
    except ValueError:
        return None
    if not isinstance(value, str) or not value or "\x00" in value:
        return None
    return (model.parent / value).resolve()  # an absolute path stays itself


def load_saved(src: Path) -> Any:
    """The functional graph of the saved Keras model at ``src`` (a TdcError naming the file
    when it cannot be loaded, or has no graph)."""
    from .oracle import import_keras as keras_module

    keras = keras_module()
    return _functional(keras, _load(keras, src), src)
