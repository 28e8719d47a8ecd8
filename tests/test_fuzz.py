"""Fuzzing: mutated model files and weights files end in exit 0 or 2, never anything else.

Valid model files (the examples and a few small models) are mutated structurally (keys
deleted, duplicated or swapped, values replaced by random YAML, layers renamed, references
changed) and as text (truncated, random bytes inserted or overwritten); weights files lose,
gain or reshape arrays, change dtype, or have their bytes damaged. Each result is compiled to
both targets in-process by a runner that lets any exception other than the tool's own
``TdcError`` (and click's usage errors) escape, so a bug fails the test with its traceback.
On exit 2 no output file exists.

Bounded for CI (``TDC_FUZZ_EXAMPLES``, default 40 per test); set it higher to fuzz longer.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import click
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.errors import TdcError
from compiler.tools.cli import cli

EXAMPLES = int(os.environ.get("TDC_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=EXAMPLES <= 40,  # CI runs the same examples every time
)

ROOT = Path(__file__).resolve().parent.parent
SMALL = [
    "inputs:\n  x: {shape: [null, 6]}\nlayers:\n"
    "  - {name: d1, type: TimeDistributed, layer: {type: Dense, units: 4}}\n"
    "  - {name: d2, type: Dense, units: 3, activation: softmax}\n",
    "inputs:\n  a: {shape: [null, 5]}\n  b: {shape: [null, 5]}\nlayers:\n"
    "  - {name: s, type: Add, inputs: [a, b]}\n"
    "  - {name: c, type: Concatenate, inputs: [s, a], axis: -1}\n"
    "  - {name: r, type: GRU, units: 3, return_sequences: true}\noutputs: [r, s]\n",
    "inputs:\n  ids: {shape: [null], dtype: int32}\nlayers:\n"
    "  - {name: e, type: Embedding, input_dim: 7, output_dim: 4}\n"
    "  - {name: l, type: Bidirectional, layer: {type: LSTM, units: 3}}\n",
    "inputs:\n  v: {shape: [4, 8, 8, 2]}\nlayers:\n"
    "  - {name: c, type: TimeDistributed, layer: {type: Conv2D, filters: 3, kernel_size: 3}}\n"
    "  - {name: p, type: TimeDistributed, layer: {type: MaxPooling2D}}\n"
    "  - {name: f, type: TimeDistributed, layer: {type: Flatten}}\n"
    "  - {name: o, type: SimpleRNN, units: 2}\nseed: 3\n",
]
SEEDS = [p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))] + SMALL


def compile_once(model: Path, target: str, out: Path) -> int:
    """Run ``tdc compile`` in-process; only the tool's own errors are an exit 2."""
    args = ["compile", str(model), "--target", target, "-o", str(out)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli.main(args=args, prog_name="tdc", standalone_mode=False)
        except (TdcError, click.ClickException):
            return 2
    return 0


def check_both_targets(tmp: Path, model: Path) -> None:
    for target, name in (("onnx", "o.onnx"), ("numpy", "o.py")):
        out = tmp / "out" / name
        code = compile_once(model, target, out)
        if code == 2:
            assert not out.exists() and not out.with_suffix(".npz").exists()
        else:
            assert out.exists()
            out.unlink()
            out.with_suffix(".npz").unlink(missing_ok=True)


# -- model files ---------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, 1, -1, 2, 3, 2**31, 2**24 + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["Dense", "LSTM", "TimeDistributed", "x", "d1", "same", "relu", "int32"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc: object, path: tuple) -> tuple[object, object]:
    node = doc
    for step in path[:-1]:
        node = node[step]  # type: ignore[index]
    return node, path[-1]


@st.composite
def mutated_doc(draw: st.DrawFn) -> str:
    doc = yaml.safe_load(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(doc, path)
        op = draw(st.sampled_from(["delete", "replace", "duplicate", "swap", "rename", "key"]))
        if op == "delete":
            del parent[key]  # type: ignore[attr-defined]
        elif op == "replace":
            parent[key] = draw(VALUES)  # type: ignore[index]
        elif op == "duplicate" and isinstance(parent, list):
            parent.insert(key, parent[key])  # a layer twice: duplicate names
        elif op == "swap" and isinstance(parent, list) and len(parent) > 1:
            other = draw(st.integers(0, len(parent) - 1))
            parent[key], parent[other] = parent[other], parent[key]
        elif op == "rename":
            parent[key] = draw(st.sampled_from(["x", "a", "d1", "ids", "c:1", "s:2", "v", "e"]))
        elif op == "key" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = parent.pop(key)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@st.composite
def damaged_text(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)).encode())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(["truncate", "insert", "overwrite", "token"]))
        if op == "truncate":
            del raw[at:]
        elif op == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "overwrite":
            raw[at : at + 1] = draw(st.binary(min_size=1, max_size=1))
        else:
            token = draw(
                st.sampled_from(["&a ", "*a", "!!python/name:os.system ", "{", "- ", ": "])
            )
            raw[at:at] = token.encode()
    return bytes(raw)


@FUZZ
@given(text=mutated_doc())
@pytest.mark.slow
def test_mutated_model_files(tmp_path_factory, text):
    tmp = tmp_path_factory.mktemp("fuzz")
    model = tmp / "m.yaml"
    model.write_text(text, encoding="utf-8")
    check_both_targets(tmp, model)


@FUZZ
@given(raw=damaged_text())
def test_damaged_model_text(tmp_path_factory, raw):
    tmp = tmp_path_factory.mktemp("fuzz")
    model = tmp / "m.yaml"
    model.write_bytes(raw)
    check_both_targets(tmp, model)


# -- weights files --------------------------------------------------------------------------

WEIGHTED = SMALL[0] + "weights: w.npz\n"
SHAPES = {"d1/kernel": (6, 4), "d1/bias": (4,), "d2/kernel": (4, 3), "d2/bias": (3,)}
DTYPES = st.sampled_from(["float32", "float64", "float16", "int8", "uint16", "bool", "U2"])


@st.composite
def mutated_weights(draw: st.DrawFn) -> bytes:
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    arrays = {k: rng.standard_normal(s).astype(np.float32) for k, s in SHAPES.items()}
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(arrays) or ["d1/kernel"]))
        op = draw(st.sampled_from(["drop", "add", "reshape", "dtype", "values"]))
        if op == "drop":
            arrays.pop(key, None)
        elif op == "add":
            arrays[draw(st.sampled_from(["d3/kernel", "d1/gamma", "x", "d1/kernel/extra"]))] = (
                np.zeros(2, np.float32)
            )
        elif op == "reshape":
            shape = draw(st.lists(st.integers(0, 7), max_size=3))
            arrays[key] = np.zeros(shape, np.float32)
        elif op == "dtype" and key in arrays and arrays[key].dtype.kind in "biuf":
            arrays[key] = arrays[key].astype(draw(DTYPES))
        elif key in arrays and arrays[key].dtype.kind == "f":
            arrays[key] = arrays[key] * draw(st.sampled_from([np.nan, np.inf, 1e30, 0.0]))
    return _npz_bytes(arrays)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@st.composite
def damaged_weights(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(mutated_weights()))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(raw)))
        if draw(st.booleans()):
            raw[at : at + 4] = draw(st.binary(min_size=1, max_size=4))
        else:
            del raw[at:]
    return bytes(raw)


@FUZZ
@given(data=damaged_weights())
def test_mutated_weights_files(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("fuzz")
    (tmp / "w.npz").write_bytes(data)
    model = tmp / "m.yaml"
    model.write_text(WEIGHTED)
    check_both_targets(tmp, model)
