"""IR ``Graph`` -> ONNX ``ModelProto``; each IR op contributes nodes through ``OnnxBuilder``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ... import __version__
from ...ir.graph import Graph, Node, Value
from ...ops import get_op
from .layout import fresh_name
from .optimize import optimise
from .rnn_lower import LOWERINGS

OPSET = 17
#: Protobuf cannot copy or write a single message of 2 GiB or more (a tensor included).
MAX_TENSOR_BYTES = 2**31 - 2**20
DTYPES = {
    "float32": TensorProto.FLOAT,
    "int32": TensorProto.INT32,
    "int64": TensorProto.INT64,
    "bool": TensorProto.BOOL,  # a Keras operation's comparison as a model output
}


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
            from ...errors import TdcError

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

    @staticmethod
    def dtype(name: str) -> int:
        """The ONNX element type of a NumPy dtype name (``Cast``'s ``to``)."""
        return helper.np_dtype_to_tensor_dtype(np.dtype(name))

    def filled(self, shape: str, value: Any, dtype: str, hint: str = "value") -> str:
        """A tensor of the (int64 vector) ``shape`` holding ``value`` everywhere."""
        tensor = helper.make_tensor(hint, self.dtype(dtype), [1], [value])
        return self.op("ConstantOfShape", [shape], value=tensor)

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


def lowering(op_name: str) -> Callable[[OnnxBuilder, Node], None]:
    """How ``op_name`` becomes ONNX nodes: its own ``onnx`` method, or the lowering the
    backend provides under its ``onnx_lowering`` name."""
    op = get_op(op_name)
    return LOWERINGS[op.onnx_lowering] if op.onnx_lowering else op.onnx


def to_onnx(graph: Graph) -> onnx.ModelProto:
    """The ONNX model of ``graph`` (opset 17, batch and null axes symbolic)."""
    g = OnnxBuilder()
    g.taken.update(graph.output_names)
    for v in graph.inputs:
        g.bind(v, v.name)
        g.taken.add(v.name)
    for node in graph.nodes:
        g.node = node
        lowering(node.op)(g, node)
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
