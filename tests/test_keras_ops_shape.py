"""Keras shape operations (``ops.reshape``, ``transpose``, ``expand_dims``, ``squeeze``,
``concatenate``, ``stack``, ``split``, ``getitem``) against live Keras, ONNX and NumPy.

Axes count the batch axis, as ``keras.ops`` sees it; what would move, index, split or drop
the batch axis is refused.
"""

from typing import Any

import pytest

from cli_util import tdc
from compiler.ops.keras_getitem import expand, key_text, out_shape, parse_key
from oracle import check, model, write_model


def op(kind: str, *inputs: Any, **kwargs: Any) -> dict[str, Any]:
    """An ``ops.*`` entry named ``name`` (default: its type with '_' for '.')."""
    name = kwargs.pop("name", kind.replace(".", "_"))
    return {"name": name, "type": kind, "inputs": list(inputs), **kwargs}


def dense(units: int = 8, name: str = "d") -> dict[str, Any]:
    return {"name": name, "type": "Dense", "units": units}


def outputs(m: dict[str, Any], *names: str) -> dict[str, Any]:
    return {**m, "outputs": list(names)}


KEYS = ["[:, :, :4]", "[..., 1:-1:2]", "[:, None, ::2, -1]", "[:, 0]", "[:, ::-1, 3]"]
KEYS += ["[:, -2:, None, ::-3]", "[:, 1:, ...]", "[..., None]", "[:]"]


def test_getitem_keys_quick(tmp_path):
    """The MobileNet-style head x[:, :, :4] and a key with every kind of entry."""
    m = model(
        [None, 3],
        dense(),
        op("ops.getitem", "d", key="[:, :, :4]", name="head"),
        op("ops.getitem", "d", key="[:, None, ::2, -1]", name="mixed"),
    )
    check(tmp_path, outputs(m, "head", "mixed"))


@pytest.mark.slow
@pytest.mark.parametrize("key", KEYS)
def test_getitem_keys(tmp_path, key):
    check(tmp_path, model([None, 3], dense(), op("ops.getitem", "d", key=key)))


@pytest.mark.slow
@pytest.mark.parametrize("key", ["[:, 1:3]", "[:, -1]", "[:, ::2, 5:1:-1]", "[..., 2, :]"])
def test_getitem_on_static_axes(tmp_path, key):
    """Static sizes: the result's shape is computed, not left to the run."""
    reshaped = op("ops.reshape", "d", newshape=[-1, 4, 3, 2], name="r")
    check(tmp_path, model([4, 3], dense(6), reshaped, op("ops.getitem", "r", key=key)))


@pytest.mark.slow
def test_reshape_transpose_expand_squeeze(tmp_path):
    m = model(
        [4, 3],
        dense(),
        op("ops.reshape", "d", newshape=[-1, 4, 2, 4], name="r"),
        op("ops.reshape", "d", newshape=[-1, 32], name="flat"),
        op("ops.reshape", "flat", newshape=[-1, 4, 8], name="again"),
        op("ops.transpose", "r", axes=[0, 3, 1, 2], name="t"),
        op("ops.transpose", "r", axes=[0, -1, -3, -2], name="tn"),
        op("ops.expand_dims", "d", axis=-1, name="e"),
        op("ops.expand_dims", "d", axis=[1, 3], name="e2"),
        op("ops.squeeze", "e", axis=-1, name="s"),
        op("ops.squeeze", "e2", axis=[1, 3], name="s2"),
    )
    check(tmp_path, outputs(m, "t", "tn", "flat", "again", "s", "s2"))


@pytest.mark.slow
@pytest.mark.parametrize("time", [1, 5])
def test_reshape_merging_batch_and_null_time(tmp_path, time):
    """(N, T, 8) to [-1, 2, 4]: Keras's -1 takes batch times time, as a fold does."""
    m = model([None, 3], dense(), op("ops.reshape", "d", newshape=[-1, 2, 4]))
    check(tmp_path, m, time=time)


@pytest.mark.slow
def test_concatenate_stack_split(tmp_path):
    m = model(
        [None, 3],
        dense(),
        op("ops.concatenate", "d", "x", "d", axis=-1, name="c"),
        op("ops.concatenate", "d", "d", axis=1, name="ct"),
        op("ops.stack", "d", "d", "d", axis=2, name="st"),
        op("ops.stack", "d", "d", axis=-1, name="st2"),
        op("ops.split", "d", 2, axis=-1, name="halves"),
        op("ops.split", "d", indices_or_sections=[2, 5], axis=2, name="parts"),
        op("ops.split", "d", indices_or_sections=1, axis=1, name="whole"),
        op("ops.subtract", "halves", "halves:1", name="diff"),
    )
    names = ["c", "ct", "st", "st2", "diff", "parts", "parts:1", "parts:2", "whole"]
    check(tmp_path, outputs(m, *names))


@pytest.mark.slow
def test_split_null_axis_into_equal_parts(tmp_path):
    m = model([None, 3], dense(), op("ops.split", "d", 2, axis=1, name="sp"))
    check(tmp_path, outputs(m, "sp", "sp:1"), time=6)


@pytest.mark.slow
def test_shape_ops_stream_step_by_step(tmp_path):
    """Ops off the time axis have a step form."""
    from test_streaming import run as stream_run

    m = model(
        [None, 3],
        dense(),
        op("ops.getitem", "d", key="[:, :, 2:6]", name="g"),
        op("ops.expand_dims", "g", axis=-1, name="e"),
        op("ops.concatenate", "e", "e", axis=-1, name="c"),
        op("ops.transpose", "c", axes=[0, 1, 3, 2], name="t"),
        op("ops.split", "t", 2, axis=2, name="s"),
        op("ops.squeeze", "s", axis=2, name="out"),
    )
    stream_run(tmp_path, outputs(m, "out", "t"))


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (op("ops.getitem", "d", key="[0]"), "indexes the batch axis"),
        (op("ops.getitem", "d", key="[None]"), "indexes the batch axis"),
        (op("ops.getitem", "d", key="[:, :, :, 0]"), "indexes 4 axes, the input has 3"),
        (op("ops.getitem", "d", key="[:, :, 9]"), "index 9 is out of range"),
        (op("ops.getitem", "d", key="[:, ::0]"), "step 0"),
        (op("ops.reshape", "d", newshape=[2, -1]), "fixes the batch axis at 2"),
        (op("ops.reshape", "d", newshape=[-1, 3]), "changes the batch axis"),
        (op("ops.reshape", "d", newshape=[-1, -1, 2]), "at most one -1"),
        (op("ops.transpose", "d"), "reverses every axis, the batch axis included"),
        (op("ops.transpose", "d", axes=[1, 0, 2]), "move the batch axis"),
        (op("ops.transpose", "d", axes=[0, 1, 1]), "not a permutation"),
        (op("ops.expand_dims", "d", axis=0), "on the batch axis"),
        (op("ops.squeeze", "d"), "without axis"),
        (op("ops.squeeze", "d", axis=1), "has size T, not 1"),
        (op("ops.concatenate", "d", "d"), "by default (axis 0)"),
        (op("ops.concatenate", "d", "x", axis=0), "on the batch axis"),
        (op("ops.concatenate", "d", [1.0, 2.0], axis=-1), "a list of tensors, not constants"),
        (op("ops.stack", "d", "d"), "by default (axis 0)"),
        (op("ops.split", "d", 3, axis=-1), "does not split into 3 equal parts"),
        (op("ops.split", "d", 2), "splits the batch axis by default"),
        (op("ops.split", "d", indices_or_sections=[5, 2], axis=-1), "do not increase"),
        (op("ops.split", "d", indices_or_sections=[2], axis=1), "at indices of the null axis"),
        (op("ops.split", "d", 2.5, axis=-1), "bad indices_or_sections 2.5"),
    ],
)
def test_bad_shape_operations_are_refused(tmp_path, layer, message):
    code, _, err = tdc("inspect", write_model(tmp_path, model([None, 3], dense(), layer)))
    assert code == 2, err
    assert message in err


@pytest.mark.parametrize(
    "key",
    [
        "[__import__('os')]", "[x]", "[1 + 1]", "[:, 'a']", "[:, True]", "[..., ...]",
        "[:, 1.5]", "[(0, 1)][0]", "[:4", ":, :4", "[:, :4][0]", "[:, f()]", "[" + "0," * 600 + "]",
        "[:, 2**70]", 3, "[:, ::x]", "[\n:]",
    ],
)  # fmt: skip
def test_bad_keys_are_refused_as_data(tmp_path, key):
    """Never evaluated: names, calls, arithmetic, strings and bools are refused."""
    m = model([None, 3], op("ops.getitem", "x", key=key))
    code, _, err = tdc("inspect", write_model(tmp_path, m))
    assert code == 2, err
    assert "bad value" in err and "'key'" in err and "Python indexing" in err


def test_key_parser():
    """Entries, the ellipsis spelled out, the text back, the shapes of the result."""
    key = expand(parse_key("[..., None, 1:-1:2, -1]"), 4)
    assert key[:2] == (("slice", None, None, None),) * 2
    assert key_text(key) == "[:, :, None, 1:-1:2, -1]"
    assert out_shape(key, ("N", "T", 9, 4)) == ("N", "T", 1, 4)  # 1, 3, 5, 7 of 9
    assert out_shape(expand(parse_key("[:, 2:]"), 2), ("N", "T")) == ("N", "T[2:]")
    assert parse_key(" [ : , 0 ] ") == (("slice", None, None, None), ("index", 0))
