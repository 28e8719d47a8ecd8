"""Merge layers, RepeatVector, multi-input/output graphs and dynamic time against Keras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from compiler.api import Compiled, compile_file
from compiler.backends.numpy.codegen import load_module
from compiler.backends.onnx.save import check as onnx_check
from compiler.backends.onnx.session import session
from compiler.errors import TdcError
from compiler.frontend.arrays import write_npz
from compiler.keras.oracle import keras_model
from oracle import ATOL, RTOL, check, random_weights, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

ELEMENTWISE = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")


def graph(inputs: dict[str, list[Any]], *layers: dict[str, Any], outputs: Any = None) -> dict:
    """A model file (as a dict) with several named float inputs."""
    m: dict[str, Any] = {
        "inputs": {k: {"shape": s, "dtype": "float32"} for k, s in inputs.items()},
        "layers": list(layers),
    }
    if outputs is not None:
        m["outputs"] = outputs
    return m


def two(shape_a: list[Any], shape_b: list[Any], layer: dict[str, Any]) -> dict:
    return graph({"a": shape_a, "b": shape_b}, {**layer, "inputs": ["a", "b"]})


# ------------------------------------------------------------------ elementwise merges
@pytest.mark.parametrize("kind", ELEMENTWISE)
def test_elementwise_two_inputs(tmp_path, kind):
    check(tmp_path, two([5, 4], [5, 4], {"type": kind}))


@pytest.mark.parametrize("kind", [k for k in ELEMENTWISE if k != "Subtract"])
def test_elementwise_three_inputs(tmp_path, kind):
    m = graph(
        {"a": [3, 4], "b": [3, 4], "c": [3, 4]},
        {"type": kind, "inputs": ["a", "b", "c"], "name": "m"},
    )
    check(tmp_path, m)


@pytest.mark.parametrize(
    "a,b",
    [([1, 4], [5, 4]), ([5, 1], [5, 4]), ([4], [5, 4]), ([5, 4], [4]), ([None, 4], [1, 4])],
    ids=["time1", "feat1", "rank2_first", "rank2_second", "null_time_vs_1"],
)
def test_elementwise_broadcast_like_keras(tmp_path, a, b):
    check(tmp_path, two(a, b, {"type": "Add"}))
    check(tmp_path, two(a, b, {"type": "Maximum"}))


def test_merge_after_dense_with_activation(tmp_path):
    m = graph(
        {"a": [6], "b": [6]},
        {"type": "Dense", "units": 3, "activation": "relu", "inputs": "a", "name": "da"},
        {"type": "Dense", "units": 3, "inputs": "b", "name": "db"},
        {"type": "Multiply", "inputs": ["da", "db"]},
    )
    check(tmp_path, m)


# ------------------------------------------------------------------ Concatenate, Dot
@pytest.mark.parametrize("axis", [-1, 2, 1, -2])
def test_concatenate_axes(tmp_path, axis):
    shape_b = [3, 2] if axis in (-1, 2) else [4, 5]
    m = graph(
        {"a": [3, 5], "b": shape_b, "c": shape_b},
        {"type": "Concatenate", "axis": axis, "inputs": ["a", "b", "c"]},
    )
    check(tmp_path, m)


def test_concatenate_rank2_default_axis(tmp_path):
    check(tmp_path, two([4], [7], {"type": "Concatenate"}))


@pytest.mark.parametrize(
    "a,b,axes",
    [
        ([4], [4], 1),
        ([4], [4], -1),
        ([3, 4], [5, 4], 2),
        ([3, 4], [3, 6], [1, 1]),
        ([3, 4], [4, 5], [2, 1]),
        ([4], [3, 4], [1, 2]),
        ([3, 4], [4], [-1, -1]),
        ([2, 3, 4], [5, 4], [3, 2]),
    ],
)
@pytest.mark.parametrize("normalize", [False, True])
def test_dot(tmp_path, a, b, axes, normalize):
    check(tmp_path, two(a, b, {"type": "Dot", "axes": axes, "normalize": normalize}))


def test_repeat_vector(tmp_path):
    m = graph({"x": [6]}, {"type": "Dense", "units": 3}, {"type": "RepeatVector", "n": 4})
    check(tmp_path, m)


# ------------------------------------------------------------------ graphs
def test_two_inputs_two_outputs(tmp_path):
    m = graph(
        {"a": [5, 3], "b": [5, 4]},
        {"type": "Concatenate", "inputs": ["a", "b"], "name": "cat"},
        {"type": "Dense", "units": 2, "name": "head1", "activation": "tanh"},
        {"type": "Dense", "units": 3, "inputs": "b", "name": "head2"},
        outputs=["head1", "head2"],
    )
    check(tmp_path, m)


def test_output_that_is_also_consumed(tmp_path):
    m = graph(
        {"x": [4]},
        {"type": "Dense", "units": 4, "name": "d1", "activation": "relu"},
        {"type": "Dense", "units": 4, "name": "d2"},
        {"type": "Add", "inputs": ["d1", "d2"], "name": "skip"},
        outputs=["skip", "d1"],
    )
    check(tmp_path, m)


def test_skip_connection(tmp_path):
    m = graph(
        {"x": [5, 6]},
        {"type": "Dense", "units": 6, "name": "d1", "activation": "relu"},
        {"type": "Dense", "units": 6, "name": "d2"},
        {"type": "Add", "inputs": ["d1", "x"], "name": "res"},
        {"type": "LayerNormalization"},
    )
    check(tmp_path, m)


SEQ2SEQ = graph(
    {"x": [None, 3]},
    {"type": "LSTM", "units": 5, "name": "enc"},
    {"type": "RepeatVector", "n": 4, "name": "rep"},
    {"type": "LSTM", "units": 6, "return_sequences": True, "name": "dec"},
    td({"type": "Dense", "units": 2, "activation": "softmax"}, "out"),
)


def test_merge_of_time_distributed_branches(tmp_path):
    m = graph(
        {"x": [None, 4]},
        td({"type": "Dense", "units": 3, "activation": "relu"}, "b1"),
        td({"type": "Dense", "units": 3}, "b2") | {"inputs": "x"},
        {"type": "Add", "inputs": ["b1", "b2"], "name": "sum"},
        td({"type": "Dense", "units": 2}, "head"),
    )
    compiled = check_compiled(tmp_path, m, lengths=(3,))
    assert compiled.graph.count("fold") == 0 and compiled.graph.count("unfold") == 0
    assert compiled.graph.ops() == ["Dense", "Dense", "merge", "Dense"]


def test_merge_of_folded_branches(tmp_path):
    conv = {"type": "Conv1D", "filters": 2, "kernel_size": 2, "padding": "same"}
    m = graph(
        {"x": [None, 6, 2]},
        td(conv, "c1"),
        td(conv, "c2") | {"inputs": "x"},
        {"type": "Concatenate", "inputs": ["c1", "c2"], "name": "cat"},
        td({"type": "Flatten"}, "flat"),
        td({"type": "Dense", "units": 3}, "head"),
    )
    g = check_compiled(tmp_path, m, lengths=(3,)).graph
    # each Conv1D branch keeps its fold; the concat runs folded (hoist_unfold), so the
    # head's fold cancels and one unfold remains
    assert (g.count("fold"), g.count("unfold")) == (2, 1), g.dump()


# ------------------------------------------------------------------ dynamic time
def check_compiled(tmp: Path, m: dict[str, Any], lengths: Any = (1, 4, 11)) -> Compiled:
    """Compile once; run the same ONNX bytes and NumPy module at every length (an int per
    run, or a tuple: one length per input) and compare each output with Keras."""
    compiled = _with_weights(tmp, m)
    kmodel = keras_model(compiled.spec, compiled.weights)
    proto = compiled.onnx()
    onnx_check(proto)
    sess = session(proto)
    module = load_module(*compiled.numpy_source())
    names = compiled.graph.output_names
    for k, t in enumerate(lengths):
        xs = _inputs(compiled, t if isinstance(t, tuple) else (t,) * 8, seed=k)
        ref = kmodel.predict(xs, verbose=0)
        ref = ref if isinstance(ref, list) else [ref]
        feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
        got_onnx = dict(zip(names, sess.run(names, feeds), strict=True))
        got_np = module.predict(*xs)
        got_np = got_np if isinstance(got_np, dict) else {names[0]: got_np}
        for name, r in zip(names, ref, strict=True):
            for backend, got in (("onnx", got_onnx[name]), ("numpy", got_np[name])):
                np.testing.assert_allclose(
                    got, np.asarray(r), atol=ATOL, rtol=RTOL, err_msg=f"{backend} {name} T={t}"
                )
    return compiled


def _with_weights(tmp: Path, m: dict[str, Any]) -> Compiled:
    drawn = compile_file(write_model(tmp, m))
    weights = random_weights({k: v.shape for k, v in drawn.weights.items()})
    if not weights:
        return drawn
    write_npz(tmp / "model.npz", weights)
    return compile_file(write_model(tmp, {**m, "weights": "model.npz"}))


def _inputs(compiled: Compiled, times: tuple[int, ...], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = []
    for inp, t in zip(compiled.spec.inputs, times, strict=False):
        shape = (2, *[t if d is None else d for d in inp.shape])
        xs.append(rng.normal(0.0, 1.0, shape).astype(np.float32))
    return xs


def test_dynamic_time_seq2seq(tmp_path):
    check_compiled(tmp_path, SEQ2SEQ)


def test_dynamic_time_td_and_rnn(tmp_path):
    m = graph(
        {"x": [None, 4, 3]},
        td({"type": "Conv1D", "filters": 2, "kernel_size": 3, "activation": "relu"}),
        td({"type": "Flatten"}),
        td({"type": "Dense", "units": 5}),
        {"type": "GRU", "units": 4, "return_sequences": True},
        td({"type": "Dense", "units": 2}),
    )
    check_compiled(tmp_path, m)


def test_dynamic_time_merges(tmp_path):
    m = graph(
        {"x": [None, 4]},
        {"type": "LSTM", "units": 4, "return_sequences": True, "name": "l1"},
        {"type": "Add", "inputs": ["l1", "x"], "name": "res"},
        {"type": "Concatenate", "inputs": ["res", "x"], "name": "cat"},
        {"type": "Dot", "axes": 2, "inputs": ["cat", "cat"], "name": "gram"},
        outputs=["cat", "gram"],
    )
    check_compiled(tmp_path, m)


def test_inputs_with_their_own_lengths(tmp_path):
    m = graph(
        {"a": [None, 3], "b": [None, 2]},
        {"type": "LSTM", "units": 4, "inputs": "a", "name": "la"},
        {"type": "GRU", "units": 3, "inputs": "b", "name": "lb"},
        {"type": "Concatenate", "inputs": ["la", "lb"], "name": "cat"},
        {"type": "Dense", "units": 2},
    )
    compiled = check_compiled(tmp_path, m, lengths=[(1, 9), (4, 2), (11, 11)])
    assert [v.shape for v in compiled.graph.inputs] == [("N", "T", 3), ("N", "T2", 2)]


def test_concatenate_on_time_of_two_lengths(tmp_path):
    m = two([None, 3], [None, 3], {"type": "Concatenate", "axis": 1, "name": "cat"})
    compiled = check_compiled(tmp_path, m, lengths=[(1, 4), (5, 2)])
    assert compiled.graph.outputs[0].shape == ("N", "T+T2", 3)


# ------------------------------------------------------------------ shapes and errors
def test_symbolic_times_merge_takes_first(tmp_path):
    g = compile_file(write_model(tmp_path, two([None, 3], [None, 3], {"type": "Add"}))).graph
    assert g.outputs[0].shape == ("N", "T", 3)
    g = compile_file(write_model(tmp_path, two([None, 3], [6, 3], {"type": "Add"}))).graph
    assert g.outputs[0].shape == ("N", 6, 3)


@pytest.mark.parametrize(
    "m,msg",
    [
        (two([5, 4], [5, 3], {"type": "Add"}), "(N, 5, 4) and (N, 5, 3)"),
        (two([4, 4], [5, 4], {"type": "Concatenate"}), "(N, 4, 4) and (N, 5, 4)"),
        (two([4], [4], {"type": "Concatenate", "axis": 0}), "batch axis"),
        (two([4], [4], {"type": "Concatenate", "axis": 2}), "out of range"),
        (two([4], [5], {"type": "Dot", "axes": 1}), "(N, 4) and (N, 5)"),
        (two([4], [4], {"type": "Dot", "axes": 0}), "batch axis"),
        (two([4], [4], {"type": "Dot", "axes": [2, -1]}), "do not fit"),
        (two([4], [3, 4], {"type": "Concatenate"}), "one rank"),
        (two([4, 2], [4, 2], {"type": "RepeatVector", "n": 2}), "takes exactly one input"),
        (graph({"x": [4]}, {"type": "Add"}), "at least 2"),
        (
            graph({"a": [2], "b": [2], "c": [2]}, {"type": "Subtract", "inputs": ["a", "b", "c"]}),
            "exactly 2",
        ),
        (graph({"x": [3, 4]}, {"type": "RepeatVector", "n": 2}), "rank 2"),
    ],
)
def test_errors(tmp_path, m, msg):
    with pytest.raises(TdcError) as e:
        compile_file(write_model(tmp_path, m))
    assert msg in str(e.value)
