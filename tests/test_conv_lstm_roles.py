"""ConvLSTM in the roles of a recurrent layer: masks, Bidirectional, streaming, empty inputs.

Keras's JAX backend cannot run a masked ConvLSTM (its RNN loop broadcasts an (N, 1) step
mask against the (N, *S, F) state); a masked step keeps the state and repeats the output
(Keras's RNN semantics, as its other backends run it), which is the layer run on each
sample's valid steps alone: that is what the masked cases are checked against, with live
Keras on the compacted sequences.
"""

from pathlib import Path

import numpy as np
import pytest
from test_streaming import stream_check

from compiler.api import compile_file
from compiler.backends.numpy.codegen import load_module
from compiler.backends.onnx.session import run as onnx_run
from compiler.errors import TdcError
from compiler.keras.oracle import keras_model, run_keras
from oracle import (
    ATOL,
    RTOL,
    backend_outputs,
    check,
    compile_with_random_weights,
    model,
    random_inputs,
    td,
    write_model,
)

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

C2 = {"type": "ConvLSTM2D", "filters": 3, "kernel_size": 3, "name": "cl"}
FRAME = [6, 6, 2]


def sub(tmp: Path, name: str) -> Path:
    """A fresh folder under ``tmp`` (one model file each)."""
    (tmp / name).mkdir()
    return tmp / name


# -- masks ------------------------------------------------------------------------------


def masked_model(layer: dict, masking: bool) -> dict:
    """(N, T, 72) -> [Masking] -> TimeDistributed(Reshape (6, 6, 2)) -> the layer."""
    masks = [{"type": "Masking", "name": "mask"}] if masking else []
    reshape = td({"type": "Reshape", "target_shape": FRAME}, "frames")
    return model([None, 72], *masks, reshape, layer)


def compacted_reference(tmp: Path, layer: dict, x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Keras on each sample's valid steps alone, spread back over the steps: the output a
    masked step repeats (zeros before the first valid step)."""
    plain = compile_with_random_weights(tmp, masked_model(layer, masking=False))
    km = keras_model(plain.spec, plain.weights)
    seqs, backwards = layer.get("return_sequences"), layer.get("go_backwards")
    rows = []
    for b in range(x.shape[0]):
        steps = x[b : b + 1, valid[b]]
        shape = plain.graph.outputs[0].shape[2 if seqs else 1 :]
        out = run_keras(km, [steps])[0][0] if steps.shape[1] else None
        if not seqs:
            rows.append(out if out is not None else np.zeros(shape, np.float32))
            continue
        order = valid[b, ::-1] if backwards else valid[b]
        pos = np.cumsum(order) - 1
        zero = np.zeros(shape, np.float32)
        rows.append(np.stack([out[p] if p >= 0 else zero for p in pos]))
    return np.stack(rows)


@pytest.mark.parametrize(
    "extra",
    [{"return_sequences": True}, {}, {"go_backwards": True, "return_sequences": True},
     {"go_backwards": True, "padding": "same"}],
    ids=["seq", "last", "backwards_seq", "backwards_last"],
)  # fmt: skip
def test_masked_step_keeps_the_state(tmp_path, extra):
    layer = {**C2, **extra}
    compiled = compile_with_random_weights(sub(tmp_path, "masked"), masked_model(layer, True))
    (x,) = random_inputs(compiled, 3, 6)
    valid = np.ones(x.shape[:2], bool)
    valid[0, [1, 4]] = False  # masked steps mid-sequence
    valid[1, :2] = False  # before the first valid step: zeros
    valid[2, 3:] = False  # trailing
    x[~valid] = 0.0
    want = compacted_reference(sub(tmp_path, "plain"), layer, x, valid)
    for backend, got in backend_outputs(compiled, [x]).items():
        np.testing.assert_allclose(got["cl"], want, atol=ATOL, rtol=RTOL, err_msg=backend)


def test_fully_masked_sample_keeps_zero_state(tmp_path):
    m = {**masked_model({**C2, "return_state": True}, True), "outputs": ["cl", "cl:1", "cl:2"]}
    compiled = compile_with_random_weights(tmp_path, m)
    (x,) = random_inputs(compiled, 2, 4)
    x[1] = 0.0
    for backend, got in backend_outputs(compiled, [x]).items():
        for name in ("cl", "cl:1", "cl:2"):
            assert np.all(got[name][1] == 0), (backend, name)
            assert np.any(got[name][0] != 0), (backend, name)


def test_mask_not_on_batch_and_time_is_refused(tmp_path):
    m = model([None, *FRAME], {"type": "Masking"}, C2)  # Keras's mask: (N, T, 6, 6)
    with pytest.raises(TdcError, match=r"not one of its \(batch, time\) axes"):
        compile_file(write_model(tmp_path, m))


# -- Bidirectional ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "extra"),
    [("concat", {"return_sequences": True}), ("sum", {"return_state": True}),
     (None, {"return_sequences": True, "padding": "same"})],
    ids=["concat_seq", "sum_state", "two_outputs"],
)  # fmt: skip
def test_bidirectional(tmp_path, mode, extra):
    layer = {"type": "ConvLSTM2D", "filters": 3, "kernel_size": 3, **extra}
    bi = {"type": "Bidirectional", "name": "bi", "merge_mode": mode, "layer": layer}
    m = model([None, *FRAME], bi)
    n_out = (2 if mode is None else 1) + (4 if extra.get("return_state") else 0)
    m["outputs"] = ["bi", *(f"bi:{k}" for k in range(1, n_out))]
    check(tmp_path, m, time=4)


def test_bidirectional_explicit_backward_layer(tmp_path):
    layer = {"type": "ConvLSTM1D", "filters": 2, "kernel_size": 3, "return_sequences": True}
    back = {**layer, "go_backwards": True, "activation": "relu"}
    m = model([None, 7, 2], {"type": "Bidirectional", "layer": layer, "backward_layer": back})
    check(tmp_path, m, time=4)


@pytest.mark.parametrize(
    ("back", "needle"),
    [({"type": "LSTM", "units": 3, "go_backwards": True}, "cannot run backwards"),
     ({**C2, "filters": 4, "go_backwards": True}, "filters 4 differ")],
    ids=["other_type", "other_filters"],
)  # fmt: skip
def test_bidirectional_backward_layer_refusals(tmp_path, back, needle):
    layer = {k: v for k, v in C2.items() if k != "name"}
    back = {k: v for k, v in back.items() if k != "name"}
    m = model([None, *FRAME], {"type": "Bidirectional", "layer": layer, "backward_layer": back})
    with pytest.raises(TdcError, match=needle):
        compile_file(write_model(tmp_path, m))


def test_bidirectional_on_a_masked_input_is_refused(tmp_path):
    layer = {"type": "ConvLSTM2D", "filters": 3, "kernel_size": 3}
    m = masked_model({"type": "Bidirectional", "layer": layer}, True)
    with pytest.raises(TdcError, match="masked input is not supported"):
        compile_file(write_model(tmp_path, m))


# -- streaming --------------------------------------------------------------------------


def test_step_form_matches_keras(tmp_path):
    """ConvLSTM2D x 2 stepped frame by frame on both targets: (N, 6, 6, F) states."""
    m = model(
        [None, *FRAME],
        {**C2, "padding": "same", "return_sequences": True},
        {**C2, "name": "cl2", "filters": 2, "strides": 2},
    )
    compiled = compile_with_random_weights(tmp_path, m)
    step = compiled.step()
    assert [(s.layer, s.what, s.shape) for s in step.states] == [
        ("cl", "h", (6, 6, 3)), ("cl", "c", (6, 6, 3)), ("cl2", "h", (2, 2, 2)),
        ("cl2", "c", (2, 2, 2)),
    ]  # fmt: skip
    proto = compiled.step_onnx()
    dims = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim]
            for i in proto.graph.input}  # fmt: skip
    assert dims["state_in_0"][1:] == [6, 6, 3] and dims["state_in_3"][1:] == [2, 2, 2]
    stream_check(compiled, random_inputs(compiled, 2, 5))


def test_step_form_1d_3d_and_module_state(tmp_path):
    m1 = model(
        [None, 9, 2],
        {"type": "ConvLSTM1D", "filters": 2, "kernel_size": 3, "return_sequences": True},
        td({"type": "Flatten"}),
        {"type": "LSTM", "units": 3},
    )
    compiled = compile_with_random_weights(sub(tmp_path, "a"), m1)
    stream_check(compiled, random_inputs(compiled, 2, 4))
    mod = load_module(*compiled.numpy_source())
    state = mod.init_state(2)
    assert {k: v.shape for k, v in state.items()} == {
        "state_0": (2, 7, 2), "state_1": (2, 7, 2), "state_2": (2, 3), "state_3": (2, 3)
    }  # fmt: skip
    with pytest.raises(ValueError, match="expected shape"):
        mod.step(np.zeros((2, 9, 2), np.float32), {**state, "state_0": np.zeros((2, 2))})
    m3 = model([None, 4, 4, 4, 1], {"type": "ConvLSTM3D", "filters": 2, "kernel_size": 2})
    compiled = compile_with_random_weights(sub(tmp_path, "b"), m3)
    stream_check(compiled, random_inputs(compiled, 2, 3))


# -- empty inputs -----------------------------------------------------------------------


@pytest.mark.parametrize("seqs", [False, True], ids=["last", "seq"])
def test_empty_batch_and_time(tmp_path, seqs):
    """A batch of 0 gives empty outputs; 0 steps an empty sequence and zero states."""
    m = {**model([None, *FRAME], {**C2, "return_sequences": seqs, "return_state": True}),
         "outputs": ["cl", "cl:1", "cl:2"]}  # fmt: skip
    compiled = compile_with_random_weights(tmp_path, m)
    proto, mod = compiled.onnx(), load_module(*compiled.numpy_source())
    for batch, time in ((0, 4), (2, 0)):
        x = np.zeros((batch, time, *FRAME), np.float32)
        want = {"cl:1": (batch, 4, 4, 3), "cl:2": (batch, 4, 4, 3)}
        want["cl"] = (batch, time, 4, 4, 3) if seqs else (batch, 4, 4, 3)
        for got in (onnx_run(proto, {"x": x}), mod.predict(x)):
            assert {k: np.shape(v) for k, v in got.items()} == want
            assert all(not np.any(v) for v in got.values())


# -- tdc import -------------------------------------------------------------------------


def test_import_of_a_saved_keras_model(tmp_path):
    """A saved Keras ConvLSTM2D encoder-decoder (initial_state= the encoder's states)."""
    import keras
    from test_import import import_and_compare, normal

    L = keras.layers
    x = keras.Input((None, 6, 6, 2), name="frames")
    _, h, c = L.ConvLSTM2D(3, 3, padding="same", return_state=True, name="enc")(x)
    y = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="dec")(
        x, initial_state=[h, c]
    )
    model = keras.Model(x, L.Conv3D(1, 1, activation="sigmoid", name="head")(y))
    for v in model.weights:
        v.assign(np.random.default_rng(3).normal(0, 0.4, v.shape).astype(np.float32))
    import_and_compare(tmp_path, model, [normal(2, 4, 6, 6, 2)])
