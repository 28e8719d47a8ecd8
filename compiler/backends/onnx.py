"""IR ``Graph`` -> ONNX ``ModelProto``; each IR op contributes nodes through ``OnnxBuilder``."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .. import __version__
from ..ir import Graph, Node, Value
from ..registry import get_op
from .onnx_layout import fresh_name
from .onnx_opt import optimise

OPSET = 17
#: Protobuf cannot copy or write a single message of 2 GiB or more (a tensor included).
MAX_TENSOR_BYTES = 2**31 - 2**20
DTYPES = {"float32": TensorProto.FLOAT, "int32": TensorProto.INT32, "int64": TensorProto.INT64}


class OnnxBuilder:
    """Collects ONNX nodes and initialisers; maps IR values to ONNX tensor names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.names: dict[int, str] = {}
        self.taken: set[str] = set()
        self.node: Node | None = None

    def fresh(self, hint: str) -> str:
        return fresh_name(self.taken, hint)

    def __getitem__(self, value: Value) -> str:
        return self.names[id(value)]

    def bind(self, value: Value, name: str) -> None:
        self.names[id(value)] = name

    def const(
        self, array: np.ndarray | list | int | float, hint: str = "c", dtype: Any = np.float32
    ) -> str:
        """An initialiser named after the current layer."""
        arr = np.asarray(array, dtype=dtype)
        if arr.nbytes >= MAX_TENSOR_BYTES:
            from ..errors import TdcError

            raise TdcError(
                f"weight '{hint}' {arr.shape} takes {arr.nbytes} bytes: one ONNX tensor holds "
                "less than 2 GiB (a whole model may exceed it)",
                layer=self._layer(),
                accepted="each weight array under 2 GiB for --target onnx; --target numpy "
                "has no such limit",
            )
        name = self.fresh(f"{self._layer()}/{hint}")
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def ints(self, values: list[int] | tuple[int, ...], hint: str = "shape") -> str:
        return self.const(np.asarray(values, dtype=np.int64), hint, np.int64)

    def op(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> Any:
        """Append a node; returns its output name (or a list when ``n_out`` > 1)."""
        layer = self._layer()
        outs = [self.fresh(f"{layer}/{op_type}_out") for _ in range(n_out)]
        name = self.fresh(f"{layer}/{op_type}")
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def set(self, node: Node, name: str, index: int = 0) -> None:
        self.bind(node.outputs[index], name)

    def _layer(self) -> str:
        return self.node.layer if self.node is not None else "graph"


def _value_info(name: str, value: Value) -> onnx.ValueInfoProto:
    dims = [d if isinstance(d, int) else str(d) for d in value.shape]
    return helper.make_tensor_value_info(name, DTYPES[value.dtype], dims)


def _rename(g: OnnxBuilder, old: str, new: str) -> None:
    for n in g.nodes:
        for seq in (n.input, n.output):
            for i, s in enumerate(seq):
                if s == old:
                    seq[i] = new


def _bind_outputs(g: OnnxBuilder, graph: Graph, input_names: set[str]) -> list[str]:
    """Give graph outputs the model file's names (rename, or Identity when shared)."""
    names: list[str] = []
    for value, out_name in zip(graph.outputs, graph.output_names, strict=True):
        current = g[value]
        if current in input_names or current in names:
            g.node = None
            g.nodes.append(
                helper.make_node(
                    "Identity", [current], [out_name], name=g.fresh(f"{out_name}/Identity")
                )
            )
        else:
            _rename(g, current, out_name)
            g.bind(value, out_name)
        names.append(out_name)
    return names


def to_onnx(graph: Graph) -> onnx.ModelProto:
    """The ONNX model of ``graph`` (opset 17, batch and null axes symbolic)."""
    g = OnnxBuilder()
    g.taken.update(graph.output_names)
    for v in graph.inputs:
        g.bind(v, v.name)
        g.taken.add(v.name)
    for node in graph.nodes:
        g.node = node
        get_op(node.op).onnx(g, node)
    names = _bind_outputs(g, graph, {v.name for v in graph.inputs})
    optimise(g.nodes, g.inits, [v.name for v in graph.inputs], names)
    onnx_graph = helper.make_graph(
        g.nodes,
        graph.name,
        [_value_info(v.name, v) for v in graph.inputs],
        [_value_info(n, v) for n, v in zip(names, graph.outputs, strict=True)],
        initializer=g.inits,
        doc_string=f"{graph.name}: compiled by tdc {__version__}",
    )
    model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="tdc",
        producer_version=__version__,
    )
    model.ir_version = 8
    helper.set_model_props(model, {"tdc.model": graph.name, "tdc.version": __version__})
    return model


def check(model: onnx.ModelProto) -> None:
    onnx.checker.check_model(model, full_check=True)


def session(
    model: onnx.ModelProto, provider: str = "cpu", threads: int = 0, spinning: bool = True
) -> Any:
    """An onnxruntime session; ``provider`` is cpu, cuda or auto; ``threads`` the intra-op
    threads (0: onnxruntime's default, one per physical core). ``spinning=False`` stops idle
    intra-op threads from busy-waiting after a run, which would take the CPU from whatever
    runs next (the benchmark's other backends)."""
    import onnxruntime as ort

    from ..errors import TdcError

    available = ort.get_available_providers()
    if provider == "cuda" and "CUDAExecutionProvider" not in available:
        raise TdcError(
            "--provider cuda: onnxruntime has no CUDA provider here "
            f"(available: {', '.join(available)}); install onnxruntime-gpu on a machine with "
            "an NVIDIA GPU, or use --provider cpu|auto"
        )
    providers = ["CPUExecutionProvider"]
    if provider in ("cuda", "auto") and "CUDAExecutionProvider" in available:
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    from . import onnx_save

    if onnx_save.initializer_bytes(model) <= onnx_save.THRESHOLD:
        return ort.InferenceSession(model.SerializeToString(), opts, providers=providers)
    # past protobuf's 2 GiB: load from a scratch model file plus external data (this moves
    # the large initializers of ``model`` out to that file)
    text, data = onnx_save.serialise(model, "model.onnx.data", onnx_save.THRESHOLD)
    with onnx_save.on_disk(text, data or b"", "model.onnx.data") as path:
        return ort.InferenceSession(str(path), opts, providers=providers)


def run(
    model: onnx.ModelProto, inputs: dict[str, np.ndarray], provider: str = "cpu"
) -> dict[str, np.ndarray]:
    sess = session(model, provider)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, inputs), strict=True))
