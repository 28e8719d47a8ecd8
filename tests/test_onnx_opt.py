"""ONNX-level rewrites: pinned node counts of the examples, numbers unchanged against Keras,
and each rewrite on a hand-built graph against onnxruntime before and after."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from compiler.api import compile_file
from compiler.backends.onnx.optimize import optimise
from compiler.backends.onnx.session import run
from oracle import check, compile_with_random_weights, model, onnx_ops, td

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

ROOT = Path(__file__).resolve().parents[1]
CF, CL = [0, 3, 1, 2], [0, 2, 3, 1]


def ops(proto: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in proto.graph.node]


def test_video_example_converts_layout_once_per_conv_run():
    proto = compile_file(ROOT / "examples" / "video_classifier.yaml").onnx()
    seq = ops(proto)
    counts = Counter(seq)
    # One Transpose into the Conv/MaxPool run, one out before Flatten, one into the LSTM.
    assert counts["Transpose"] == 3, seq
    # 20 nodes, plus 7 that carry a NaN in a frame into the LSTM's state as Keras does
    # (IsNaN, Cast, ReduceMax, CumSum, ReduceMax, Greater, Where), plus 2 that run the LSTM
    # only on a non-empty input (Size, Greater; the LSTM sits in an If's branch)
    assert len(seq) == 29, seq
    assert [counts[op] for op in ("Size", "If")] == [1, 1], seq
    assert [counts[op] for op in ("IsNaN", "CumSum", "Where")] == [1, 1, 1], seq
    # ReLU right after each Conv (onnxruntime fuses the pair), pooling straight after.
    conv_at = [i for i, op in enumerate(seq) if op == "Conv"]
    assert [seq[i + 1 : i + 3] for i in conv_at] == [["Relu", "MaxPool"]] * 2, seq
    every = onnx_ops(proto)
    assert every.count("LSTM") == 1 and every.count("BatchNormalization") == 0


def test_td_dense_example_is_matmul_add():
    proto = compile_file(ROOT / "examples" / "seed_td_dense.yaml").onnx()
    assert ops(proto) == ["MatMul", "Add"]


def test_output_is_deterministic():
    path = ROOT / "examples" / "video_classifier.yaml"
    first = compile_file(path).onnx().SerializeToString()
    assert compile_file(path).onnx().SerializeToString() == first


CHAIN = model(
    [None, 12, 12, 3],
    td({"type": "Conv2D", "filters": 6, "kernel_size": 3, "padding": "same"}),
    td({"type": "Activation", "activation": "swish"}),
    td({"type": "ZeroPadding2D", "padding": 1}),
    td({"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "relu"}),
    td({"type": "BatchNormalization"}),
    td({"type": "UpSampling2D", "size": 2}),
    td({"type": "MaxPooling2D", "pool_size": 2}),
    td({"type": "Cropping2D", "cropping": 1}),
    td({"type": "DepthwiseConv2D", "kernel_size": 3, "activation": "tanh"}),
    td({"type": "AveragePooling2D", "pool_size": 2, "padding": "same"}),
    td({"type": "GlobalAveragePooling2D"}),
    td({"type": "Dense", "units": 5}),
)


def test_conv_chain_has_one_layout_change(tmp_path):
    proto = compile_with_random_weights(tmp_path, CHAIN).onnx()
    seq = ops(proto)
    # The only Transpose left: into the convolution run (global pooling reads NCHW).
    assert seq.count("Transpose") == 1, seq
    assert seq.count("Conv") == 3, seq


def test_conv_chain_matches_keras(tmp_path):
    check(tmp_path, CHAIN, batch=2, time=3)


def test_residual_conv_blocks_match_keras(tmp_path):
    conv = {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}
    spec = {
        "inputs": {"x": {"shape": [None, 8, 8, 4], "dtype": "float32"}},
        "layers": [
            {"name": "a", **td({**conv, "activation": "relu"})},
            {"name": "b", **td(conv), "inputs": ["a"]},
            {"name": "sum", "type": "Add", "inputs": ["a", "b"]},
            {"name": "pool", **td({"type": "MaxPooling2D"}), "inputs": ["sum"]},
            {"name": "soft", **td({"type": "Softmax", "axis": -1}), "inputs": ["pool"]},
        ],
        "outputs": ["soft"],
    }
    proto = compile_with_random_weights(tmp_path, spec).onnx()
    assert ops(proto).count("Transpose") == 2, ops(proto)
    check(tmp_path, spec, batch=2, time=3)


# -- single rewrites on hand-built graphs -----------------------------------------------------


def _build(nodes: list, inits: dict[str, np.ndarray], shape: list[int]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def rewrite(nodes: list, inits: dict | None = None, shape: tuple = (2, 3, 4, 5)) -> list[str]:
    """Optimise a small graph; assert it computes the same; return its op types."""
    inits = {k: np.asarray(v) for k, v in (inits or {}).items()}
    before = _build(nodes, inits, list(shape))
    after = onnx.ModelProto()
    after.CopyFrom(before)
    new_nodes, new_inits = list(after.graph.node), list(after.graph.initializer)
    optimise(new_nodes, new_inits, ["x"], ["y"])
    del after.graph.node[:], after.graph.initializer[:]
    after.graph.node.extend(new_nodes)
    after.graph.initializer.extend(new_inits)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    want, got = run(before, {"x": x})["y"], run(after, {"x": x})["y"]
    after.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", 1, want.shape))
    onnx.checker.check_model(after, full_check=True)
    assert want.shape == got.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    return ops(after)


def T(src: str, dst: str, perm: list[int]) -> onnx.NodeProto:
    return helper.make_node("Transpose", [src], [dst], perm=perm)


def N(op: str, ins: list[str], out: str, **kw) -> onnx.NodeProto:
    return helper.make_node(op, ins, [out], **kw)


def test_transpose_pair_through_relu_cancels():
    nodes = [T("x", "a", CL), N("Relu", ["a"], "b"), T("b", "c", CF), N("Sigmoid", ["c"], "y")]
    assert rewrite(nodes) == ["Relu", "Sigmoid"]


def test_per_channel_constant_is_relaid():
    bias = np.arange(3, dtype=np.float32)  # per channel of the NHWC view (channels last)
    nodes = [T("x", "a", CL), N("Add", ["a", "b"], "c"), T("c", "y", CF)]
    assert rewrite(nodes, {"b": bias}) == ["Add"]


def test_swish_takes_one_transpose_in_and_out():
    nodes = [
        T("x", "a", CL),
        N("Sigmoid", ["a"], "s"),
        N("Mul", ["a", "s"], "m"),
        T("m", "y", CF),
    ]
    assert rewrite(nodes) == ["Sigmoid", "Mul"]


@pytest.mark.parametrize("axis", [-1, 1, 3])
def test_softmax_axis_is_renumbered(axis):
    nodes = [T("x", "a", CL), N("Softmax", ["a"], "b", axis=axis), T("b", "y", CF)]
    assert rewrite(nodes) == ["Softmax"]


def test_pad_slice_and_nearest_resize_are_renumbered():
    nodes = [
        T("x", "a", CL),
        N("Pad", ["a", "pads"], "b"),
        N("Slice", ["b", "starts", "ends", "axes"], "c"),
        N("Resize", ["c", "", "scales"], "d", mode="nearest"),
        T("d", "y", CF),
    ]
    inits = {
        "pads": np.array([0, 1, 2, 0, 0, 2, 1, 0], np.int64),
        "starts": np.array([1, 0], np.int64),
        "ends": np.array([-1, 3], np.int64),
        "axes": np.array([1, 3], np.int64),
        "scales": np.array([1, 2, 3, 1], np.float32),
    }
    assert rewrite(nodes, inits) == ["Pad", "Slice", "Resize"]


@pytest.mark.parametrize("keep", [0, 1])
def test_reduce_reads_the_untransposed_tensor(keep):
    nodes = [T("x", "a", CL), N("ReduceMean", ["a"], "y", axes=[1, 2], keepdims=keep)]
    assert rewrite(nodes) == (["ReduceMean"] if not keep else ["ReduceMean", "Transpose"])


def test_consecutive_transposes_merge():
    nodes = [T("x", "a", [1, 0, 2, 3]), T("a", "y", [0, 2, 1, 3])]
    assert rewrite(nodes) == ["Transpose"]


def test_shared_transpose_is_not_duplicated():
    """A Transpose read by a Conv-like op and a Relu stays single (no gain in moving it)."""
    nodes = [
        T("x", "a", CL),
        N("Relu", ["a"], "r"),
        N("MaxPool", ["a"], "m", kernel_shape=[1, 1]),
        N("Add", ["r", "m"], "y"),
    ]
    assert rewrite(nodes).count("Transpose") == 1


def test_identity_before_output_is_renamed_away():
    nodes = [N("Relu", ["x"], "a"), N("Identity", ["a"], "y")]
    assert rewrite(nodes) == ["Relu"]


def test_constant_shapes_are_folded():
    nodes = [
        N("Concat", ["s1", "s2"], "s", axis=0),
        N("Reshape", ["x", "s"], "r"),
        N("Reshape", ["r", "s3"], "y"),
    ]
    inits = {
        "s1": np.array([2], np.int64),
        "s2": np.array([-1], np.int64),
        "s3": np.array([6, 20], np.int64),
    }
    assert rewrite(nodes, inits) == ["Reshape"]
