"""Keras operations in a graph (``type: ops.<name>``) against live Keras, ONNX and NumPy.

Each entry is the function ``keras.ops.<name>``: operands from ``inputs:`` (names, or
numbers and lists of numbers as float32 constants), keyword arguments from the other keys.
"""

from typing import Any

import pytest

from cli_util import tdc
from oracle import check, model, td, write_model

BINARY = ["ops.add", "ops.subtract", "ops.multiply", "ops.divide", "ops.true_divide"]
BINARY += ["ops.maximum", "ops.minimum", "ops.power"]
UNARY = ["ops.negative", "ops.square", "ops.abs", "ops.exp", "ops.relu", "ops.relu6"]
UNARY += ["ops.sigmoid", "ops.hard_sigmoid", "ops.hard_silu", "ops.hard_swish", "ops.silu"]
UNARY += ["ops.tanh", "ops.softmax", "ops.log_softmax"]


def op(kind: str, *inputs: Any, **kwargs: Any) -> dict[str, Any]:
    """An ``ops.*`` entry named ``name`` (default: its type with '_' for '.')."""
    name = kwargs.pop("name", kind.replace(".", "_"))
    return {"name": name, "type": kind, "inputs": list(inputs), **kwargs}


def dense(units: int = 4) -> dict[str, Any]:
    return {"name": "d", "type": "Dense", "units": units}


def positive(src: str = "d") -> dict[str, Any]:
    """exp of the input: positive values for sqrt, log and power."""
    return op("ops.exp", src)


@pytest.mark.slow
@pytest.mark.parametrize("name", BINARY)
def test_binary_tensor_tensor_and_constants(tmp_path, name):
    """Two tensors, a scalar either side, an (F,) constant, a broadcast (N, 1, F)."""
    layers = [
        dense(),
        {"name": "g", "type": "Dense", "units": 4},
        {**positive(), "name": "p"},
        op(name, "p", "g", name="tt"),
        op(name, "p", 2.0, name="tc"),
        op(name, 2.0, "p", name="ct"),
        op(name, "p", [0.5, 1.0, 2.0, 3.0], name="tv"),
        op("ops.mean", "p", axis=1, keepdims=True, name="pm"),
        op(name, "pm", "tt", name="bc"),
        op("ops.add", "bc", "tc", name="s1"),
        op("ops.add", "ct", "tv", name="s2"),
        op("ops.add", "s1", "s2", name="out"),
    ]
    m = model([None, 3], *layers)
    m["layers"][1]["inputs"] = "x"
    check(tmp_path, m)


@pytest.mark.slow
@pytest.mark.parametrize("name", UNARY)
def test_unary_and_activations(tmp_path, name):
    check(tmp_path, model([None, 3], dense(), op(name, "d")))


@pytest.mark.slow
def test_sqrt_log_gelu_softmax_axis(tmp_path):
    layers = [
        dense(),
        positive(),
        op("ops.sqrt", "ops_exp", name="sq"),
        op("ops.log", "ops_exp", name="lg"),
        op("ops.gelu", "d", name="ga"),
        op("ops.gelu", "d", approximate=False, name="ge"),
        op("ops.softmax", "d", axis=1, name="sm"),
        op("ops.log_softmax", "d", axis=1, name="lsm"),
        op("ops.add", "sq", "lg", name="a1"),
        op("ops.add", "ga", "ge", name="a2"),
        op("ops.add", "sm", "lsm", name="a3"),
        op("ops.add", "a1", "a2", name="a4"),
        op("ops.add", "a3", "a4", name="out"),
    ]
    check(tmp_path, model([None, 3], *layers))


@pytest.mark.slow
def test_clip_positional_and_keyword(tmp_path):
    layers = [
        dense(),
        op("ops.clip", "d", -0.5, 0.5, name="c1"),
        op("ops.clip", "d", x_min=0.0, x_max=0.3, name="c2"),
        op("ops.clip", "d", -0.2, x_max=0.7, name="c3"),
        op("ops.add", "c1", "c2", name="s"),
        op("ops.add", "s", "c3", name="out"),
    ]
    check(tmp_path, model([None, 3], *layers))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ops.mean", "ops.sum", "ops.max", "ops.min"])
def test_reductions(tmp_path, name):
    layers = [
        dense(),
        op(name, "d", axis=1, name="r1"),
        op(name, "d", axis=[1, 2], keepdims=True, name="r2"),
        op(name, "d", axis=-1, keepdims=True, name="r3"),
        op(name, "d", keepdims=True, name="r4"),
        op("ops.add", "r3", "r2", name="a"),
        op("ops.add", "a", "r4", name="out"),
    ]
    check(tmp_path, {**model([None, 4], *layers), "outputs": ["out", "r1"]})


@pytest.mark.slow
def test_max_min_initial(tmp_path):
    layers = [
        dense(),
        op("ops.max", "d", axis=1, initial=0.1, name="mx"),
        op("ops.min", "d", axis=1, initial=-0.1, name="mn"),
        op("ops.add", "mx", "mn", name="out"),
    ]
    check(tmp_path, model([None, 3], *layers))


@pytest.mark.slow
@pytest.mark.parametrize("time", [1, 7])
def test_under_time_distributed_model_dynamic_time(tmp_path, time):
    """ops between TimeDistributed layers (the folds the passes move around them), a
    hard-swish made of ops, on two time lengths of one dynamic-time model."""
    layers = [
        td({"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": "same"}, "conv"),
        op("ops.add", "conv", 3.0, name="shifted"),
        op("ops.relu6", "shifted", name="gate6"),
        op("ops.divide", "gate6", 6.0, name="gate"),
        op("ops.multiply", "conv", "gate", name="hswish"),
        op("ops.mean", "hswish", axis=[2, 3], name="pooled"),
        td({"type": "Dense", "units": 5}, "head"),
        op("ops.multiply", [1.0, 2.0, 3.0, 4.0, 5.0], "head", name="scaled"),
        op("ops.mean", "scaled", axis=1, name="out"),
    ]
    check(tmp_path, model([None, 6, 6, 2], *layers), time=time)


@pytest.mark.slow
def test_ops_stream_step_by_step(tmp_path):
    """Elementwise ops and reductions off the time axis have a step form."""
    from test_streaming import run as stream_run

    m = model(
        [None, 3],
        dense(),
        op("ops.multiply", "d", [1.0, 2.0, 3.0, 4.0], name="m"),
        op("ops.sum", "m", axis=-1, keepdims=True, name="s"),
        op("ops.subtract", "m", "s", name="sub"),
        op("ops.softmax", "sub", name="out"),
    )
    stream_run(tmp_path, m)


@pytest.mark.parametrize(
    "layer",
    [op("ops.mean", "d", axis=1), op("ops.add", "d", [[1.0, 2.0, 3.0, 4.0]])],
)
def test_operations_across_time_have_no_step_form(tmp_path, layer):
    """A reduction over time; a constant operand with an axis that meets the time axis."""
    m = model([None, 3], dense(), {**layer, "name": "across"})
    code, _, err = tdc(
        "compile",
        write_model(tmp_path, m),
        "--target",
        "onnx",
        "--streaming",
        "-o",
        tmp_path / "s.onnx",
    )
    assert code == 2
    assert "across" in err and "time axis" in err


def test_unknown_operation_is_refused(tmp_path):
    m = model([None, 3], op("ops.frobnicate", "x"))
    code, _, err = tdc("inspect", write_model(tmp_path, m))
    assert code == 2
    assert "unknown Keras operation 'ops.frobnicate'" in err
    assert "ops.add" in err and "ops.mean" in err and "Dense" not in err


def test_unknown_keyword_argument_is_refused(tmp_path):
    m = model([None, 3], op("ops.mean", "x", axes=1))
    code, _, err = tdc("inspect", write_model(tmp_path, m))
    assert code == 2
    assert "ops.mean: unknown argument 'axes'" in err
    assert "axis" in err and "keepdims" in err and "line" in err


def test_number_in_inputs_of_a_layer_is_refused(tmp_path):
    m = model([None, 3], {"name": "sum", "type": "Add", "inputs": ["x", 2.0]})
    code, _, err = tdc("inspect", write_model(tmp_path, m))
    assert code == 2
    assert "constant operand, which only Keras operations" in err and "'sum'" in err


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (op("ops.add", "x", 1.0, 2.0), "ops.add takes at most 2 operand(s), got 3"),
        (op("ops.add", 1.0, 2.0), "ops.add has only constant operands"),
        (op("ops.subtract", "x"), "missing operand 'x2'"),
        (op("ops.clip", "x", 0.0), "missing operand 'x_max'"),
        (op("ops.clip", "x", 0.0, 1.0, x_min=0.0), "'x_min' given twice"),
        (op("ops.add", "x", True), "bad operand True"),
        (op("ops.add", "x", [1.0, "a"]), "bad operand"),
        (op("ops.relu", "x", dtype="float32"), "unknown argument 'dtype'"),
        (op("ops.add", "x", [1.0, 2.0]), "incompatible shapes"),
        (op("ops.mean", "x", axis=3), "axis 3 is out of range"),
        (op("ops.sum", "x"), "over the batch axis (axis None) without keepdims"),
        (op("ops.max", "x", axis=[0, 1]), "leaves no batch axis"),
    ],
)
def test_bad_operands_are_refused(tmp_path, layer, message):
    code, _, err = tdc("inspect", write_model(tmp_path, model([None, 3], layer)))
    assert code == 2, err
    assert message in err


def test_default_names_and_inspect(tmp_path):
    m = model([None, 3], {"type": "ops.add", "inputs": ["x", 1.0]}, {"type": "ops.sum", "axis": 1})
    code, out, err = tdc("inspect", write_model(tmp_path, m))
    assert code == 0, err
    assert "add" in out and "sum" in out
