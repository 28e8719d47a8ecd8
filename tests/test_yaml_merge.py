"""YAML 1.1 merge keys in model files: ``<<: *anchor`` and ``<<: [*a, *b]``.

Keys written in the mapping win over merged ones, earlier mappings of a list over later
ones; a merged key keeps the line where it was written; merging anything but mappings is
exit 2 naming the merge key; the alias-bomb bound counts merged copies too.
"""

from __future__ import annotations

import numpy as np
import pytest

from cli_util import tdc
from compiler.api import compile_file
from compiler.backends.onnx.session import run as onnx_run
from compiler.errors import TdcError
from compiler.frontend.yaml_io import read_yaml
from oracle import compare, random_inputs

MERGED = """\
inputs:
  x: {shape: [null, 6, 6, 3]}
layers:
  - name: c1
    type: TimeDistributed
    layer:
      type: Conv2D
      <<: &shared {filters: 4, kernel_size: 3, padding: same, activation: relu}
  - {name: c2, type: TimeDistributed, layer: {<<: *shared, type: Conv2D, activation: tanh}}
  - {name: gap, type: TimeDistributed, layer: {type: GlobalAveragePooling2D}}
  - {name: rnn, type: GRU, units: 5}
"""

WRITTEN_OUT = """\
inputs:
  x: {shape: [null, 6, 6, 3]}
layers:
  - name: c1
    type: TimeDistributed
    layer:
      type: Conv2D
      filters: 4
      kernel_size: 3
      padding: same
      activation: relu
  - name: c2
    type: TimeDistributed
    layer: {type: Conv2D, filters: 4, kernel_size: 3, padding: same, activation: tanh}
  - {name: gap, type: TimeDistributed, layer: {type: GlobalAveragePooling2D}}
  - {name: rnn, type: GRU, units: 5}
"""


def _compile(tmp_path, sub: str, text: str):
    folder = tmp_path / sub
    folder.mkdir()
    (folder / "m.yaml").write_text(text)
    return compile_file(folder / "m.yaml")


@pytest.mark.slow
def test_merged_model_is_the_model_written_out(tmp_path):
    merged, plain = _compile(tmp_path, "a", MERGED), _compile(tmp_path, "b", WRITTEN_OUT)
    for a, b in zip(merged.spec.layers, plain.spec.layers, strict=True):
        assert (a.name, a.type, a.attrs) == (b.name, b.type, b.attrs)
        assert a.inner is None or a.inner.attrs == b.inner.attrs
    assert merged.spec.layers[1].inner.attrs["activation"] == "tanh"  # written beats merged
    assert merged.weights.keys() == plain.weights.keys()
    for key, w in merged.weights.items():
        np.testing.assert_array_equal(w, plain.weights[key])
    xs = random_inputs(merged, batch=2, time=4)
    feeds = {"x": xs[0]}
    got = onnx_run(merged.onnx(), feeds)
    want = onnx_run(plain.onnx(), feeds)
    for name, y in want.items():
        np.testing.assert_array_equal(got[name], y)
    compare(merged, xs)  # and Keras, built from the merged arguments, agrees


def _read(tmp_path, text: str):
    path = tmp_path / "d.yaml"
    path.write_text(text)
    return read_yaml(path)


def test_merge_precedence_and_lines(tmp_path):
    doc = _read(
        tmp_path,
        "a: &a {x: 1, y: 1}\n"  # line 1
        "b: &b {y: 2, z: 2}\n"  # line 2
        "m:\n"
        "  <<: [*a, *b]\n"
        "  x: 0\n"  # line 5
        "n: {<<: [*b, *a]}\n"
        "o: {<<: {<<: *a, w: 3}}\n",
    )
    assert doc["m"] == {"x": 0, "y": 1, "z": 2}
    assert doc["m"].key_lines == {"x": 5, "y": 1, "z": 2}
    assert doc["n"] == {"y": 2, "z": 2, "x": 1}
    assert doc["o"] == {"w": 3, "x": 1, "y": 1}


def test_merged_key_errors_point_where_written(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "inputs:\n  x: {shape: [null, 4]}\nlayers:\n"
        "  - &d {name: d1, type: Dense, units: 4}\n"  # line 4
        "  - {<<: *d, name: c1, type: Conv1D, filters: 2, kernel_size: 1}\n"
    )
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", tmp_path / "m.onnx")
    assert code == 2 and "line 4" in err and "layer 'c1'" in err, err
    assert "unknown argument 'units'" in err, err


@pytest.mark.parametrize(
    "text,needle",
    [
        ("s: &s 5\nm: {<<: *s}\n", "got the scalar '5' (written at line 1)"),
        ("m: {<<: 5}\n", "got the scalar '5'"),
        ("a: &a {x: 1}\nm: {<<: [*a, 3]}\n", "item 2 of its list is the scalar '3'"),
        ("m: {<<: [[1]]}\n", "item 1 of its list is a list"),
        ("m: {<<: !!set {x}}\n", "got a set"),
        ("a: &a {x: 1}\nm: {<<: *a, <<: *a}\n", "duplicate merge key '<<'"),
        ("m: {<<: {x: 1, x: 2}}\n", "duplicate key 'x'"),
    ],
)
def test_bad_merges_are_refused(tmp_path, text, needle):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", tmp_path / "m.onnx")
    assert code == 2 and needle in err and "line " in err and "Traceback" not in err, err
    if "merge" in needle or "scalar" in needle or "list" in needle or "set" in needle:
        assert "<<: *anchor" in err, err


def test_merge_bomb_is_bounded(tmp_path):
    """Each level merges the one before ten times: 10**6 copies, refused before building."""
    lines = ["l0: &l0 {" + ", ".join(f"k{i}: 0" for i in range(10)) + "}"]
    for k in range(1, 7):
        lines.append(f"l{k}: &l{k} {{<<: [{', '.join([f'*l{k - 1}'] * 10)}]}}")
    with pytest.raises(TdcError, match="expands to more than"):
        _read(tmp_path, "\n".join(lines) + "\n")
