"""Every name ``keras.activations`` has, against live Keras: as an Activation layer, as a
layer's ``activation=``, as a recurrent cell's activation, and the names refused."""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.frontend.params import ACTIVATION_NAMES, ACTIVATIONS, SHAPE_ACTIVATIONS
from oracle import check, check_inputs, model, write_model

#: The activations Keras 3.15 added after the first list: each tried in every role.
NEW = (
    "celu", "hard_shrink", "hard_tanh", "log_sigmoid", "soft_shrink", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "tanh_shrink",
)  # fmt: skip


def layer(kind, **kw):
    return {"type": kind, **kw}


def test_every_keras_activation_is_named():
    """tdc knows every name Keras 3 has (threshold: refused with its reason)."""
    from compiler.keras.oracle import import_keras

    keras = import_keras()
    from keras.src.activations import ALL_OBJECTS_DICT

    known = set(ACTIVATION_NAMES) | {"threshold"}
    assert set(ALL_OBJECTS_DICT) <= known
    assert set(ACTIVATION_NAMES) <= set(ALL_OBJECTS_DICT)
    assert keras is not None


def test_new_activation_quick(tmp_path):
    check(tmp_path, model([3, 6], layer("Activation", activation="sparsemax")))


@pytest.mark.slow
@pytest.mark.parametrize("act", NEW)
def test_activation_layer(tmp_path, act):
    check(tmp_path, model([3, 7], layer("Activation", activation=act)))


@pytest.mark.slow
@pytest.mark.parametrize("act", NEW)
def test_fused_into_conv(tmp_path, act):
    """Fused into the producing op by the passes (both backends apply it there)."""
    conv = layer("Conv2D", filters=4, kernel_size=3, padding="same", activation=act)
    check(tmp_path, model([5, 5, 3], conv))


@pytest.mark.slow
@pytest.mark.parametrize("act", NEW)
def test_dense_scaled_inputs(tmp_path, act):
    """Inputs spread over the interesting ranges (shrink thresholds, sparse_plus knees)."""
    x = np.linspace(-3, 3, 2 * 4 * 6, dtype=np.float32).reshape(2, 4, 6)
    check_inputs(tmp_path, model([4, 6], layer("Activation", activation=act)), [x])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("rnn", "role"),
    [("SimpleRNN", "activation"), ("LSTM", "activation"), ("GRU", "recurrent_activation")],
)
@pytest.mark.parametrize("act", NEW)
def test_recurrent_activation(tmp_path, rnn, role, act):
    """A cell activation ONNX's native RNN ops lack: the Scan loop, and NumPy's step."""
    cell = layer(rnn, units=4, return_sequences=True, **{role: act})
    check(tmp_path, model([5, 3], cell))


GLU = {
    "glu_layer": model([4, 6], layer("Activation", activation="glu")),
    "glu_dense": model([4, 6], layer("Dense", units=8, activation="glu")),
    "glu_conv": model([5, 5, 3], layer("Conv2D", filters=6, kernel_size=3, activation="glu")),
    # Keras's layers report the shape before glu halves it, so only shape-blind layers
    # may follow it in a Keras model
    "glu_then_tanh": model(
        [6], layer("Dense", units=4, activation="glu"), layer("Activation", activation="tanh")
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", GLU)
def test_glu_halves_the_last_axis(tmp_path, name):
    check(tmp_path, GLU[name])


@pytest.mark.slow
def test_glu_dense_even(tmp_path):
    check(tmp_path, model([4, 6], layer("Dense", units=6, activation="glu")))


def refused(tmp_path, spec) -> str:
    with pytest.raises(TdcError) as err:
        compile_file(write_model(tmp_path, spec))
    return str(err.value)


def test_threshold_is_refused_with_its_reason(tmp_path):
    msg = refused(tmp_path, model([6], layer("Activation", activation="threshold")))
    assert "threshold" in msg and "default_value" in msg


def test_glu_on_an_odd_axis_is_refused(tmp_path):
    msg = refused(tmp_path, model([5], layer("Activation", activation="glu")))
    assert "glu" in msg and "even" in msg


@pytest.mark.parametrize("role", ["activation", "recurrent_activation"])
def test_glu_in_a_recurrent_cell_is_refused(tmp_path, role):
    msg = refused(tmp_path, model([5, 3], layer("LSTM", units=4, **{role: "glu"})))
    assert "glu" in msg and "recurrent" in msg


def test_lists_are_consistent():
    assert set(SHAPE_ACTIVATIONS).isdisjoint(ACTIVATIONS)
    assert set(NEW) <= set(ACTIVATIONS)


# -- the ``act`` op with the parameters keras.ops passes, against keras.activations --------

PARAMS = {
    "celu_alpha": ("celu", {"alpha": 0.4}),
    "hard_shrink_threshold": ("hard_shrink", {"threshold": 1.5}),
    "soft_shrink_threshold": ("soft_shrink", {"threshold": 2.0}),
    "squareplus_b": ("squareplus", {"b": 0.5}),
    "sparsemax_axis1": ("sparsemax", {"axis": 1}),
    "sparsemax_axis-2": ("sparsemax", {"axis": -2}),
    "glu_axis1": ("glu", {"axis": 1}),
    "glu_last": ("glu", {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(PARAMS))
def test_act_op_with_parameters(case):
    from compiler.backends.numpy.codegen import load_module, to_numpy
    from compiler.backends.onnx.build import to_onnx
    from compiler.backends.onnx.save import check as onnx_check
    from compiler.backends.onnx.session import run as onnx_run
    from compiler.ir.graph import Graph, Node, Value
    from compiler.keras.oracle import import_keras
    from compiler.ops import get_op
    from oracle import ATOL, RTOL

    kind, params = PARAMS[case]
    keras = import_keras()
    x = np.linspace(-7, 7, 2 * 8 * 6, dtype=np.float32).reshape(2, 8, 6)
    want = np.asarray(keras.activations.get(kind)(x, **params))
    g = Graph("act")
    inp = g.add_input("x", ("N", 8, 6))
    node = Node("act", [inp], [], {"kind": kind, **params}, layer="a", label=kind)
    ((shape, dtype),) = get_op("act").infer(node)
    node.outputs.append(Value(g.fresh("a"), shape, dtype))
    g.add_node(node)
    g.outputs, g.output_names = [node.output], ["y"]
    proto = to_onnx(g)
    onnx_check(proto)
    for got in (onnx_run(proto, {"x": x})["y"], load_module(*to_numpy(g, "act")).predict(x)):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)
