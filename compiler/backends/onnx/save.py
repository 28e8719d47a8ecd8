"""Writing an ONNX model file, with external data past protobuf's 2 GiB limit.

A protobuf message cannot be serialised beyond 2 GiB, so a model whose initializers
pass ``threshold`` bytes (default: the limit less headroom for the graph itself) is
written as two files: ``OUT.onnx`` with every large initializer marked external, and
``OUT.onnx.data`` beside it holding their bytes, each at an offset aligned to 4 KiB
(so onnxruntime can map it) in initializer order. Both are written through
``write_atomic``: whole or not at all, and the same model gives the same bytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import onnx
from onnx import TensorProto, numpy_helper

from ...safe_write import write_atomic

#: Protobuf refuses to serialise a message of 2 GiB or more.
PROTOBUF_LIMIT = 2**31
#: Room left for everything besides the initializers (nodes, names, small constants).
HEADROOM = 64 * 2**20
#: Initializer bytes past which the data goes to an external file.
THRESHOLD = PROTOBUF_LIMIT - HEADROOM
#: Tensors smaller than this stay inside the model file even when data goes outside.
MIN_EXTERNAL = 1024
ALIGN = 4096

_DATA_FIELDS = (
    "raw_data",
    "float_data",
    "int32_data",
    "string_data",
    "int64_data",
    "double_data",
    "uint64_data",
)


def check(model: onnx.ModelProto) -> None:
    """``onnx.checker`` with full checking (shapes and types inferred through the graph)."""
    onnx.checker.check_model(model, full_check=True)


def data_path(output: Path) -> Path:
    """Where the external data of ``output`` goes: ``OUT.onnx.data`` beside it."""
    return output.with_name(output.name + ".data")


def initializer_bytes(model: onnx.ModelProto) -> int:
    """Total bytes of the main graph's initializers (what external data would move)."""
    return sum(_nbytes(t) for t in model.graph.initializer)


def serialise(
    model: onnx.ModelProto, data_name: str, threshold: int = THRESHOLD
) -> tuple[bytes, bytes | None]:
    """The model file's bytes and the external data's (None when it fits in one file).

    When external data is needed, the large initializers of ``model`` itself are
    rewritten to point at ``data_name`` (their data moves out; nothing is copied twice).
    """
    if initializer_bytes(model) <= threshold:
        return model.SerializeToString(deterministic=True), None
    chunks: list[bytes] = []
    offset = 0
    for tensor in model.graph.initializer:
        if _nbytes(tensor) < MIN_EXTERNAL or tensor.data_type == TensorProto.STRING:
            continue
        blob = numpy_helper.to_array(tensor).astype(_little_endian(tensor)).tobytes()
        pad = -offset % ALIGN
        chunks.append(b"\0" * pad)
        offset += pad
        _make_external(tensor, data_name, offset, len(blob))
        chunks.append(blob)
        offset += len(blob)
    return model.SerializeToString(deterministic=True), b"".join(chunks)


def write_onnx(model: onnx.ModelProto, output: Path, threshold: int = THRESHOLD) -> list[Path]:
    """Check ``model`` (full ONNX checking) and write it; the paths written.

    Past ``threshold`` the model is checked from a scratch copy of both files, since
    the checker cannot take an in-memory model that large.
    """
    extra = data_path(output)
    text, data = serialise(model, extra.name, threshold)
    if data is None:
        check(model)
        write_atomic([(output, lambda p: p.write_bytes(text))])
        return [output]
    _check_files(text, data, extra.name)
    write_atomic([(extra, lambda p: p.write_bytes(data)), (output, lambda p: p.write_bytes(text))])
    return [output, extra]


@contextmanager
def on_disk(text: bytes, data: bytes, data_name: str) -> Iterator[Path]:
    """A scratch model file with its external data beside it (removed afterwards): how
    the checker and onnxruntime take a model past protobuf's limit."""
    with tempfile.TemporaryDirectory(prefix="tdc-onnx-") as tmp:
        (Path(tmp) / data_name).write_bytes(data)
        path = Path(tmp) / "model.onnx"
        path.write_bytes(text)
        yield path


def _check_files(text: bytes, data: bytes, data_name: str) -> None:
    with on_disk(text, data, data_name) as path:
        onnx.checker.check_model(str(path), full_check=True)


def _nbytes(tensor: TensorProto) -> int:
    if tensor.data_location == TensorProto.EXTERNAL:
        return 0
    if tensor.HasField("raw_data"):
        return len(tensor.raw_data)
    count = 1
    for d in tensor.dims:
        count *= d
    itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    return count * itemsize


def _little_endian(tensor: TensorProto):
    return onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type).newbyteorder("<")


def _make_external(tensor: TensorProto, location: str, offset: int, length: int) -> None:
    for field in _DATA_FIELDS:
        tensor.ClearField(field)
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
