"""ConvLSTM1D / ConvLSTM2D / ConvLSTM3D against live Keras: options, states, stacking.

Masks, Bidirectional, streaming and empty inputs: ``test_conv_lstm_roles.py``.
"""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.backends.onnx.save import check as onnx_check
from compiler.errors import TdcError
from oracle import check, compile_with_random_weights, model, onnx_ops, write_model

C1 = {"type": "ConvLSTM1D", "filters": 3, "kernel_size": 3}
C2 = {"type": "ConvLSTM2D", "filters": 3, "kernel_size": 3}
C3 = {"type": "ConvLSTM3D", "filters": 2, "kernel_size": 2}
S1, S2, S3 = [9, 2], [8, 8, 2], [4, 5, 5, 2]  # one frame: (*spatial, channels)


@pytest.mark.slow
def test_conv_lstm2d_matches_keras(tmp_path):
    """The quick representative: a ConvLSTM2D sequence on (N, T=4, 8, 8, 2)."""
    check(tmp_path, model([4, *S2], {**C2, "padding": "same", "return_sequences": True}), time=4)


def test_onnx_is_one_input_conv_then_a_scan(tmp_path):
    compiled = compile_with_random_weights(tmp_path, model([None, *S2], C2))
    proto = compiled.onnx()
    onnx_check(proto)
    top = [n.op_type for n in proto.graph.node]
    assert "Conv" not in top and "If" in top  # the loop and its projection sit in the If
    every = onnx_ops(proto)  # subgraphs included
    assert every.count("Conv") == 2 and every.count("Scan") == 1
    branch = next(n for n in proto.graph.node if n.op_type == "If").attribute
    then = next(a.g for a in branch if a.name == "then_branch")
    scan = next(n for n in then.node if n.op_type == "Scan")
    body = next(a.g for a in scan.attribute if a.name == "body")
    assert onnx_ops(body).count("Conv") == 1  # the recurrent convolution, once per step


CASES = {
    "1d_valid": ([None, *S1], C1),
    "1d_same_strides2_seq": ([None, *S1], {**C1, "padding": "same", "strides": 2,
                                            "return_sequences": True}),
    "1d_dilation2": ([None, *S1], {**C1, "dilation_rate": 2, "return_sequences": True}),
    "2d_valid": ([4, *S2], C2),
    "2d_strides2_same": ([4, *S2], {**C2, "strides": 2, "padding": "same"}),
    "2d_strides2_valid_seq": ([4, *S2], {**C2, "strides": [2, 1], "return_sequences": True}),
    "2d_dilation2": ([4, *S2], {**C2, "dilation_rate": 2, "padding": "same"}),
    "2d_even_kernel_same": ([4, *S2], {**C2, "kernel_size": [2, 4], "padding": "same"}),
    "2d_go_backwards_seq": ([4, *S2], {**C2, "go_backwards": True, "return_sequences": True}),
    "2d_go_backwards_last": ([4, *S2], {**C2, "go_backwards": True}),
    "2d_hard_sigmoid": ([4, *S2], {**C2, "recurrent_activation": "hard_sigmoid"}),
    "2d_relu_no_bias": ([4, *S2], {**C2, "activation": "relu", "use_bias": False}),
    "2d_no_unit_forget_bias": ([4, *S2], {**C2, "unit_forget_bias": False}),
    "2d_training_args": ([4, *S2], {**C2, "dropout": 0.3, "recurrent_dropout": 0.2, "seed": 1,
                                    "kernel_regularizer": "l2", "bias_constraint": "non_neg",
                                    "data_format": "channels_last"}),
    "3d_valid": ([3, *S3], C3),
    "3d_same_seq": ([3, *S3], {**C3, "padding": "same", "return_sequences": True}),
    "3d_strides2": ([3, *S3], {**C3, "strides": 2, "recurrent_activation": "hard_sigmoid"}),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_option_matches_keras(tmp_path, case):
    shape, layer = CASES[case]
    check(tmp_path, model(shape, layer), time=4)


@pytest.mark.slow
@pytest.mark.parametrize("layer", [C1, C2, C3], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("seqs", [False, True], ids=["last", "seq"])
def test_return_state(tmp_path, layer, seqs):
    shape = {"ConvLSTM1D": S1, "ConvLSTM2D": S2, "ConvLSTM3D": S3}[layer["type"]]
    m = model([None, *shape], {**layer, "name": "cl", "return_sequences": seqs,
                               "return_state": True, "padding": "same"})  # fmt: skip
    check(tmp_path, {**m, "outputs": ["cl", "cl:1", "cl:2"]}, time=3)


@pytest.mark.slow
def test_initial_state(tmp_path):
    """h and c (N, *spatial_out, filters) as further inputs after the sequence."""
    state = {"shape": [6, 6, 3], "dtype": "float32"}
    doc = {
        "inputs": {"x": {"shape": [None, *S2], "dtype": "float32"}, "h": state, "c": state},
        "layers": [{**C2, "name": "cl", "inputs": ["x", "h", "c"], "return_sequences": True,
                    "return_state": True}],
        "outputs": ["cl", "cl:1", "cl:2"],
    }  # fmt: skip
    check(tmp_path, doc, time=4)


@pytest.mark.slow
def test_encoder_states_feed_a_decoder(tmp_path):
    doc = {
        "inputs": {"x": {"shape": [None, *S1], "dtype": "float32"}},
        "layers": [
            {**C1, "name": "enc", "padding": "same", "return_state": True},
            {**C1, "name": "dec", "padding": "same", "return_sequences": True,
             "inputs": ["x", "enc:1", "enc:2"]},
        ],
    }  # fmt: skip
    check(tmp_path, doc, time=4)


@pytest.mark.slow
def test_next_frame_prediction_model(tmp_path):
    """Keras's next-frame prediction example, small: ConvLSTM2D x 2 with
    BatchNormalization, then a Conv3D with a sigmoid over (time, height, width)."""
    conv = {"type": "ConvLSTM2D", "padding": "same", "return_sequences": True,
            "activation": "relu"}  # fmt: skip
    m = model(
        [None, 8, 8, 1],
        {**conv, "filters": 4, "kernel_size": 5},
        {"type": "BatchNormalization"},
        {**conv, "filters": 4, "kernel_size": 3},
        {"type": "BatchNormalization"},
        {**conv, "filters": 4, "kernel_size": 1},
        {"type": "Conv3D", "filters": 1, "kernel_size": 3, "activation": "sigmoid",
         "padding": "same"},
    )  # fmt: skip
    check(tmp_path, m, time=5)


# -- refusals ---------------------------------------------------------------------------

REFUSED = {
    "stateful": ({**C2, "stateful": True}, "stateful"),
    "channels_first": ({**C2, "data_format": "channels_first"}, "channels_last"),
    "strides_and_dilation": ({**C2, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    "bad_padding": ({**C2, "padding": "causal"}, "valid"),
    "unroll": ({**C2, "unroll": True}, "unknown argument"),
    "window_too_large": ({**C2, "kernel_size": 9}, "larger than"),
    "missing_filters": ({"type": "ConvLSTM2D", "kernel_size": 3}, "filters"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused(tmp_path, case):
    layer, needle = REFUSED[case]
    with pytest.raises(TdcError) as err:
        compile_file(write_model(tmp_path, model([None, *S2], layer)))
    assert needle in str(err.value)


def test_refuses_wrong_rank_and_initial_state_shapes(tmp_path):
    with pytest.raises(TdcError, match="rank 5"):
        compile_file(write_model(tmp_path, model([None, 8, 2], C2)))
    with pytest.raises(TdcError, match="static spatial"):
        compile_file(write_model(tmp_path, model([None, None, 8, 2], C2)))
    state = {"shape": [8, 8, 3], "dtype": "float32"}  # valid padding gives (6, 6, 3)
    doc = {
        "inputs": {"x": {"shape": [None, *S2], "dtype": "float32"}, "h": state, "c": state},
        "layers": [{**C2, "inputs": ["x", "h", "c"]}],
    }
    with pytest.raises(TdcError, match=r"initial state h0 must be float32 \(batch, 6, 6, 3\)"):
        compile_file(write_model(tmp_path, doc))
    doc["layers"] = [{**C2, "inputs": ["x", "h"]}]
    with pytest.raises(TdcError, match="takes 2 initial states"):
        compile_file(write_model(tmp_path, doc))


def test_drawn_weights_have_keras_shapes(tmp_path):
    compiled = compile_file(write_model(tmp_path, model([None, *S3], {**C3, "name": "cl"})))
    w = compiled.weights
    assert w["cl/kernel"].shape == (2, 2, 2, 2, 8)
    assert w["cl/recurrent_kernel"].shape == (2, 2, 2, 2, 8)
    np.testing.assert_array_equal(w["cl/bias"], np.repeat(np.float32([0, 1, 0, 0]), 2))
