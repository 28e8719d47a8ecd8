"""Each pass on a hand-built IR graph: the ops before and after, and the same numbers.

Graphs are built with the graph's own methods (shapes from the ops' ``infer``) and run
through the NumPy backend (and ONNX for fold_batchnorm) before and after the pass. The
graph's use lists themselves are tested in test_passes.py.
"""

import numpy as np

from compiler.backends.numpy.codegen import load_module, to_numpy
from compiler.ir.graph import Graph, Node, Value
from compiler.ir.verify import verify
from compiler.ops import get_op
from compiler.passes.cancel_fold import cancel_fold
from compiler.passes.dce import dce
from compiler.passes.drop_noops import drop_noops
from compiler.passes.fold_batchnorm import fold_batchnorm
from compiler.passes.fuse_activation import fuse_activation
from compiler.passes.hoist_unfold import hoist_unfold
from compiler.passes.sink_fold import sink_fold


def _w(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def emit(g: Graph, op: str, inputs: list[Value], name: str, **attrs) -> Value:
    """Append one node ``op`` (attrs; weights under ``w``); its output shapes from ``infer``."""
    weights = attrs.pop("w", {})
    node = Node(op, list(inputs), [], attrs, weights, layer=name, label=name)
    for shape, dtype in get_op(op).infer(node):
        node.outputs.append(Value(g.fresh(name), tuple(shape), dtype))
    return g.add_node(node).output


def dense(g: Graph, x: Value, units: int, name: str, seed: int = 1) -> Value:
    w = {"kernel": _w(x.shape[-1], units, seed=seed), "bias": _w(units, seed=seed + 50)}
    return emit(g, "Dense", [x], name, w=w)


def finish(g: Graph, *outs: Value) -> Graph:
    g.outputs, g.output_names = list(outs), [f"y{k}" for k in range(len(outs))]
    verify(g)
    return g


def run_numpy(g: Graph, x: np.ndarray) -> np.ndarray:
    text, weights = to_numpy(g, "hand-built")
    return load_module(text, weights).predict(x)


def sample(g: Graph, seed: int = 7) -> np.ndarray:
    """A random input for the graph's first input at batch 2, time 3."""
    shape = tuple({"N": 2, "T": 3}.get(d, d) for d in g.inputs[0].shape)
    return _w(*shape, seed=seed)  # type: ignore[arg-type]


def check(g: Graph, p, before: list[str], after: list[str]) -> None:
    """``p`` turns the op list ``before`` into ``after`` and keeps the numbers."""
    x = sample(g)
    assert g.ops() == before
    ref = run_numpy(g, x)
    assert p(g) is True
    verify(g)
    assert g.ops() == after
    np.testing.assert_allclose(run_numpy(g, x), ref, rtol=1e-5, atol=1e-5)


def unchanged(g: Graph, p, ops: list[str]) -> None:
    assert g.ops() == ops
    assert p(g) is False
    verify(g)
    assert g.ops() == ops


# -- drop_noops -------------------------------------------------------------------------------


def test_drop_noops():
    g = Graph("noops")
    x = g.add_input("x", ("N", 4))
    d = dense(g, x, 3, "d")
    i = emit(g, "identity", [d], "drop")
    r = emit(g, "act", [i], "r", kind="relu")
    check(finish(g, r), drop_noops, ["Dense", "identity", "act"], ["Dense", "act"])
    assert g.nodes[1].inputs[0] is d and g.consumers(d) == [g.nodes[1]] and not g.uses(i)


def test_drop_noops_on_a_graph_output():
    g = Graph("noop_out")
    x = g.add_input("x", ("N", 4))
    i = emit(g, "identity", [dense(g, x, 3, "d")], "drop")
    check(finish(g, i), drop_noops, ["Dense", "identity"], ["Dense"])
    assert g.outputs == [g.nodes[0].output]


# -- cancel_fold ------------------------------------------------------------------------------


def _td_dense_twice() -> Graph:
    """fold -> Dense -> unfold, twice: the middle unfold -> fold is an identity."""
    g = Graph("td2")
    x = g.add_input("x", ("N", "T", 4))
    u = emit(g, "unfold", [dense(g, emit(g, "fold", [x], "f1"), 3, "d1"), x], "u1")
    d2 = dense(g, emit(g, "fold", [u], "f2"), 2, "d2", seed=2)
    return finish(g, emit(g, "unfold", [d2, x], "u2"))


def test_cancel_fold_unfold_then_fold():
    g = _td_dense_twice()
    before = ["fold", "Dense", "unfold", "fold", "Dense", "unfold"]
    after = ["fold", "Dense", "unfold", "Dense", "unfold"]  # the dead unfold waits for dce
    check(g, cancel_fold, before, after)
    first, second = (n for n in g.nodes if n.op == "Dense")
    assert second.inputs[0] is first.output
    assert dce(g) and g.ops() == ["fold", "Dense", "Dense", "unfold"]


def test_cancel_fold_fold_then_unfold():
    g = Graph("fu")
    x = g.add_input("x", ("N", "T", 4))
    r = emit(g, "act", [emit(g, "unfold", [emit(g, "fold", [x], "f"), x], "u")], "r", kind="tanh")
    check(finish(g, r), cancel_fold, ["fold", "unfold", "act"], ["fold", "act"])
    assert g.nodes[-1].inputs[0] is x


def test_cancel_fold_keeps_an_unfold_against_another_time_axis():
    g = Graph("two_times")
    x = g.add_input("x", ("N", "T", 4))
    ref = g.add_input("ref", ("N", "T2", 4))
    finish(g, emit(g, "unfold", [emit(g, "fold", [x], "f"), ref], "u"))
    unchanged(g, cancel_fold, ["fold", "unfold"])


def test_cancel_fold_shortens_unfold_references():
    g = Graph("refs")
    x = g.add_input("x", ("N", "T", 4))
    f = emit(g, "fold", [x], "f")
    u1 = emit(g, "unfold", [f, x], "u1")
    u2 = emit(g, "unfold", [dense(g, f, 3, "d"), u1], "u2")
    g = finish(g, u2)
    check(g, cancel_fold, ["fold", "unfold", "Dense", "unfold"], ["fold", "Dense", "unfold"])
    assert g.nodes[-1].inputs[1] is x and not g.uses(u1)


# -- hoist_unfold ------------------------------------------------------------------------------


def _two_branches(g: Graph, x: Value, second: Value, branch) -> tuple[Value, Value]:
    f = emit(g, "fold", [x], "f")
    return emit(g, "unfold", [branch(f, "b1"), x], "u1"), emit(
        g, "unfold", [branch(f, "b2"), second], "u2"
    )


def test_hoist_unfold_below_a_concat():
    g = Graph("hoist")
    x = g.add_input("x", ("N", "T", 3, 4))
    swap = lambda f, name: emit(g, "transpose", [f], name, perm=(0, 2, 1))  # noqa: E731
    u1, u2 = _two_branches(g, x, x, swap)
    g = finish(g, emit(g, "concat", [u1, u2], "cat", axis=3))
    before = ["fold", "transpose", "unfold", "transpose", "unfold", "concat"]
    after = ["fold", "transpose", "unfold", "transpose", "unfold", "concat", "unfold"]
    check(g, hoist_unfold, before, after)
    cat = g.nodes[-2]
    assert cat.attrs["axis"] == 2 and cat.output.shape == ("N*T", 4, 6)
    assert g.outputs[0].producer is g.nodes[-1]
    assert dce(g) and g.ops() == ["fold", "transpose", "transpose", "concat", "unfold"]


def test_hoist_unfold_leaves_other_references_and_pending_folds():
    g = Graph("no_hoist")
    x = g.add_input("x", ("N", "T", 3, 4))
    ref = g.add_input("ref", ("N", "T", 3, 4))
    swap = lambda f, name: emit(g, "transpose", [f], name, perm=(0, 2, 1))  # noqa: E731
    finish(g, emit(g, "merge", list(_two_branches(g, x, ref, swap)), "m", kind="add"))
    unchanged(g, hoist_unfold, ["fold", "transpose", "unfold", "transpose", "unfold", "merge"])

    g = Graph("pending")  # sink_fold will clear these folds instead
    x = g.add_input("x", ("N", "T", 4))
    branch = lambda f, name: dense(g, f, 3, name)  # noqa: E731
    finish(g, emit(g, "merge", list(_two_branches(g, x, x, branch)), "m", kind="add"))
    unchanged(g, hoist_unfold, ["fold", "Dense", "unfold", "Dense", "unfold", "merge"])


# -- sink_fold ---------------------------------------------------------------------------------


def test_sink_fold_below_dense_and_activation():
    g = Graph("sink")
    x = g.add_input("x", ("N", "T", 4))
    f = emit(g, "fold", [x], "f")
    r = emit(g, "act", [dense(g, f, 3, "d")], "r", kind="relu")
    g = finish(g, emit(g, "unfold", [r, x], "u"))
    before = ["fold", "Dense", "act", "unfold"]
    check(g, sink_fold, before, ["Dense", "fold", "act", "unfold"])
    assert g.nodes[0].output.shape == ("N", "T", 3) and g.nodes[1].output.name == "d"
    assert g.uses(f) == () and f.producer is None  # the old fold is gone
    check(g, sink_fold, g.ops(), ["Dense", "act", "fold", "unfold"])
    assert g.nodes[2].inputs[0] is g.nodes[1].output and sink_fold(g) is False


def test_sink_fold_keeps_a_fold_with_two_consumers():
    g = Graph("two_users")
    x = g.add_input("x", ("N", "T", 4))
    f = emit(g, "fold", [x], "f")
    m = emit(g, "merge", [dense(g, f, 3, "d1"), dense(g, f, 3, "d2", seed=2)], "m", kind="add")
    finish(g, emit(g, "unfold", [m, x], "u"))
    unchanged(g, sink_fold, ["fold", "Dense", "Dense", "merge", "unfold"])
    assert len(g.consumers(f)) == 2


# -- fold_batchnorm ----------------------------------------------------------------------------


def _bn(g: Graph, x: Value, name: str, axis: int = -1) -> Value:
    c = x.shape[axis]
    w = {"gamma": _w(c, seed=3), "beta": _w(c, seed=4), "moving_mean": _w(c, seed=5)}
    w["moving_variance"] = np.abs(_w(c, seed=6)) + 0.5
    return emit(g, "BatchNormalization", [x], name, axis=axis, epsilon=1e-3, w=w)


def _conv_bn() -> Graph:
    g = Graph("conv_bn")
    x = g.add_input("x", ("N", 6, 6, 3))
    w = {"kernel": _w(3, 3, 3, 4), "bias": _w(4, seed=2)}
    one = (1, 1)
    c = emit(g, "Conv2D", [x], "c", w=w, strides=one, padding="same", dilation_rate=one, groups=1)
    return finish(g, _bn(g, c, "bn"))


def test_fold_batchnorm_into_conv_numpy_and_onnx():
    from compiler.backends.onnx.build import to_onnx
    from compiler.backends.onnx.session import run

    g = _conv_bn()
    x = sample(g, seed=3)
    (ref,) = run(to_onnx(g), {"x": x}).values()
    kernel = g.nodes[0].weights["kernel"]
    check(g, fold_batchnorm, ["Conv2D", "BatchNormalization"], ["Conv2D"])
    assert not np.allclose(g.nodes[0].weights["kernel"], kernel)  # the kernel is scaled
    (folded,) = run(to_onnx(g), {"x": x}).values()
    np.testing.assert_allclose(folded, ref, rtol=1e-5, atol=1e-5)


def test_fold_batchnorm_into_dense_without_bias():
    g = Graph("dense_bn")
    x = g.add_input("x", ("N", "T", 4))
    d = emit(g, "Dense", [x], "d", w={"kernel": _w(4, 5)})
    check(finish(g, _bn(g, d, "bn")), fold_batchnorm, ["Dense", "BatchNormalization"], ["Dense"])
    assert set(g.nodes[0].weights) == {"kernel", "bias"}


def test_fold_batchnorm_refusals():
    g = Graph("act_bn")  # Dense(activation=relu) -> BN: the activation sits in between
    x = g.add_input("x", ("N", 4))
    r = emit(g, "act", [dense(g, x, 5, "d")], "r", kind="relu")
    finish(g, _bn(g, r, "bn"))
    assert fuse_activation(g) and g.ops() == ["Dense", "BatchNormalization"]
    unchanged(g, fold_batchnorm, ["Dense", "BatchNormalization"])

    g = Graph("axis_bn")  # BN on the channel axis -2 is not the Dense's units axis
    d = dense(g, g.add_input("x", ("N", 3, 4)), 5, "d")
    finish(g, _bn(g, d, "bn", axis=-2))
    unchanged(g, fold_batchnorm, ["Dense", "BatchNormalization"])

    g = Graph("shared_bn")  # the Dense output is read elsewhere too
    d = dense(g, g.add_input("x", ("N", 4)), 5, "d")
    finish(g, emit(g, "merge", [_bn(g, d, "bn"), d], "m", kind="add"))
    unchanged(g, fold_batchnorm, ["Dense", "BatchNormalization", "merge"])


# -- fuse_activation ---------------------------------------------------------------------------


def test_fuse_activation():
    g = Graph("fuse")
    x = g.add_input("x", ("N", 4))
    r = emit(g, "act", [dense(g, x, 3, "d")], "r", kind="leaky_relu", negative_slope=0.1)
    check(finish(g, r), fuse_activation, ["Dense", "act"], ["Dense"])
    attrs = g.nodes[0].attrs
    assert attrs["activation"] == "leaky_relu" and attrs["act_params"] == {"negative_slope": 0.1}
    assert g.outputs == [g.nodes[0].output] and fuse_activation(g) is False


def test_fuse_activation_keeps_a_returned_or_shared_input():
    g = Graph("returned")
    d = dense(g, g.add_input("x", ("N", 4)), 3, "d")
    finish(g, d, emit(g, "act", [d], "r", kind="relu"))
    unchanged(g, fuse_activation, ["Dense", "act"])

    g = Graph("shared")
    d = dense(g, g.add_input("x", ("N", 4)), 3, "d")
    finish(g, emit(g, "merge", [emit(g, "act", [d], "r", kind="relu"), d], "m", kind="add"))
    unchanged(g, fuse_activation, ["Dense", "act", "merge"])


# -- dce ---------------------------------------------------------------------------------------


def test_dce_drops_dead_chains():
    g = Graph("dead")
    x = g.add_input("x", ("N", 4))
    a = emit(g, "act", [dense(g, x, 3, "a")], "a_relu", kind="relu")
    b = dense(g, x, 2, "b", seed=2)
    check(finish(g, b), dce, ["Dense", "act", "Dense"], ["Dense"])
    assert g.nodes[0].layer == "b" and g.consumers(x) == [g.nodes[0]]
    assert a.producer is None and dce(g) is False
