"""What the CLI commands do, as plain functions (so tests can call them too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..api import Compiled, compile_file, compile_spec
from ..errors import TdcError, listing
from ..frontend.arrays import check_input, read_array, save_outputs
from ..frontend.loader import ModelSpec, load_model
from ..frontend.nested import referenced_files
from ..limits import check_bytes, check_values
from ..safe_write import is_stream, refuse_overwrite, write_atomic

#: The file name ending each output must have. A device or FIFO is written as it is where the
#: output is one file; a NumPy module or an import also writes an ``.npz`` beside it.
SUFFIXES = {
    "onnx": (".onnx",),
    "numpy": (".py",),
    "run": (".npy", ".npz"),
    "import": (".yaml", ".yml"),
}


def model_inputs(spec: ModelSpec) -> list[tuple[str, Path]]:
    """The files a command on ``spec`` reads, each named by what it is."""
    files = [("the model file", Path(spec.file))]
    if spec.weights is not None:
        files.append(("the model's weights file", spec.weights))
    return files + referenced_files(spec)


def check_suffix(output: Path, kind: str, option: str = "-o") -> None:
    """Refuse an output whose name says another format (``a.txt`` for ONNX bytes)."""
    wanted = SUFFIXES[kind]
    if output.suffix in wanted or (kind in ("onnx", "run") and is_stream(output)):
        return
    what = {
        "onnx": "an ONNX model",
        "numpy": "a Python module",
        "run": "NumPy arrays",
        "import": "a model file (its weights go beside it as .npz)",
    }[kind]
    raise TdcError(
        f"{option} {output.name}: this command writes {what}",
        file=str(output),
        accepted=f"{option} " + " or ".join(f"NAME{s}" for s in wanted),
    )


def _outputs(target: str, output: Path) -> list[Path]:
    """Every file ``tdc compile`` may write for ``output``."""
    if target == "numpy":
        return [output, output.with_suffix(".npz")]
    from ..backends.onnx.save import data_path

    return [output, data_path(output)]


def compile_to(
    model: Path,
    target: str,
    output: Path,
    streaming: bool = False,
    precision: str = "float32",
    calibration: Path | None = None,
) -> None:
    from ..precision import check_options

    check_suffix(output, target)
    check_options(target, precision, calibration)
    spec = load_model(model)
    extra = [("the calibration file", calibration)] if calibration else []
    refuse_overwrite(_outputs(target, output), model_inputs(spec) + extra)
    compiled = compile_spec(spec)
    if streaming:
        compiled.step()  # refuses (exit 2, naming the layer) a model with no step form
    if target == "onnx":
        from ..backends.onnx.save import write_onnx
        from ..precision import reduce

        proto = compiled.step_onnx() if streaming else compiled.onnx()
        step = compiled.step() if streaming else None
        proto = reduce(proto, spec, precision, calibration, step)
        # checked, then written whole (external data beside it past protobuf's 2 GiB)
        write_onnx(proto, output)
        return
    from ..frontend.arrays import write_npz

    text, weights = compiled.numpy_source(precision)
    write_atomic(
        [
            (output.with_suffix(".npz"), lambda p: write_npz(p, weights)),
            (output, lambda p: p.write_text(text)),
        ]
    )


def input_files(spec: ModelSpec, inputs: list[str]) -> dict[str, Path]:
    """``-i FILE`` / ``-i NAME=FILE`` options -> the file of each model input."""
    specs = spec.inputs
    names = listing(s.name for s in specs)
    by_name: dict[str, Path] = {}
    for item in inputs:
        name, sep, path = item.partition("=")
        if not sep:
            if len(inputs) != 1 or len(specs) != 1:
                raise TdcError(
                    f"-i {item}: the model has {len(specs)} inputs; use -i NAME=FILE",
                    accepted=names,
                )
            name, path = specs[0].name, item
        if name not in {s.name for s in specs} or name in by_name:
            raise TdcError(f"-i {item}: unknown or repeated input '{name}'", accepted=names)
        if not path:
            raise TdcError(f"-i {item}: no file after '{name}='", accepted=f"-i {name}=FILE.npy")
        by_name[name] = Path(path)
    missing = [s.name for s in specs if s.name not in by_name]
    if missing:
        raise TdcError(f"missing input(s): {listing(missing)}", accepted="-i NAME=FILE each")
    return by_name


def _read_inputs(compiled: Compiled, files: dict[str, Path]) -> list[np.ndarray]:
    limits = compiled.spec.id_limits
    xs = []
    for s in compiled.spec.inputs:
        path = files[s.name]
        xs.append(check_input(read_array(path), s, str(path), limits.get(s.name)))
        check_bytes(sum(x.nbytes for x in xs), "the input arrays", file=str(path))
    return xs


def check_run_size(compiled: Compiled, xs: list[np.ndarray]) -> None:
    """Refuse inputs at which the model's largest value would pass the memory cap."""
    sizes: dict[str, int] = {}
    for v, x in zip(compiled.graph.inputs, xs, strict=False):
        for d, n in zip(v.shape, x.shape, strict=False):
            if isinstance(d, str):
                sizes[d] = n
    check_values(_values(compiled), sizes, max(sizes.values(), default=1))


def _values(compiled: Compiled) -> list:
    graph = compiled.graph
    return [*graph.inputs, *(v for node in graph.nodes for v in node.outputs)]


def run_model(model: Path, backend: str, inputs: list[str], output: Path, provider: str) -> None:
    check_suffix(output, "run")
    spec = load_model(model)
    files = input_files(spec, inputs)
    arrays = [(f"the input file for '{n}'", p) for n, p in files.items()]
    refuse_overwrite([output], model_inputs(spec) + arrays)
    compiled = compile_spec(spec)
    xs = _read_inputs(compiled, files)
    check_run_size(compiled, xs)
    if backend == "keras":
        from ..keras.oracle import keras_model, run_keras

        outs = run_keras(keras_model(compiled.spec, compiled.weights), xs)
        result = dict(zip(compiled.graph.output_names, outs, strict=True))
    else:
        from .verify import run_backend

        if provider != "cpu" and backend != "onnx":
            raise TdcError("--provider applies to --backend onnx only")
        result = run_backend(compiled, backend, xs, provider)
    save_outputs(output, result)


def check_seeded_size(compiled: Compiled, batch: int, time: int) -> None:
    """Refuse a ``verify`` / ``bench`` run whose seeded inputs or largest value would pass
    the memory cap, before anything is drawn."""
    check_values(_values(compiled), {"N": batch}, time)


def inspect_text(model: Path, ir: bool) -> str:
    from .inspect_model import layer_table

    compiled = compile_file(model)
    text = layer_table(compiled.spec)
    if ir:
        text += "\n\nIR before passes:\n" + compiled.before
        text += "\n\nIR after passes:\n" + compiled.graph.dump()
    return text


def import_model(source: Path, output: Path) -> None:
    """``tdc import``: a saved Keras model to a model file plus its weights file."""
    from ..keras.importer import import_keras

    check_suffix(output, "import")
    refuse_overwrite([output, output.with_suffix(".npz")], [("the Keras model", source)])
    import_keras(source, output)
