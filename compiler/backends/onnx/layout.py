"""The node list ``onnx_opt`` rewrites (``OnnxGraph``) and the rewrites that sink Transposes.

A Transpose ``%t = Transpose(%x) perm=p`` commutes with any op that treats every axis
alike (elementwise ops, broadcasting against constants) or whose axis parameters can be
renumbered (Softmax and Concat axes, Pad widths, Slice axes, Resize scales, reduction
axes): ``op(Transpose(x, p)) == Transpose(op'(x), p)``. Moving Transposes down this way
brings the NHWC->NCHW Transpose of the next convolution right after the NCHW->NHWC one
of the previous, where ``merge_transposes`` cancels them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

UNARY = {
    "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Selu", "Celu", "Softplus", "Softsign",
    "HardSigmoid", "HardSwish", "ThresholdedRelu", "Exp", "Log", "Abs", "Neg", "Sqrt",
    "Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sign", "Not", "Identity", "Cast",
}  # fmt: skip
BROADCAST = {
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "PRelu", "Clip",
    "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Mod",
}  # fmt: skip
AXIS_OPS = {"Softmax", "LogSoftmax", "Hardmax", "Concat"}
REDUCE_OPS = {
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSumExp",
    "ReduceSumSquare",
}  # fmt: skip  (opset 17: ``axes`` is an attribute of these)


def attrs(node: onnx.NodeProto) -> dict[str, Any]:
    """A node's attributes as Python values (lists for repeated ints)."""
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = list(v) if isinstance(v, list | tuple) else v
    return out


def fresh_name(taken: set[str], hint: str) -> str:
    """``hint``, or ``hint_1``, ``hint_2``, ... : the first not in ``taken`` (then taken)."""
    name, k = hint, 1
    while name in taken:
        name, k = f"{hint}_{k}", k + 1
    taken.add(name)
    return name


class OnnxGraph:
    """A topologically sorted node list, its initialisers and graph inputs and outputs."""

    def __init__(
        self,
        nodes: list[onnx.NodeProto],
        inits: list[onnx.TensorProto],
        inputs: list[str],
        outputs: list[str],
    ) -> None:
        self.nodes = list(nodes)
        self.inits = {t.name: t for t in inits}
        self.inputs, self.outputs = set(inputs), set(outputs)
        self.taken = set(self.inits) | self.inputs | self.outputs
        self.taken |= {s for n in nodes for s in (*n.input, *n.output, n.name)}
        self._arrays: dict[str, np.ndarray] = {}
        self._producers: dict[str, onnx.NodeProto] = {}
        self._consumers: dict[str, list[onnx.NodeProto]] = {}
        self._alive: set[int] = set()
        self._reindex()

    # -- lookups (an index kept up to date by every edit) ---------------------------------

    def _reindex(self) -> None:
        self._producers, self._consumers, self._alive = {}, {}, set()
        for node in self.nodes:
            self._enter(node)

    def _enter(self, node: onnx.NodeProto) -> None:
        for name in node.output:
            self._producers[name] = node
        for name in set(node.input):
            self._consumers.setdefault(name, []).append(node)
        self._alive.add(id(node))

    def _leave(self, node: onnx.NodeProto) -> None:
        for name in node.output:
            if self._producers.get(name) is node:
                del self._producers[name]
        for name in set(node.input):
            self._consumers[name] = [c for c in self._consumers[name] if c is not node]
        self._alive.discard(id(node))

    def live(self, op_types: set[str] | None = None) -> Iterator[onnx.NodeProto]:
        """The nodes (of ``op_types``), skipping any a rewrite removed during the sweep."""
        for node in list(self.nodes):
            if (op_types is None or node.op_type in op_types) and id(node) in self._alive:
                yield node

    def producer(self, name: str) -> onnx.NodeProto | None:
        return self._producers.get(name)

    def consumers(self, name: str) -> list[onnx.NodeProto]:
        return self._consumers.get(name, [])

    def array(self, name: str) -> np.ndarray | None:
        """The value of initialiser ``name``, or None when it is not one."""
        if name not in self.inits:
            return None
        if name not in self._arrays:
            self._arrays[name] = numpy_helper.to_array(self.inits[name])
        return self._arrays[name]

    # -- edits ----------------------------------------------------------------------------

    def fresh(self, hint: str) -> str:
        return fresh_name(self.taken, hint)

    def set_init(self, name: str, value: np.ndarray) -> None:
        self.inits[name] = numpy_helper.from_array(value, name)
        self._arrays[name] = value
        self.taken.add(name)

    def const(self, value: np.ndarray, like: str) -> str:
        """A new initialiser named after ``like``."""
        name = self.fresh(f"{like}/nchw")
        self.set_init(name, value)
        return name

    def position(self, node: onnx.NodeProto) -> int:
        return next(i for i, n in enumerate(self.nodes) if n is node)

    def remove(self, node: onnx.NodeProto) -> None:
        del self.nodes[self.position(node)]
        self._leave(node)

    def insert_after(self, node: onnx.NodeProto, new: onnx.NodeProto) -> None:
        self.nodes.insert(self.position(node) + 1, new)
        self.taken.add(new.name)
        self._enter(new)

    def swap(self, node: onnx.NodeProto, new: onnx.NodeProto) -> None:
        """Put ``new`` where ``node`` is."""
        self.nodes[self.position(node)] = new
        self._leave(node)
        self._enter(new)

    def replace(self, node: onnx.NodeProto, op_type: str, inputs: list[str], **kw: Any) -> None:
        """Swap ``node`` for a new one (same name and outputs, same place)."""
        self.swap(node, helper.make_node(op_type, inputs, list(node.output), name=node.name, **kw))

    def replace_uses(self, old: str, new: str) -> None:
        """Make every reader of ``old`` read ``new``."""
        for node in self._consumers.pop(old, []):
            for i, name in enumerate(node.input):
                if name == old:
                    node.input[i] = new
            readers = self._consumers.setdefault(new, [])
            if all(c is not node for c in readers):
                readers.append(node)

    def rename_output(self, node: onnx.NodeProto, old: str, new: str) -> None:
        """``node`` writes ``new`` instead of ``old`` (which then has no readers)."""
        self._leave(node)
        node.output[list(node.output).index(old)] = new
        self._enter(node)

    def drop_dead(self) -> bool:
        """Remove nodes whose outputs are all unused; True when any was removed."""
        uses = Counter(name for node in self.nodes for name in node.input)
        uses.update(self.outputs)
        keep = []
        for node in reversed(self.nodes):
            if any(uses[o] for o in node.output if o):
                keep.append(node)
            else:
                uses.subtract(node.input)
        if len(keep) == len(self.nodes):
            return False
        self.nodes = keep[::-1]
        self._reindex()
        return True


# -- adapting an op to the untransposed layout ------------------------------------------
#
# An adapter checks whether ``node``, reading ``Transpose(x, p)`` through the tensors in
# ``inside``, can read ``x`` instead; if so it returns a function that makes the new
# inputs and attributes (creating re-laid constants only then), else None.

Adapted = tuple[list[str], dict[str, Any]]
Adapter = Callable[[], Adapted]


def _relaid(g: OnnxGraph, name: str, p: list[int]) -> str:
    """Initialiser ``c`` broadcast against ``Transpose(x, p)``, re-laid to broadcast on ``x``."""
    c = g.array(name)
    assert c is not None
    if c.size == 1:
        return name
    c = c.reshape((1,) * (len(p) - c.ndim) + c.shape)
    return g.const(np.ascontiguousarray(np.transpose(c, np.argsort(p))), name)


def _elementwise(g: OnnxGraph, node: onnx.NodeProto, p: list[int], inside: set) -> Adapter | None:
    consts = [x for x in node.input if x and x not in inside]
    if any(g.array(x) is None or g.array(x).ndim > len(p) for x in consts):
        return None

    def apply() -> Adapted:
        ins = [_relaid(g, x, p) if x in consts else x for x in node.input]
        return ins, attrs(node)

    return apply


def _axis(g: OnnxGraph, node: onnx.NodeProto, p: list[int], inside: set) -> Adapter | None:
    if not all(name in inside for name in node.input):
        return None
    kw = attrs(node)
    kw["axis"] = p[kw.get("axis", -1) % len(p)]
    return lambda: (list(node.input), kw)


def _pad(g: OnnxGraph, node: onnx.NodeProto, p: list[int], inside: set) -> Adapter | None:
    pads = g.array(node.input[1]) if len(node.input) > 1 else None
    rest = node.input[2:]
    if node.input[0] not in inside or pads is None or any(r and g.array(r) is None for r in rest):
        return None
    n = len(p)
    new = np.zeros_like(pads)
    for i in range(n):
        new[p[i]], new[n + p[i]] = pads[i], pads[n + i]
    return lambda: ([node.input[0], g.const(new, node.input[1]), *rest], attrs(node))


def _slice(g: OnnxGraph, node: onnx.NodeProto, p: list[int], inside: set) -> Adapter | None:
    ins = list(node.input) + [""] * (5 - len(node.input))
    if ins[0] not in inside or any(x and g.array(x) is None for x in ins[1:]):
        return None
    starts, axes = g.array(ins[1]), g.array(ins[3]) if ins[3] else None
    axes = np.arange(len(starts)) if axes is None else axes
    new = np.asarray([p[int(a) % len(p)] for a in axes], dtype=np.int64)
    return lambda: ([*ins[:3], g.const(new, ins[1] + "/axes"), ins[4]], attrs(node))


def _resize(g: OnnxGraph, node: onnx.NodeProto, p: list[int], inside: set) -> Adapter | None:
    """Nearest-neighbour Resize only (linear Resize runs fastest channels-first as lowered)."""
    kw = attrs(node)
    ins = list(node.input) + [""] * (4 - len(node.input))
    if ins[0] not in inside or kw.get("mode", "nearest") not in (b"nearest", "nearest"):
        return None
    roi = g.array(ins[1]) if ins[1] else np.empty(0)
    if roi is None or roi.size:
        return None  # a region of interest is laid out per axis too: not handled
    k = 2 if ins[2] else 3
    vals = g.array(ins[k]) if ins[k] else None
    if vals is None or len(vals) != len(p):
        return None
    new = np.empty_like(vals)
    new[p] = vals

    def apply() -> Adapted:
        ins[k] = g.const(new, ins[k])
        return ins[: k + 1], kw

    return apply


ADAPTERS: dict[str, Callable[..., Adapter | None]] = {
    **{op: _elementwise for op in UNARY | BROADCAST},
    **{op: _axis for op in AXIS_OPS},
    "Pad": _pad,
    "Slice": _slice,
    "Resize": _resize,
}
