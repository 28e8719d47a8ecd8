"""Each pass on lowered models: the ops that survive it, and unchanged numbers (NumPy
backend vs Keras); the graph's edit methods and use lists, which every pass relies on.
(test_pass_units.py has each pass on a hand-built graph.)"""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.backends.numpy.codegen import load_module, to_numpy
from compiler.ir.graph import Graph, Node, Value
from compiler.ir.lowering import Builder
from compiler.ir.verify import verify
from compiler.passes import PIPELINE, run_pipeline
from compiler.passes.cancel_fold import cancel_fold
from compiler.passes.dce import dce
from compiler.passes.drop_noops import drop_noops
from compiler.passes.fuse_activation import fuse_activation
from compiler.passes.sink_fold import sink_fold
from oracle import model, td, write_model


def _graph(tmp_path, m):
    from compiler.frontend.loader import load_model

    return Builder(load_model(write_model(tmp_path, m))).build()


def _run(graph, x):
    text, w = to_numpy(graph, "test")
    return load_module(text, w).predict(x)


TD_CHAIN = model(
    [6, 4, 3],
    td({"type": "Reshape", "target_shape": [3, 4]}),
    td({"type": "Permute", "dims": [2, 1]}),
    {"type": "Dropout", "rate": 0.5},
    td({"type": "Flatten"}),
    td({"type": "Dense", "units": 5, "activation": "tanh"}),
    td({"type": "Dense", "units": 2}),
)


def test_each_pass_in_turn(tmp_path):
    g = _graph(tmp_path, TD_CHAIN)
    x = np.random.default_rng(0).standard_normal((3, 6, 4, 3)).astype(np.float32)
    ref = _run(g, x)
    assert (g.count("fold"), g.count("unfold"), g.count("identity")) == (5, 5, 1)
    steps = [
        (drop_noops, {"identity": 0, "fold": 5}),
        (cancel_fold, {"fold": 1, "unfold": 5}),  # dead unfolds wait for dce
        (sink_fold, {"fold": 1}),
        (cancel_fold, {"fold": 1}),
        (fuse_activation, {"act": 0}),
        (dce, {"fold": 1, "unfold": 1}),
    ]
    for p, counts in steps:
        p(g)
        verify(g)
        for op, n in counts.items():
            assert g.count(op) == n, f"after {p.__name__}: {op} x{g.count(op)}, expected {n}"
        np.testing.assert_allclose(_run(g, x), ref, rtol=1e-6, atol=1e-6)
    assert g.ops() == ["fold", "reshape", "transpose", "reshape", "Dense", "Dense", "unfold"]


def test_td_dense_has_no_reshape_at_all(tmp_path):
    c = compile_file(write_model(tmp_path, model([10, 16], td({"type": "Dense", "units": 8}))))
    assert c.graph.ops() == ["Dense"]
    assert [n.op_type for n in c.onnx().graph.node] == ["MatMul", "Add"]


def test_dce_drops_unused_branch(tmp_path):
    m = {
        "inputs": {"x": {"shape": [4]}},
        "layers": [
            {"name": "a", "type": "Dense", "units": 3},
            {"name": "b", "type": "Dense", "units": 2, "inputs": "x"},
        ],
        "outputs": ["b"],
    }
    g = _graph(tmp_path, m)
    assert g.count("Dense") == 2
    assert dce(g) and g.count("Dense") == 1 and g.nodes[0].layer == "b"


def test_pipeline_is_explicit_and_reaches_fixpoint(tmp_path):
    assert isinstance(PIPELINE, tuple) and len(PIPELINE) >= 5
    g = _graph(tmp_path, TD_CHAIN)
    run_pipeline(g)
    assert run_pipeline(g) == []


@pytest.mark.parametrize("keep", [True, False])
def test_fusion_respects_graph_outputs(tmp_path, keep):
    m = model(
        [5],
        {"name": "d", "type": "Dense", "units": 3},
        {"name": "r", "type": "Activation", "activation": "relu"},
    )
    if keep:
        m["outputs"] = ["d", "r"]
    c = compile_file(write_model(tmp_path, m))
    assert c.graph.count("act") == (1 if keep else 0)


CONV_CHAIN = model(
    [None, 12, 12, 3],
    td({"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}, "c1"),
    td({"type": "BatchNormalization"}, "bn1"),
    td({"type": "ReLU"}, "r1"),
    td({"type": "MaxPooling2D", "pool_size": 2}, "p1"),
    td({"type": "Conv2D", "filters": 5, "kernel_size": 3, "activation": "tanh"}, "c2"),
    td({"type": "GlobalAveragePooling2D"}, "g2"),
    td({"type": "Dense", "units": 3}, "d3"),
)


@pytest.mark.slow
def test_td_chain_keeps_one_fold_and_one_unfold(tmp_path):
    """Seven TimeDistributed layers: one merge reshape and one split reshape in the ONNX."""
    from oracle import check

    c = compile_file(write_model(tmp_path, CONV_CHAIN))
    assert (c.graph.count("fold"), c.graph.count("unfold")) == (1, 1)
    assert c.graph.count("BatchNormalization") == 0 and c.graph.count("act") == 0
    ops = [n.op_type for n in c.onnx().graph.node]
    assert ops.count("Reshape") == 2, ops
    assert ops.count("Conv") == 2 and "BatchNormalization" not in ops
    (tmp_path / "x").mkdir()
    worst = check(tmp_path / "x", CONV_CHAIN, batch=2, time=3)
    assert worst["onnx"] < 1e-4 and worst["numpy"] < 1e-4


def test_hoist_unfold_runs_merge_of_folded_branches_folded(tmp_path):
    from compiler.passes.hoist_unfold import hoist_unfold

    conv = {"type": "Conv1D", "filters": 2, "kernel_size": 2, "padding": "same"}
    m = {
        "inputs": {"x": {"shape": [None, 6, 2], "dtype": "float32"}},
        "layers": [
            td(conv, "c1"),
            {**td(conv, "c2"), "inputs": "x"},
            {"type": "Concatenate", "inputs": ["c1", "c2"], "name": "cat"},
            td({"type": "Flatten"}, "flat"),
        ],
    }
    g = _graph(tmp_path, m)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 2)).astype(np.float32)
    ref = _run(g, x)
    assert hoist_unfold(g) and not hoist_unfold(g)
    verify(g)
    assert g.count("unfold") == 4 and g.count("fold") == 3  # branch unfolds now dead
    run_pipeline(g)
    assert (g.count("fold"), g.count("unfold")) == (2, 1)
    np.testing.assert_allclose(_run(g, x), ref, rtol=1e-6, atol=1e-6)


# -- the graph's edit methods keep producers and use lists ------------------------------------


def _add(g: Graph, op: str, inputs: list[Value], **attrs) -> Value:
    node = Node(op, list(inputs), [], attrs, layer=op)
    node.outputs = [Value(g.fresh(op), inputs[0].shape)]
    return g.add_node(node).output


def test_use_lists_follow_add_remove_replace_uses_and_set_input():
    g = Graph("uses")
    x = g.add_input("x", ("N", 4))
    d = _add(g, "act", [x], kind="relu")
    m = _add(g, "merge", [d, d], kind="add")
    r = _add(g, "act", [d], kind="tanh")
    dn, mn, rn = g.nodes
    assert g.consumers(d) == [mn, rn] and g.uses(d) == ((mn, 0), (mn, 1), (rn, 0))
    assert g.consumers(x) == [dn] and g.consumers(m) == []
    g.replace_uses(d, x)
    assert g.consumers(d) == [] and g.consumers(x) == [dn, mn, rn] and mn.inputs == [x, x]
    g.set_input(mn, 1, r)
    assert g.uses(x) == ((dn, 0), (mn, 0), (rn, 0)) and g.uses(r) == ((mn, 1),)
    g.remove(rn)  # r loses its producer; mn still reads it until rewired
    assert r.producer is None and rn not in g and g.uses(x) == ((dn, 0), (mn, 0))
    assert g.nodes == (dn, mn) and g.uses(r) == ((mn, 1),)
    g.outputs = [d]
    g.replace_uses(d, m)
    assert g.outputs == [m]


def test_insert_and_the_read_only_node_list():
    g = Graph("order")
    x = g.add_input("x", ("N", 4))
    d = _add(g, "act", [x], kind="relu")
    first = Node("act", [x], [Value("a", x.shape)], {"kind": "tanh"})
    last = Node("act", [d], [Value("b", d.shape)], {"kind": "tanh"})
    g.insert_before(d.producer, first)
    g.insert_after(d.producer, last)
    assert g.nodes == (first, d.producer, last) and first.output.producer is first
    with pytest.raises(AttributeError):
        g.nodes.append(first)  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        g.nodes = ()  # type: ignore[misc]
    with pytest.raises(AssertionError, match="already in graph"):
        g.add_node(first)
    with pytest.raises(AssertionError, match="already has a producer"):
        g.add_node(Node("identity", [x], [d]))
    g.remove(last)
    with pytest.raises(AssertionError, match="not in graph"):
        g.set_input(last, 0, x)


def test_verify_catches_edits_behind_the_graph():
    g = Graph("stale")
    x = g.add_input("x", ("N", 4))
    d = _add(g, "act", [x], kind="relu")
    r = _add(g, "act", [d], kind="tanh")
    g.outputs, g.output_names = [r], ["y"]
    verify(g)
    r.producer.inputs[0] = x  # not through set_input: the use lists still say d
    with pytest.raises(AssertionError, match=r"use list of %x\(N, 4\) is stale"):
        verify(g)
    r.producer.inputs[0] = d
    verify(g)
    d.producer = None  # a producer the node list does not match
    with pytest.raises(AssertionError, match="records producer"):
        verify(g)
