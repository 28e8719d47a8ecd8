"""The fusions real backbones need, each against live Keras and pinned to its node count.

relu_clip (a bounded ReLU as one ONNX Clip), fold_batchnorm_depthwise (BatchNormalization
into the DepthwiseConv / SeparableConv before it), fold_batchnorm_forward (into the Dense
or unpadded convolution after it) and fold_affine (a chain of multiplications and
additions by constants as one node). Each model compiles through the full pipeline and
both backends must match Keras (``oracle.compare``); the surviving IR ops and, where the
pass is about the ONNX form, the ONNX ops are pinned too.
"""

from typing import Any

import numpy as np
import pytest
from test_pass_units import _bn, _w, check, dense, emit, finish, unchanged

from compiler.ir.graph import Graph
from compiler.passes.fold_affine import fold_affine
from compiler.passes.fold_batchnorm_depthwise import fold_batchnorm_depthwise
from compiler.passes.fold_batchnorm_forward import fold_batchnorm_forward
from compiler.passes.relu_clip import relu_clip
from oracle import compare, compile_with_random_weights, model, onnx_ops, random_inputs


def L(kind: str, **attrs: Any) -> dict[str, Any]:
    return {"type": kind, **attrs}


def compiled_vs_keras(tmp_path, m: dict[str, Any], batch: int = 2) -> Any:
    """Compile ``m`` with random weights; both backends match Keras; the compiled model."""
    compiled = compile_with_random_weights(tmp_path, m)
    compare(compiled, random_inputs(compiled, batch, 5, seed=1))
    return compiled


def ops_of(compiled: Any) -> list[str]:
    return compiled.graph.ops()


# -- relu_clip ---------------------------------------------------------------------------------


def test_relu_max_value_6_is_one_clip_after_the_conv(tmp_path):
    m = model(
        [8, 8, 3],
        L("Conv2D", filters=4, kernel_size=3, padding="same"),
        L("ReLU", max_value=6.0),
        L("Conv2D", filters=4, kernel_size=1, activation="relu6"),
        L("Activation", activation="relu6"),
    )
    compiled = compiled_vs_keras(tmp_path, m)
    assert ops_of(compiled) == ["Conv2D", "Conv2D", "act"]
    assert compiled.graph.nodes[0].attrs["activation"] == "relu6"
    ops = onnx_ops(compiled.onnx())
    assert ops.count("Clip") == 3 and "Min" not in ops and "Relu" not in ops


def test_relu_other_bounds(tmp_path):
    """max_value 2.5 stays relu_ext but is one Clip; slope or threshold keep their form."""
    m = model(
        [6, 4],
        L("Dense", units=5),
        L("ReLU", max_value=2.5),
        L("Dense", units=5),
        L("ReLU", max_value=6.0, threshold=0.5),
        L("Dense", units=3),
        L("ReLU", max_value=6.0, negative_slope=0.1),
    )
    compiled = compiled_vs_keras(tmp_path, m)
    assert ops_of(compiled) == ["Dense", "Dense", "Dense"]
    kinds = [n.attrs["activation"] for n in compiled.graph.nodes]
    assert kinds == ["relu_ext", "relu_ext", "relu_ext"]
    ops = onnx_ops(compiled.onnx())
    assert ops.count("Clip") == 1 and ops.count("Min") == 2


def test_relu_clip_unit():
    g = Graph("r6")
    x = g.add_input("x", ("N", 4))
    params = {"negative_slope": 0.0, "max_value": 6.0, "threshold": 0.0}
    r = emit(g, "act", [dense(g, x, 3, "d")], "r", kind="relu_ext", **params)
    check(finish(g, r), relu_clip, ["Dense", "act"], ["Dense", "act"])
    assert g.nodes[1].attrs == {"kind": "relu6"} and relu_clip(g) is False


# -- fold_batchnorm_depthwise ------------------------------------------------------------------


@pytest.mark.slow
def test_batchnorm_into_depthwise_and_separable(tmp_path):
    m = model(
        [8, 8, 3],
        L("DepthwiseConv2D", kernel_size=3, padding="same", depth_multiplier=2, use_bias=False),
        L("BatchNormalization"),
        L("ReLU", max_value=6.0),
        L("DepthwiseConv2D", kernel_size=3, strides=2),
        L("BatchNormalization", epsilon=1e-5),
        L("SeparableConv2D", filters=5, kernel_size=3, padding="same", depth_multiplier=2),
        L("BatchNormalization"),
        L("ReLU"),
    )
    compiled = compiled_vs_keras(tmp_path, m)
    assert ops_of(compiled) == ["depthwise_conv"] * 3
    acts = [n.attrs.get("activation", "linear") for n in compiled.graph.nodes]
    assert acts == ["relu6", "linear", "relu"]


def test_batchnorm_into_depthwise_conv1d_td(tmp_path):
    inner = L("DepthwiseConv1D", kernel_size=3, padding="same", depth_multiplier=3)
    m = model(
        [None, 6, 2],
        L("TimeDistributed", layer=inner),
        L("TimeDistributed", layer=L("BatchNormalization")),
    )
    compiled = compiled_vs_keras(tmp_path, m)
    assert "BatchNormalization" not in ops_of(compiled)
    assert ops_of(compiled).count("depthwise_conv") == 1


def test_batchnorm_depthwise_refusals():
    g = Graph("dw_act")  # an activation between: the BatchNormalization stays
    x = g.add_input("x", ("N", 6, 6, 2))
    attrs = {"strides": (1, 1), "padding": "same", "dilation_rate": (1, 1)}
    d = emit(g, "depthwise_conv", [x], "dw", w={"kernel": _w(3, 3, 2, 2)}, **attrs)
    r = emit(g, "act", [d], "r", kind="relu")
    unchanged(finish(g, _bn(g, r, "bn")), fold_batchnorm_depthwise, ["depthwise_conv", "act",
              "BatchNormalization"])  # fmt: skip


# -- fold_batchnorm_forward --------------------------------------------------------------------


def test_batchnorm_into_the_following_dense_and_valid_conv(tmp_path):
    m = model(
        [7, 7, 3],
        L("BatchNormalization"),
        L("Conv2D", filters=4, kernel_size=3, strides=2),  # valid: folded
        L("ReLU"),
        L("BatchNormalization"),
        L("Conv2D", filters=4, kernel_size=1, padding="same", use_bias=False),  # one tap
        L("ReLU"),
        L("BatchNormalization"),
        L("Conv2D", filters=3, kernel_size=3, padding="same"),  # padded: kept
        L("Flatten"),
        L("BatchNormalization"),
        L("Dense", units=4),
    )
    compiled = compiled_vs_keras(tmp_path, m)
    ops = ops_of(compiled)
    assert ops.count("BatchNormalization") == 1 and ops.count("Conv2D") == 3
    assert ops.count("Dense") == 1
    bn = compiled.graph.nodes[ops.index("BatchNormalization")]
    assert bn.output.producer is bn and compiled.graph.consumers(bn.output)[0].op == "Conv2D"


def test_batchnorm_into_dense_on_a_sequence(tmp_path):
    m = model([None, 5], L("BatchNormalization"), L("Dense", units=3, activation="tanh"))
    compiled = compiled_vs_keras(tmp_path, m)
    assert ops_of(compiled) == ["Dense"]


def test_batchnorm_forward_refusals():
    g = Graph("bn_shared")  # the BatchNormalization output is read twice
    x = g.add_input("x", ("N", 4))
    b = _bn(g, x, "bn")
    finish(g, emit(g, "merge", [dense(g, b, 4, "d"), b], "m", kind="add"))
    unchanged(g, fold_batchnorm_forward, ["BatchNormalization", "Dense", "merge"])

    g = Graph("bn_axis")  # on axis -2, not the Dense's features
    b = _bn(g, g.add_input("x", ("N", 3, 4)), "bn", axis=-2)
    unchanged(finish(g, dense(g, b, 2, "d")), fold_batchnorm_forward, ["BatchNormalization",
              "Dense"])  # fmt: skip


def test_batchnorm_forward_unit():
    g = Graph("bn_dense")
    x = g.add_input("x", ("N", "T", 4))
    y = dense(g, _bn(g, x, "bn"), 3, "d")
    check(finish(g, y), fold_batchnorm_forward, ["BatchNormalization", "Dense"], ["Dense"])
    assert g.nodes[0].inputs[0] is x


# -- fold_affine -------------------------------------------------------------------------------


def op(kind: str, *inputs: Any, name: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "inputs": list(inputs)}


def test_constant_chain_is_one_node(tmp_path):
    m = model(
        [None, 4],
        {"name": "d", "type": "Dense", "units": 4},
        op("ops.multiply", "d", 2.0, name="m1"),
        op("ops.add", "m1", [0.5, -1.0, 2.0, 0.0], name="a1"),
        op("ops.divide", "a1", 4.0, name="v1"),
        op("ops.subtract", 1.0, "v1", name="s1"),
        {"name": "r", "type": "Rescaling", "scale": 0.5, "offset": 0.25},
        op("ops.multiply", "r", 3.0, name="m2"),
        op("ops.multiply", "m2", [1.0, 2.0, 3.0, 4.0], name="m3"),
    )
    m["layers"][5]["inputs"] = "s1"
    compiled = compiled_vs_keras(tmp_path, m)
    assert ops_of(compiled) == ["Dense", "scale_shift"]


def test_fold_affine_units():
    g = Graph("mul_mul")
    x = g.add_input("x", ("N", 4))
    c = {"c": np.float32(2.0) * np.ones((), np.float32)}
    m1 = emit(g, "binary", [x], "m1", kind="multiply", w=c)
    m2 = emit(g, "binary", [m1], "m2", kind="multiply", w={"c": _w(4)})
    check(finish(g, m2), fold_affine, ["binary", "binary"], ["binary"])
    assert g.nodes[0].attrs["kind"] == "multiply"
    np.testing.assert_allclose(g.nodes[0].weights["c"], 2.0 * _w(4), rtol=1e-6)

    g = Graph("add_add")
    x = g.add_input("x", ("N", 4))
    a1 = emit(g, "binary", [x], "a1", kind="add", w={"c": _w(4)})
    a2 = emit(g, "binary", [a1], "a2", kind="subtract", w={"c": _w(4, seed=2)})
    check(finish(g, a2), fold_affine, ["binary", "binary"], ["binary"])
    assert g.nodes[0].attrs["kind"] == "add"


def test_fold_affine_refusals():
    g = Graph("widen")  # the second constant widens the shape: kept
    x = g.add_input("x", ("N", 1))
    m1 = emit(g, "binary", [x], "m1", kind="multiply", w={"c": _w(1)})
    m2 = emit(g, "binary", [m1], "m2", kind="add", w={"c": _w(3)})
    unchanged(finish(g, m2), fold_affine, ["binary", "binary"])

    g = Graph("shared")  # the first product is read twice
    x = g.add_input("x", ("N", 4))
    m1 = emit(g, "binary", [x], "m1", kind="multiply", w={"c": _w(4)})
    m2 = emit(g, "binary", [m1], "m2", kind="add", w={"c": _w(4)})
    finish(g, emit(g, "merge", [m1, m2], "m", kind="add"))
    unchanged(g, fold_affine, ["binary", "binary", "merge"])

    g = Graph("power")  # not affine
    x = g.add_input("x", ("N", 4))
    m1 = emit(g, "binary", [x], "m1", kind="power", w={"c": _w(4)})
    unchanged(finish(g, emit(g, "binary", [m1], "m2", kind="add", w={"c": _w(4)})), fold_affine,
              ["binary", "binary"])  # fmt: skip


# -- fuse_pad ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_zero_padding_into_the_valid_convolution(tmp_path):
    m = model(
        [9, 9, 3],
        L("ZeroPadding2D", padding=((3, 2), (1, 3))),
        L("Conv2D", filters=4, kernel_size=3, strides=2),  # valid: takes the pads
        L("BatchNormalization"),
        L("ReLU"),
        L("ZeroPadding2D", padding=1),
        L("DepthwiseConv2D", kernel_size=3, strides=2, depth_multiplier=2),
        L("ZeroPadding2D", padding=1),
        L("Conv2D", filters=3, kernel_size=3, padding="same"),  # same: the pad stays
        L("ZeroPadding2D", padding=1),
        L("MaxPooling2D"),  # pools pad with -inf: stays
    )
    compiled = compiled_vs_keras(tmp_path, m)
    assert ops_of(compiled) == [
        "Conv2D",
        "depthwise_conv",
        "zero_pad",
        "Conv2D",
        "zero_pad",
        "pool",
    ]
    assert compiled.graph.nodes[0].attrs["padding"] == ((3, 2), (1, 3))
    ops = onnx_ops(compiled.onnx())
    assert ops.count("Pad") == 2 and ops[0] == "Transpose"


def test_zero_padding_conv1d_over_a_null_time_axis_stays(tmp_path):
    m = model(
        [None, 3],
        L("ZeroPadding1D", padding=2),
        L("Conv1D", filters=4, kernel_size=3),
    )
    compiled = compiled_vs_keras(tmp_path, m)
    assert ops_of(compiled) == ["zero_pad", "Conv1D"]


def test_batchnorm_with_a_fused_activation_is_not_folded():
    """A BatchNormalization that absorbed its ReLU (fuse_activation, an earlier round) is
    no longer affine: neither the Dense after it nor the depthwise before it takes it."""
    from compiler.passes.fold_batchnorm import fold_batchnorm
    from compiler.passes.fuse_activation import fuse_activation

    g = Graph("bn_relu_dense")
    x = g.add_input("x", ("N", 6, 6, 2))
    attrs = {"strides": (1, 1), "padding": "same", "dilation_rate": (1, 1)}
    d = emit(g, "depthwise_conv", [x], "dw", w={"kernel": _w(3, 3, 2, 2)}, **attrs)
    r = emit(g, "act", [_bn(g, d, "bn")], "r", kind="relu")
    finish(g, dense(g, r, 3, "d"))
    assert fuse_activation(g) and g.nodes[1].attrs["activation"] == "relu"
    ops = ["depthwise_conv", "BatchNormalization", "Dense"]
    unchanged(g, fold_batchnorm_forward, ops)
    unchanged(g, fold_batchnorm_depthwise, ops)
    unchanged(g, fold_batchnorm, ops)
