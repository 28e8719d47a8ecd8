"""BatchNormalization and LayerNormalization against live Keras, every option."""

import numpy as np
import pytest

from compiler.api import compile_file
from compiler.errors import TdcError
from compiler.ir.graph import Node, Value
from compiler.ops import get_op
from compiler.ops.normalization import bn_scale_shift
from oracle import check, model, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"


def bn(**kw):
    return {"type": "BatchNormalization", **kw}


def ln(**kw):
    return {"type": "LayerNormalization", **kw}


BN_CASES = {
    "default_rank2": model([6], bn()),
    "last_rank3": model([4, 6], bn()),
    "last_rank4": model([3, 4, 5], bn(axis=3)),
    "axis1_rank3": model([4, 6], bn(axis=1)),
    "axis1_rank4": model([3, 4, 5], bn(axis=1)),
    "axis_minus2_rank4": model([3, 4, 5], bn(axis=-2)),
    "axis_minus3_rank4": model([3, 4, 5], bn(axis=-3)),
    "no_center": model([4, 6], bn(center=False)),
    "no_scale": model([4, 6], bn(scale=False)),
    "no_center_no_scale": model([4, 6], bn(center=False, scale=False)),
    "epsilon_momentum": model([6], bn(epsilon=0.1, momentum=0.5)),
    "initializers": model(
        [6],
        bn(
            beta_initializer="ones",
            gamma_initializer="random_normal",
            moving_mean_initializer="ones",
            moving_variance_initializer="zeros",
        ),
    ),
    "regularizers_constraints": model(
        [6],
        bn(
            beta_regularizer="l2",
            gamma_regularizer="l1",
            beta_constraint="non_neg",
            gamma_constraint="max_norm",
            activity_regularizer="l2",
        ),
    ),
    "renorm": model(
        [6],
        bn(renorm=True, renorm_clipping={"rmax": 3.0, "rmin": 0.3, "dmax": 5}, renorm_momentum=0.9),
    ),
    "fused_relu": model([4, 6], bn(axis=1), {"type": "Activation", "activation": "relu"}),
    "after_dense_folded": model([6], {"type": "Dense", "units": 5}, bn()),
    "dense_relu_bn": model([6], {"type": "Dense", "units": 5, "activation": "relu"}, bn()),
    "td_after_td_dense": model(
        [None, 6], td({"type": "Dense", "units": 4}), td(bn()), td(bn(center=False))
    ),
    "td_axis1_reshape": model(
        [5, 12],
        td({"type": "Reshape", "target_shape": [3, 4]}),
        td(bn(axis=1)),
        td({"type": "Permute", "dims": [2, 1]}),
        td(bn(axis=-1, scale=False)),
    ),
    "nested_td": model([3, 4, 6], td(td({"type": "Dense", "units": 5})), td(td(bn()))),
}


@pytest.mark.parametrize("case", sorted(BN_CASES))
def test_batchnorm(tmp_path, case):
    check(tmp_path, BN_CASES[case])


LN_CASES = {
    "default_rank2": model([6], ln()),
    "default_rank3": model([4, 6], ln()),
    "int_axis1_rank3": model([4, 6], ln(axis=1)),
    "suffix_list": model([3, 4, 5], ln(axis=[2, 3])),
    "suffix_negative": model([3, 4, 5], ln(axis=[-2, -1])),
    "all_axes": model([3, 4, 5], ln(axis=[1, 2, 3])),
    "gap_axes": model([3, 4, 5], ln(axis=[1, 3])),
    "middle_axis": model([3, 4, 5], ln(axis=-2)),
    "mixed_sign_axes": model([3, 4, 5], ln(axis=[-1, 1])),
    "no_center": model([4, 6], ln(center=False)),
    "no_scale": model([4, 6], ln(scale=False)),
    "no_center_no_scale": model([4, 6], ln(center=False, scale=False)),
    "no_params_gap": model([3, 4, 5], ln(axis=[1, 3], center=False, scale=False)),
    "epsilon": model([6], ln(epsilon=0.5)),
    "initializers": model([6], ln(beta_initializer="ones", gamma_initializer="zeros")),
    "regularizers": model(
        [6], ln(beta_regularizer="l2", gamma_constraint="unit_norm", activity_regularizer="l1")
    ),
    "rms_scaling": model([4, 6], ln(rms_scaling=True)),
    "rms_no_scale": model([4, 6], ln(rms_scaling=True, scale=False, center=False)),
    "rms_axes": model([3, 4, 5], ln(rms_scaling=True, axis=[1, 3])),
    "fused_gelu": model([4, 6], ln(), {"type": "Activation", "activation": "gelu"}),
    "dynamic_time": model([None, 6], ln()),
    "td_after_td_dense": model([None, 6], td({"type": "Dense", "units": 4}), td(ln())),
    "td_axes_reshape": model(
        [5, 12], td({"type": "Reshape", "target_shape": [3, 4]}), td(ln(axis=[1, 2]))
    ),
    "td_first_axis": model(
        [5, 12], td({"type": "Reshape", "target_shape": [3, 4]}), td(ln(axis=1, center=False))
    ),
}


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
@pytest.mark.parametrize("case", sorted(LN_CASES))
def test_layernorm(tmp_path, case):
    check(tmp_path, LN_CASES[case])


def _onnx_ops(tmp_path, m):
    return [n.op_type for n in compile_file(write_model(tmp_path, m)).onnx().graph.node]


def test_bn_onnx_is_mul_add_without_transposes(tmp_path):
    ops = _onnx_ops(tmp_path, model([3, 4, 5], bn(axis=1)))
    assert ops == ["Mul", "Add"]


def test_bn_folds_into_dense(tmp_path):
    compiled = compile_file(write_model(tmp_path, model([6], {"type": "Dense", "units": 5}, bn())))
    assert compiled.graph.ops() == ["Dense"]


@pytest.mark.parametrize(
    "axis, want",
    [(-1, "LayerNormalization"), ([2, 3], "LayerNormalization"), ([1, 3], "ReduceMean")],
    ids=["last", "suffix", "gap"],
)
def test_ln_onnx_form(tmp_path, axis, want):
    assert want in _onnx_ops(tmp_path, model([3, 4, 5], ln(axis=axis)))


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_ln_rms_uses_composite(tmp_path):
    ops = _onnx_ops(tmp_path, model([4, 6], ln(rms_scaling=True)))
    assert "LayerNormalization" not in ops and "ReduceMean" in ops


@pytest.mark.parametrize(
    "layer, keys",
    [
        (bn(), ["gamma", "beta", "moving_mean", "moving_variance"]),
        (bn(center=False), ["gamma", "moving_mean", "moving_variance"]),
        (bn(scale=False, center=False), ["moving_mean", "moving_variance"]),
        (ln(), ["gamma", "beta"]),
        (ln(rms_scaling=True, scale=False), ["gamma"]),
        (ln(scale=False, center=False), []),
    ],
    ids=["bn", "bn_no_center", "bn_stats_only", "ln", "ln_rms", "ln_none"],
)
def test_variables(tmp_path, layer, keys):
    compiled = compile_file(write_model(tmp_path, model([4, 6], {**layer, "name": "n"})), False)
    assert list(compiled.weights) == [f"n/{k}" for k in keys]


def test_default_initializers(tmp_path):
    compiled = compile_file(write_model(tmp_path, model([6], {**bn(), "name": "n"})))
    w = compiled.weights
    assert (w["n/gamma"] == 1).all() and (w["n/moving_variance"] == 1).all()
    assert (w["n/beta"] == 0).all() and (w["n/moving_mean"] == 0).all()


def test_synchronized_is_inert(tmp_path):
    dumps = []
    for sub, flag in (("a", False), ("b", True)):
        (tmp_path / sub).mkdir()
        path = write_model(tmp_path / sub, model([6], bn(synchronized=flag)))
        dumps.append(compile_file(path).graph.dump())
    assert dumps[0] == dumps[1]


def test_bn_scale_shift_defaults():
    x = Value("x", ("N", 3))
    weights = {"moving_mean": np.array([1, 2, 3], np.float32)}
    weights["moving_variance"] = np.array([3, 0, 8], np.float32)
    node = Node("BatchNormalization", [x], [], {"axis": -1, "epsilon": 1.0}, weights)
    scale, shift = bn_scale_shift(node)
    assert scale.dtype == np.float32 and shift.dtype == np.float32
    np.testing.assert_allclose(scale, [0.5, 1.0, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(shift, [-0.5, -2.0, -1.0], rtol=1e-6)


def test_flops(tmp_path):
    m = model([4, 6], {**bn(axis=1), "name": "b"}, {**ln(), "name": "l"})
    graph = compile_file(write_model(tmp_path, m)).graph
    flops = {n.op: get_op(n.op).flops(n) for n in graph.nodes}
    assert flops == {"BatchNormalization": 48, "LayerNormalization": 7 * 24}


BAD = {
    "bn_batch_axis": (model([6], bn(axis=0)), "batch axis"),
    "bn_out_of_range": (model([6], bn(axis=2)), "out of range"),
    "bn_dynamic_channel": (model([None], bn()), "static"),
    "bn_list_axis": (model([6], bn(axis=[1])), "axis"),
    "bn_bad_clipping_key": (model([6], bn(renorm_clipping={"r": 1})), "rmax"),
    "bn_rmax_below_rmin": (model([6], bn(renorm_clipping={"rmax": 1, "rmin": 2})), "rmin"),
    "ln_batch_axis": (model([6], ln(axis=[0, 1])), "batch axis"),
    "ln_duplicate_axis": (model([4, 6], ln(axis=[1, -2])), "twice"),
    "ln_bad_initializer": (model([6], ln(gamma_initializer="nope")), "glorot_uniform"),
    "td_bn_on_merged_axis": (model([4, 6], td(bn(axis=0))), "batch axis"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_refused(tmp_path, case):
    m, words = BAD[case]
    with pytest.raises(TdcError, match=words):
        compile_file(write_model(tmp_path, m))
