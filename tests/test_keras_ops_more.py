"""Keras operations that build masks and positions (comparisons, logical operations,
``where``, ``cast``, ``*_like``, ``cumsum``, ``arange``) and ``matmul`` / ``einsum``,
against live Keras, ONNX and NumPy; bool and integer values as Keras promotes them.
"""

from typing import Any

import pytest

from cli_util import tdc
from oracle import check, model, write_model


def op(kind: str, *inputs: Any, **kwargs: Any) -> dict[str, Any]:
    """An ``ops.*`` entry named ``name`` (default: its type with '_' for '.')."""
    name = kwargs.pop("name", kind.replace(".", "_"))
    return {"name": name, "type": kind, "inputs": list(inputs), **kwargs}


def dense(units: int = 8, name: str = "d", src: str | None = None) -> dict[str, Any]:
    out = {"name": name, "type": "Dense", "units": units}
    return out if src is None else {**out, "inputs": src}


def outputs(m: dict[str, Any], *names: str) -> dict[str, Any]:
    return {**m, "outputs": list(names)}


COMPARE = ["ops.equal", "ops.not_equal", "ops.greater", "ops.greater_equal", "ops.less"]
COMPARE += ["ops.less_equal", "ops.logical_and", "ops.logical_or", "ops.logical_xor"]


def test_mask_where_cast_quick(tmp_path):
    """A mask from a comparison, where, a cast, a bool times a float, a bool output."""
    m = model(
        [None, 3],
        dense(),
        op("ops.greater", "d", 0.0, name="m"),
        op("ops.where", "m", "d", 0.5, name="w"),
        op("ops.cast", "m", dtype="float32", name="mf"),
        op("ops.multiply", "d", "m", name="dm"),
    )
    check(tmp_path, outputs(m, "w", "mf", "dm", "m"))


@pytest.mark.slow
@pytest.mark.parametrize("name", COMPARE)
def test_comparisons_and_logical_operations(tmp_path, name):
    """Tensor-tensor, tensor-constant, constant first, bool and float operands, int out."""
    m = model(
        [None, 3],
        dense(),
        dense(name="g", src="x"),
        op(name, "d", "g", name="tt"),
        op(name, "d", 0.1, name="tc"),
        op(name, [0.0, 0.1, -0.1, 0.2, 0.0, 0.3, -0.3, 0.4], "d", name="ct"),
        op(name, "tt", "tc", name="bb"),
        op("ops.logical_not", "bb", name="nb"),
        op("ops.cast", "nb", dtype="int32", name="out"),
    )
    check(tmp_path, outputs(m, "tt", "tc", "ct", "out"))


@pytest.mark.slow
def test_where_forms(tmp_path):
    m = model(
        [None, 3],
        dense(),
        dense(name="g", src="x"),
        op("ops.less", "d", "g", name="m"),
        op("ops.where", "m", "d", "g", name="tt"),
        op("ops.where", "m", 1.0, "g", name="ct"),
        op("ops.where", "m", 1, 0, name="ints"),
        op("ops.where", "d", "g", [0.5] * 8, name="numeric_condition"),
        op("ops.mean", "g", axis=1, keepdims=True, name="gm"),
        op("ops.where", "m", "gm", "d", name="broadcast"),
    )
    check(tmp_path, outputs(m, "tt", "ct", "ints", "numeric_condition", "broadcast"))


@pytest.mark.slow
def test_cast_and_promotion(tmp_path):
    """int32 and bool values through arithmetic and reductions, as Keras promotes them."""
    m = model(
        [None, 3],
        dense(),
        op("ops.multiply", "d", 4.0, name="d4"),
        op("ops.cast", "d4", dtype="int32", name="i"),
        op("ops.greater", "d", 0.0, name="b"),
        op("ops.add", "i", 1, name="i1"),
        op("ops.add", "i", "b", name="ib"),
        op("ops.add", "i", 1.5, name="if"),
        op("ops.multiply", "b", 3, name="b3"),
        op("ops.divide", "i", 2, name="half"),
        op("ops.sum", "b", axis=1, name="count"),
        op("ops.mean", "i", axis=-1, name="avg"),
        op("ops.max", "i", axis=-1, keepdims=True, name="imax"),
        op("ops.abs", "i", name="iabs"),
        op("ops.sqrt", "b", name="bsqrt"),
        op("ops.square", "b", name="bsq"),
        op("ops.cast", "d", dtype="bool", name="nz"),
        op("ops.cast", "d4", dtype="int64", name="i64"),
    )
    names = ["i1", "ib", "if", "b3", "half", "count", "avg", "imax", "iabs", "bsqrt", "bsq"]
    check(tmp_path, outputs(m, *names, "nz", "i64"))


@pytest.mark.slow
def test_fill_like_cumsum_and_positions(tmp_path):
    """Positions along a null axis as Keras builds them: cumsum of ones_like, minus one,
    fed to an Embedding; a float cumsum; full_like and zeros_like."""
    m = model(
        [None, 3],
        dense(),
        op("ops.getitem", "d", key="[:, :, 0]", name="first"),
        op("ops.ones_like", "first", dtype="int32", name="ones"),
        op("ops.cumsum", "ones", axis=1, name="count"),
        op("ops.subtract", "count", 1, name="pos"),
        {"name": "emb", "type": "Embedding", "input_dim": 16, "output_dim": 8, "inputs": "pos"},
        op("ops.add", "d", "emb", name="with_pos"),
        op("ops.cumsum", "d", axis=-1, name="cs"),
        op("ops.cumsum", "d", axis=1, dtype="float32", name="cs_time"),
        op("ops.greater", "d", 0.0, name="b"),
        op("ops.cumsum", "b", axis=-1, name="cs_bool"),
        op("ops.full_like", "d", 2.5, name="f"),
        op("ops.full_like", "d", fill_value=-1, dtype="int32", name="fi"),
        op("ops.zeros_like", "d", name="z"),
        op("ops.ones_like", "b", name="ob"),
    )
    check(tmp_path, outputs(m, "with_pos", "cs", "cs_time", "cs_bool", "f", "fi", "z", "ob"))


@pytest.mark.slow
def test_integer_ids_build_a_mask(tmp_path):
    """An integer input reaches Keras operations: the padding mask of token ids."""
    m = model(
        [None],
        op("ops.not_equal", "x", 0, name="mask"),
        op("ops.cast", "mask", dtype="float32", name="mf"),
        op("ops.expand_dims", "mf", axis=-1, name="m3"),
        {"name": "emb", "type": "Embedding", "input_dim": 10, "output_dim": 4, "inputs": "x"},
        op("ops.multiply", "emb", "m3", name="masked"),
        op("ops.sum", "mask", axis=1, keepdims=True, name="lengths"),
        dtype="int32",
    )
    check(tmp_path, outputs(m, "masked", "lengths", "mask"))


@pytest.mark.slow
def test_arange(tmp_path):
    m = model(
        [None, 8],
        dense(),
        {"name": "r8", "type": "ops.arange", "start": 8},
        {"name": "rf", "type": "ops.arange", "start": 0.5, "stop": 4.5, "step": 0.5},
        {"name": "rd", "type": "ops.arange", "start": 10, "stop": 2, "step": -1, "dtype": "int32"},
        op("ops.add", "d", "r8", name="a"),
        op("ops.multiply", "d", "rf", name="b"),
        op("ops.less", "d", "rd", name="c"),
    )
    check(tmp_path, outputs(m, "a", "b", "c"))


@pytest.mark.slow
def test_matmul(tmp_path):
    """A constant matrix or vector either side, a batched product, rank-2 rows."""
    m = model(
        [None, 3],
        dense(),
        dense(units=3, name="g", src="x"),
        op("ops.matmul", "d", [[0.5, -1.0]] * 8, name="mc"),
        op("ops.expand_dims", "d", axis=-1, name="d4"),
        op("ops.matmul", [0.5, 1.0, -1.0, 2.0, 0.0, 1.0, 1.0, 3.0], "d4", name="vm"),
        op("ops.matmul", [[1.0] * 8, [0.5] * 8], "d4", name="cm"),
        op("ops.transpose", "d", axes=[0, 2, 1], name="dt"),
        op("ops.matmul", "d", "dt", name="gram"),
        op("ops.matmul", "g", [[1.0], [2.0], [3.0]], name="col"),
        op("ops.matmul", "d", [1.0] * 8, name="mv"),
        op("ops.mean", "d", axis=1, name="rows"),
        op("ops.matmul", "rows", [[1.0, 0.0]] * 8, name="rm"),
    )
    check(tmp_path, outputs(m, "mc", "vm", "cm", "gram", "col", "mv", "rm"))


@pytest.mark.slow
def test_einsum(tmp_path):
    m = model(
        [None, 3],
        dense(),
        dense(units=5, name="g", src="x"),
        op("ops.einsum", "d", "d", subscripts="btf,bsf->bts", name="attn"),
        op("ops.einsum", "btf,fk->btk", "d", [[1.0, -1.0]] * 8, name="proj"),
        op("ops.einsum", "d", subscripts="...f->...", name="sum_f"),
        op("ops.einsum", "d", "g", subscripts="btf,btg->btfg", name="outer"),
        op("ops.einsum", "d", subscripts="btf", name="implicit"),
        op("ops.einsum", "...f,f->...", "d", [1.0] * 8, name="dots"),
    )
    check(tmp_path, outputs(m, "attn", "proj", "sum_f", "outer", "implicit", "dots"))


@pytest.mark.slow
def test_ops_build_stream_step_by_step(tmp_path):
    from test_streaming import run as stream_run

    m = model(
        [None, 3],
        dense(),
        op("ops.greater", "d", 0.0, name="m"),
        op("ops.where", "m", "d", 0.0, name="w"),
        op("ops.cumsum", "w", axis=-1, name="cs"),
        op("ops.matmul", "cs", [[1.0, 0.5]] * 8, name="mm"),
        op("ops.einsum", "btf,fk->btk", "w", [[1.0, 2.0]] * 8, name="es"),
        op("ops.ones_like", "mm", name="o"),
        op("ops.add", "mm", "es", name="s"),
        op("ops.add", "s", "o", name="out"),
    )
    stream_run(tmp_path, m)


def _refused(tmp_path, m: dict[str, Any], *messages: str) -> None:
    code, _, err = tdc("inspect", write_model(tmp_path, m))
    assert code == 2, err
    for message in messages:
        assert message in err


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (op("ops.where", "m"), "missing operand 'x1'"),
        (op("ops.add", "m", "m"), "on bool values is not supported"),
        (op("ops.relu", "m"), "takes float32 values, got bool"),
        (op("ops.cumsum", "d"), "sums over the flattened tensor"),
        (op("ops.cumsum", "d", axis=0), "on the batch axis"),
        (op("ops.cast", "d", dtype="float64"), "bad value 'float64' for 'dtype'"),
        (op("ops.full_like", "d"), "missing operand 'fill_value'"),
        (op("ops.matmul", "d", "s"), "contracts its batch axis"),
        (op("ops.matmul", "s", [1.0, 2.0]), "a rank-1 tensor x1"),
        (op("ops.matmul", "d", 2.0), "ops.matmul of a scalar"),
        (op("ops.einsum", "d", "d", subscripts="btf,bsf->tbs"), "does not keep the batch axis"),
        (op("ops.einsum", "d", "d", subscripts="btf,sbf->bts"), "does not keep the batch axis"),
        (op("ops.einsum", "d", subscripts="btf,bsf->bts"), "has 2 operand(s), got 1"),
        (op("ops.einsum", "d", subscripts="bt1->b"), "bad value 'bt1->b'"),
        (op("ops.einsum", "d"), "needs its subscripts"),
        (op("ops.einsum", "d", [[1.0] * 8], subscripts="btf,bf->bt"), "constant operand reaches"),
        ({"name": "a", "type": "ops.arange", "start": 0, "stop": 4, "step": 0}, "step 0"),
        ({"name": "a", "type": "ops.arange", "inputs": ["d"], "start": 4}, "no inputs"),
        ({"name": "a", "type": "ops.arange", "start": 10**6}, "at most 65536 values"),
        ({"name": "f", "type": "Dense", "units": 2, "inputs": "m"}, "Dense takes float32 values"),
    ],
)
def test_bad_operations_are_refused(tmp_path, layer, message):
    mask = op("ops.greater", "d", 0.0, name="m")
    s0, s = op("ops.sum", "d", axis=1, name="s0"), op("ops.sum", "s0", axis=1, name="s")
    m = model([None, 3], dense(), mask, s0, s, layer)
    _refused(tmp_path, m, message)


def test_integer_input_feeds_operations_only(tmp_path):
    _refused(tmp_path, model([None], {"type": "Dense", "units": 2}, dtype="int32"), "integer ids")
    ok = model([None], op("ops.add", "x", 1), dtype="int32")
    code, out, err = tdc("inspect", write_model(tmp_path, ok))
    assert code == 0, err
    bad = model([None], op("ops.add", "x", 1), {"type": "Dense", "units": 2}, dtype="int32")
    _refused(tmp_path, bad, "Dense takes float32 values, got int32 values")
