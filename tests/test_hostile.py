"""Broken and hostile input, table-driven: every row ends in exit 2 with one located message.

Each row is a model file (plus, optionally, a weights file or an input array) and a command.
The run must exit 2 with a single line on stderr naming the file, the line, the layer and
what is accepted; no traceback, no "internal error", no output file (nor a temporary one)
left behind, and nothing executed: rows that try to run code aim at a marker file that
must not exist afterwards.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from cli_util import tdc
from compiler.frontend.arrays import write_npz
from compiler.frontend.params import MAX_SIZE

H = "inputs:\n  x: {shape: [null, 6]}\nlayers:\n"
GOOD = H + (
    "  - {name: d1, type: TimeDistributed, layer: {type: Dense, units: 4}}\n"
    "  - {name: d2, type: Dense, units: 3}\n"
)
EMB = "inputs:\n  ids: {shape: [null], dtype: int32}\nlayers:\n  - {name: e, type: Embedding, input_dim: 5, output_dim: 3}\n"  # noqa: E501
TWO = "inputs:\n  a: {shape: [4, 6]}\n  b: {shape: [4, 5]}\nlayers:\n"


def lay(text: str) -> str:
    """One layer entry under ``H``."""
    return H + f"  - {{{text}}}\n"


def laughs(levels: int = 9) -> str:
    rows = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    rows += [f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]" for k in range(1, levels)]
    return "\n".join(rows) + "\n" + H + f"  - {{name: d, type: Dense, units: *a{levels - 1}}}\n"


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=isinstance(arr.dtype, np.dtypes.ObjectDType))
    return buf.getvalue()


def npz(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def header_only(shape: tuple, member: str | None = None) -> bytes:
    """A .npy (or an .npz of one) whose header promises ``shape`` but holds no data."""
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        hdr, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    if member is None:
        return hdr.getvalue()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(member + ".npy", hdr.getvalue())
    return buf.getvalue()


def weights(**change: object) -> bytes:
    """Good weights for ``GOOD``, with keys replaced (None: dropped)."""
    rng = np.random.default_rng(0)
    w = {
        "d1/kernel": rng.random((6, 4), np.float32),
        "d1/bias": np.zeros(4, np.float32),
        "d2/kernel": rng.random((4, 3), np.float32),
        "d2/bias": np.zeros(3, np.float32),
    }
    for k, v in change.items():
        w.pop(k.replace("__", "/"), None)
        if v is not None:
            w[k.replace("__", "/")] = v
    return npz(w)


@dataclass
class Row:
    """A case: the text, what must be in the message, and where the fault is."""

    yaml: str | bytes
    needles: list[str]
    line: int | None = None
    layer: str | None = None
    cmd: str = "onnx"  # onnx | numpy | run | verify | inspect
    weights: bytes | None = None
    input: bytes | None = None
    blame: str = "m.yaml"  # the file the message must name
    extra: list[str] = field(default_factory=list)


ACC = "accepted:"
ROWS: dict[str, Row] = {
    # -- the file itself ----------------------------------------------------------------
    "yaml_syntax": Row("inputs: [unclosed\n", ["invalid YAML", "column 1", ACC], 2),
    "yaml_tab_indent": Row("inputs:\n\tx: 1\n", ["invalid YAML", ACC], 2),
    "empty_file": Row("", ["must be a mapping, not empty", ACC], 1),
    "only_comment": Row("# nothing here\n", ["must be a mapping, not empty", ACC], 1),
    "top_level_list": Row("- 1\n- 2\n", ["must be a mapping, not a list", ACC], 1),
    "top_level_scalar": Row("42\n", ["must be a mapping, not a number", ACC], 1),
    "binary_junk": Row(bytes(range(256)) * 4, ["not UTF-8", ACC], 2),
    "utf16": Row(GOOD.encode("utf-16"), ["not UTF-8", ACC], 1),
    "nul_byte": Row(b"inputs:\n  x\x00: 1\n", ["unacceptable character #x0000", ACC], 2),
    "duplicate_key": Row(lay("name: d, type: Dense, units: 3, units: 4"), ["duplicate key"], 4),
    "non_string_key": Row(lay("name: d, type: Dense, 7: 3"), ["key 7 is not a string", ACC], 4),
    "deep_nesting": Row("inputs: " + "[" * 5000 + "]" * 5000 + "\n", ["nested more", ACC], 1),
    "deep_map": Row("a: " + "{b: " * 3000 + "1" + "}" * 3000 + "\n", ["nested more", ACC], 1),
    "billion_laughs": Row(laughs(), ["expands to more than", ACC]),
    "recursive_alias": Row("inputs: &a [*a]\n", ["node that contains it", ACC], 1),
    "huge_integer_literal": Row(lay("name: d, type: Dense, units: " + "9" * 5000), ["YAML"]),
    "string_1mb": Row(lay("name: d, type: Dense, units: '" + "u" * 2**20 + "'"), ["'units'"], 4),
    # -- code must never run --------------------------------------------------------------
    "python_object_apply": Row(
        "inputs: !!python/object/apply:os.system ['touch {MARK}']\n", ["invalid YAML", ACC], 1
    ),
    "python_name": Row("inputs: !!python/name:os.system\n", ["invalid YAML", ACC], 1),
    "python_module": Row("x: !!python/module:os\n", ["invalid YAML", ACC], 1),
    "layer_name_code": Row(
        lay("name: \"a'); open('{MARK}', 'w')#\", type: Dense, units: 3"), ["bad name", ACC], 4
    ),
    "layer_name_newline": Row(lay('name: "ok\\n", type: Dense, units: 3'), ["bad name", ACC], 4),
    "input_name_code": Row(
        "inputs:\n  \"x\\\"); __import__('os').system('touch {MARK}')#\": {shape: [2]}\n"
        "layers:\n  - {type: Dense, units: 3}\n",
        ["bad name", ACC],
        2,
    ),
    "name_quote": Row(lay('name: "it\'s", type: Dense, units: 3'), ["bad name", ACC], 4),
    "name_leading_digit": Row(lay("name: 1abc, type: Dense, units: 3"), ["bad name", ACC], 4),
    # -- wrong types and values -----------------------------------------------------------
    "unknown_top_key": Row(GOOD + "extra: 1\n", ["unknown top-level key 'extra'", ACC], 6),
    "inputs_is_list": Row("inputs: [x]\nlayers: [{type: Dense, units: 1}]\n", ["'inputs'", ACC], 1),
    "layers_is_map": Row(H.replace("layers:\n", "layers: {a: 1}\n"), ["'layers'", ACC], 3),
    "layer_is_string": Row(H + "  - Dense\n", ["layer 1 is a string", ACC], 3),
    "unknown_type": Row(lay("name: d, type: Dense3"), ["unknown layer type 'Dense3'", ACC], 4, "d"),
    "type_is_list": Row(lay("name: d, type: [Dense]"), ["unknown layer type", ACC], 4, "d"),
    "unknown_argument": Row(
        lay("name: d, type: Dense, units: 3, unit: 2"), ["'unit'", ACC], 4, "d"
    ),
    "units_bool": Row(lay("name: d, type: Dense, units: true"), ["True for 'units'", ACC], 4, "d"),
    "units_float": Row(lay("name: d, type: Dense, units: 3.0"), ["3.0 for 'units'", ACC], 4, "d"),
    "units_zero": Row(lay("name: d, type: Dense, units: 0"), ["integer >= 1", ACC], 4, "d"),
    "units_negative": Row(lay("name: d, type: Dense, units: -3"), ["integer >= 1", ACC], 4, "d"),
    "units_null": Row(lay("name: d, type: Dense, units: null"), ["'units'", ACC], 4, "d"),
    "rate_nan": Row(lay("name: d, type: Dropout, rate: .nan"), ["finite number", ACC], 4, "d"),
    "epsilon_inf": Row(
        lay("name: n, type: LayerNormalization, epsilon: .inf"), ["finite", ACC], 4, "n"
    ),
    "activation_unknown": Row(lay("name: d, type: Dense, units: 3, activation: relux"), ["relu6"]),
    "missing_required": Row(lay("name: d, type: Dense"), ["missing required argument 'units'"]),
    "dtype_float64_input": Row(
        "inputs:\n  x: {shape: [2], dtype: float64}\nlayers:\n  - {type: Dense, units: 1}\n",
        ["unknown dtype 'float64'", ACC],
        2,
    ),
    "seed_bool": Row(GOOD + "seed: true\n", ["bad seed True", ACC], 6),
    "seed_negative": Row(GOOD + "seed: -1\n", ["bad seed -1", ACC], 6),
    "weights_not_npz": Row(GOOD + "weights: w.h5\n", ["bad weights path", ACC], 6),
    "name_list": Row(GOOD + "name: [a]\n", ["bad model name", ACC], 6),
    # -- absurd sizes, refused before allocating --------------------------------------------
    "units_1e12": Row(lay("name: d, type: Dense, units: 1000000000000"), [ACC, "2147483647"]),
    "units_too_many_weights": Row(
        lay("name: d, type: Dense, units: 1000000000"), ["memory cap", "--max-bytes", ACC], 4
    ),
    "kernel_1e9": Row(
        lay("name: c, type: Conv1D, filters: 2, kernel_size: 1000000000"), [str(MAX_SIZE), ACC]
    ),
    "lstm_huge": Row(
        lay("name: l, type: LSTM, units: 10000000"), ["memory cap", "--max-bytes"], 4, "l"
    ),
    "embedding_huge": Row(
        EMB.replace("input_dim: 5, output_dim: 3", "input_dim: 100000000, output_dim: 100000"),
        ["memory cap", ACC],
        4,
        "e",
    ),
    "input_dim_1e9": Row(H.replace("6]", "1000000000]") + "  - {type: Dense, units: 1}\n", [ACC]),
    "input_rank_1000": Row(
        "inputs:\n  x: {shape: [" + ", ".join(["1"] * 1000) + "]}\nlayers:\n  - {type: Flatten}\n",
        ["bad shape", "at most 8"],
        2,
    ),
    "input_elements": Row(
        "inputs:\n  x: {shape: [65536, 65536]}\nlayers:\n  - {type: Flatten}\n",
        ["elements per batch item", ACC],
        2,
    ),
    "input_dim_zero": Row(H.replace("6]", "0]") + "  - {type: Dense, units: 1}\n", ["bad shape"]),
    "repeat_huge": Row(
        "inputs:\n  x: {shape: [6]}\nlayers:\n  - {name: r, type: RepeatVector, n: 2000000000}\n",
        ["elements per batch item", ACC],
        4,
        "r",
    ),
    "upsample_huge": Row(
        "inputs:\n  x: {shape: [4, 6]}\nlayers:\n  - {name: u, type: UpSampling1D, size: 16000000}\n",  # noqa: E501
        ["elements per batch item", ACC],
        4,
        "u",
    ),
    "strides_1e21": Row(
        lay("name: c, type: Conv1D, filters: 2, kernel_size: 3, strides: 1000000000000000000000"),
        [ACC],
        4,
        "c",
    ),
    "reshape_huge": Row(
        "inputs:\n  x: {shape: [6]}\nlayers:\n  - {name: r, type: Reshape, target_shape: [1000000000000]}\n",  # noqa: E501
        [ACC],
        4,
        "r",
    ),
    # -- the graph ---------------------------------------------------------------------
    "duplicate_name": Row(GOOD.replace("name: d2", "name: d1"), ["duplicate name 'd1'", ACC], 5),
    "name_clashes_input": Row(lay("name: x, type: Dense, units: 3"), ["duplicate name 'x'"], 4),
    "undefined_input": Row(
        lay("name: d, type: Dense, units: 3, inputs: nope"), ["'nope' is not", ACC], 4, "d"
    ),
    "self_cycle": Row(lay("name: d, type: Dense, units: 6, inputs: d"), ["a cycle"], 4, "d"),
    "cycle": Row(
        H + "  - {name: a, type: Dense, units: 6, inputs: b}\n"
        "  - {name: b, type: Dense, units: 6, inputs: a}\n",
        ["defined later, at line 5", "no cycles", ACC],
        4,
        "a",
    ),
    "bad_reference": Row(GOOD + "outputs: ['d2:x']\n", ["bad reference", "name:k", ACC], 6),
    "missing_output_index": Row(
        GOOD.replace("units: 3}", "units: 3, inputs: 'd1:3'}"), ["has 1 output"], 5, "d2"
    ),
    "unknown_output": Row(GOOD + "outputs: [zz]\n", ["'zz' is not a layer", ACC], 6),
    "output_twice": Row(GOOD + "outputs: [d2, d2]\n", ["twice", ACC], 6),
    "several_inputs_no_wiring": Row(TWO + "  - {type: Dense, units: 1}\n", ["needs 'inputs:'"], 5),
    "td_rank_2": Row(
        GOOD.replace("[null, 6]", "[6]"), ["TimeDistributed needs an input of rank >= 3"], 4, "d1"
    ),
    "td_td_rank": Row(
        lay("name: t, type: TimeDistributed, layer: {type: TimeDistributed, layer: {type: ReLU}}"),
        ["rank >= 3"],
        4,
        "t",
    ),
    "td_without_layer": Row(lay("name: t, type: TimeDistributed"), ["under 'layer:'", ACC]),
    "merge_incompatible": Row(TWO + "  - {name: m, type: Add, inputs: [a, b]}\n", ["shapes"]),
    "concat_incompatible": Row(
        TWO.replace("[4, 5]", "[5, 5]")
        + "  - {name: m, type: Concatenate, inputs: [a, b], axis: 1}\n",  # noqa: E501
        ["shapes"],
        5,
        "m",
    ),
    "merge_one_input": Row(TWO + "  - {name: m, type: Add, inputs: [a]}\n", ["inputs"], 5, "m"),
    "conv_kernel_larger": Row(
        "inputs:\n  x: {shape: [5, 6]}\nlayers:\n  - {name: c, type: Conv1D, filters: 2, kernel_size: 9}\n",  # noqa: E501
        ["larger than"],
        4,
        "c",
    ),
    "pool_larger": Row(
        "inputs:\n  x: {shape: [3, 3, 2]}\nlayers:\n  - {name: p, type: MaxPooling2D, pool_size: 4}\n",  # noqa: E501
        ["larger than"],
        4,
        "p",
    ),
    "crop_everything": Row(
        "inputs:\n  x: {shape: [4, 6]}\nlayers:\n  - {name: c, type: Cropping1D, cropping: [2, 2]}\n",  # noqa: E501
        ["leaves nothing"],
        4,
        "c",
    ),
    "int_input_into_dense": Row(
        "inputs:\n  x: {shape: [6], dtype: int32}\nlayers:\n  - {name: d, type: Dense, units: 2}\n",
        ["integer ids", ACC],
        4,
        "d",
    ),
    "float_input_into_embedding": Row(
        EMB.replace("dtype: int32", "dtype: float32"), ["int32 or int64"], 4, "e"
    ),
    # -- weights files -------------------------------------------------------------------
    "weights_missing_file": Row(GOOD + "weights: w.npz\n", ["not found", ACC], blame="w.npz"),
    "weights_not_zip": Row(
        GOOD + "weights: w.npz\n", ["not a zip", ACC], weights=b"hello", blame="w.npz"
    ),
    "weights_empty": Row(GOOD + "weights: w.npz\n", ["not a zip"], weights=b"", blame="w.npz"),
    "weights_truncated": Row(
        GOOD + "weights: w.npz\n", [ACC], weights=weights()[:300], blame="w.npz"
    ),
    "weights_npy_not_npz": Row(
        GOOD + "weights: w.npz\n", ["not a zip"], weights=npy(np.zeros(3)), blame="w.npz"
    ),
    "weights_pickled": Row(
        GOOD + "weights: w.npz\n",
        ["Python objects", "no pickles"],
        weights=weights(d1__kernel=np.array([{"a": 1}] * 24, dtype=object).reshape(6, 4)),
        blame="w.npz",
    ),
    "weights_missing_key": Row(
        GOOD + "weights: w.npz\n",
        ["no key 'd2/bias'", "(3,)"],
        weights=weights(d2__bias=None),
        layer="d2",
        blame="w.npz",
    ),
    "weights_extra_key": Row(
        GOOD + "weights: w.npz\n",
        ["zz/kernel", ACC],
        weights=weights(zz__kernel=np.zeros(2)),
        blame="w.npz",
    ),
    "weights_wrong_shape": Row(
        GOOD + "weights: w.npz\n",
        ["shape (4, 6), expected (6, 4)"],
        weights=weights(d1__kernel=np.zeros((4, 6), np.float32)),
        layer="d1",
        blame="w.npz",
    ),
    "weights_bool": Row(
        GOOD + "weights: w.npz\n",
        ["dtype bool", ACC],
        weights=weights(d1__kernel=np.ones((6, 4), bool)),
        layer="d1",
        blame="w.npz",
    ),
    "weights_text": Row(
        GOOD + "weights: w.npz\n",
        ["dtype <U1", ACC],
        weights=weights(d1__kernel=np.full((6, 4), "a")),
        layer="d1",
        blame="w.npz",
    ),
    "weights_nan": Row(
        GOOD + "weights: w.npz\n",
        ["NaN or infinite", ACC],
        weights=weights(d2__bias=np.full(3, np.nan, np.float32)),
        layer="d2",
        blame="w.npz",
    ),
    "weights_float64_overflow": Row(
        GOOD + "weights: w.npz\n",
        ["NaN or infinite", ACC],
        weights=weights(d2__bias=np.full(3, 1e300)),
        layer="d2",
        blame="w.npz",
    ),
    "weights_record_dtype": Row(
        GOOD + "weights: w.npz\n",
        ["record type", ACC],
        weights=weights(d1__kernel=np.zeros((6, 4), dtype=[("a", "f4")])),
        blame="w.npz",
    ),
    "weights_header_promises_too_much": Row(
        GOOD + "weights: w.npz\n",
        ["memory cap", ACC],
        weights=header_only((100000, 100000, 1000), "d1/kernel"),
        blame="w.npz",
    ),
    "weights_header_without_data": Row(
        GOOD + "weights: w.npz\n",
        ["bytes", ACC],
        weights=header_only((6, 4), "d1/kernel"),
        blame="w.npz",
    ),
    # -- input arrays for tdc run -----------------------------------------------------------
    "input_wrong_shape": Row(
        GOOD,
        ["shape (2, 5, 7)", ACC],
        cmd="run",
        input=npy(np.zeros((2, 5, 7), np.float32)),
        blame="in.npy",
    ),
    "input_wrong_rank": Row(
        GOOD, ["shape (2, 6)"], cmd="run", input=npy(np.zeros((2, 6), np.float32)), blame="in.npy"
    ),
    "input_text": Row(
        GOOD, ["dtype <U1", ACC], cmd="run", input=npy(np.full((2, 3, 6), "a")), blame="in.npy"
    ),
    "input_bool": Row(
        GOOD, ["dtype bool", ACC], cmd="run", input=npy(np.ones((2, 3, 6), bool)), blame="in.npy"
    ),
    "input_complex": Row(
        GOOD, ["complex128"], cmd="run", input=npy(np.ones((2, 3, 6), complex)), blame="in.npy"
    ),
    "input_pickled": Row(
        GOOD,
        ["Python objects", ACC],
        cmd="run",
        input=npy(np.array([None, 1], object)),
        blame="in.npy",
    ),
    "input_overflows_float32": Row(
        GOOD,
        ["float32 range", ACC],
        cmd="run",
        input=npy(np.full((1, 2, 6), 1e300)),
        blame="in.npy",
    ),
    "input_junk": Row(GOOD, ["cannot read array", ACC], cmd="run", input=b"junk", blame="in.npy"),
    "input_npz": Row(
        GOOD, ["npz archive", ACC], cmd="run", input=npz({"a": np.zeros(3)}), blame="in.npy"
    ),
    "input_huge_header": Row(
        GOOD, ["memory cap", ACC], cmd="run", input=header_only((100000, 100000, 6)), blame="in.npy"
    ),
    "input_truncated": Row(
        GOOD, ["bytes", ACC], cmd="run", input=header_only((2, 3, 6)), blame="in.npy"
    ),
    "ids_out_of_range": Row(
        EMB,
        ["ids from 1 to 7", "[0, 5)"],
        cmd="run",
        input=npy(np.array([[1, 7]], np.int32)),
        blame="in.npy",
    ),
    "ids_negative": Row(
        EMB,
        ["ids from -1", "[0, 5)"],
        cmd="run",
        input=npy(np.array([[-1, 2]], np.int64)),
        blame="in.npy",
    ),
    "ids_float": Row(
        EMB,
        ["integer ids", ACC],
        cmd="run",
        input=npy(np.array([[1.0]], np.float32)),
        blame="in.npy",
    ),
    # -- other commands -----------------------------------------------------------------
    "numpy_target": Row(lay("name: d, type: Dense, units: true"), ["'units'"], 4, "d", "numpy"),
    "inspect": Row(lay("name: d, type: Dense, units: -1"), ["'units'"], 4, "d", "inspect"),
    "verify": Row(GOOD.replace("[null, 6]", "[6]"), ["rank >= 3"], 4, "d1", "verify"),
}


def run_row(tmp_path: Path, row: Row) -> tuple[int, str, Path, Path]:
    marker = tmp_path / "MARKER"
    model = tmp_path / "m.yaml"
    if isinstance(row.yaml, bytes):
        model.write_bytes(row.yaml)
    else:
        model.write_text(row.yaml.replace("{MARK}", str(marker)), encoding="utf-8")
    if row.weights is not None:
        (tmp_path / "w.npz").write_bytes(row.weights)
    if row.input is not None:
        (tmp_path / "in.npy").write_bytes(row.input)
    out = tmp_path / "out" / {"numpy": "o.py", "run": "o.npy"}.get(row.cmd, "o.onnx")
    args = {
        "onnx": ["compile", model, "--target", "onnx", "-o", out],
        "numpy": ["compile", model, "--target", "numpy", "-o", out],
        "run": ["run", model, "--backend", "numpy", "-i", tmp_path / "in.npy", "-o", out],
        "verify": ["verify", model],
        "inspect": ["inspect", model],
    }[row.cmd]
    code, _, err = tdc(*args)
    return code, err, out, marker


@pytest.mark.parametrize("name", sorted(ROWS))
def test_hostile(tmp_path, name):
    row = ROWS[name]
    before = set(tmp_path.iterdir())
    code, err, out, marker = run_row(tmp_path, row)
    assert code == 2, err
    assert err.startswith("tdc: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert str(tmp_path / row.blame) in err, err
    if row.line is not None:
        assert f"{row.blame}, line {row.line}" in err, err
    if row.layer is not None:
        assert f"layer '{row.layer}'" in err, err
    for needle in row.needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert len(err) < 2000, "the message must stay short"
    assert not marker.exists(), "a payload ran"
    assert not out.exists() and not out.with_suffix(".npz").exists()
    written = set(tmp_path.iterdir()) - before
    assert {p.name for p in written} <= {"m.yaml", "w.npz", "in.npy"}, written


def test_every_row_is_hostile_in_all_three_compile_paths(tmp_path):
    """Model-file rows fail the same way for ONNX, NumPy and inspect."""
    for name in ("cycle", "billion_laughs", "kernel_1e9", "python_object_apply", "td_rank_2"):
        row = ROWS[name]
        for cmd in ("onnx", "numpy", "inspect"):
            sub = tmp_path / f"{name}-{cmd}"
            sub.mkdir()
            variant = Row(row.yaml, row.needles, row.line, row.layer, cmd)
            code, err, out, marker = run_row(sub, variant)
            assert code == 2 and "Traceback" not in err and not out.exists(), (name, cmd, err)
            assert not marker.exists()


def _tdc_executable() -> list[str]:
    exe = Path(sys.executable).with_name("tdc")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "compiler.tools.cli"]


@pytest.mark.parametrize(
    "name", ["python_object_apply", "deep_nesting", "weights_pickled", "input_huge_header"]
)
@pytest.mark.slow
def test_real_process_prints_no_traceback(tmp_path, name):
    """The installed ``tdc`` in its own process: exit 2, one line on stderr, no traceback."""
    row = ROWS[name]
    run_row(tmp_path, row)  # writes the files (and checks nothing)
    model, out = tmp_path / "m.yaml", tmp_path / "out" / "o.npy"
    args = ["compile", str(model), "--target", "onnx", "-o", str(out)]
    if row.cmd == "run":
        args = ["run", str(model), "--backend", "numpy", "-i", str(tmp_path / "in.npy")]
        args += ["-o", str(out)]
    proc = subprocess.run(
        _tdc_executable() + args, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not out.exists() and not (tmp_path / "MARKER").exists()


ODD_NAMES = """\
inputs:
  in.put-1: {shape: [null, 6]}
  __init__: {shape: [null, 6]}
layers:
  - {name: a.b-c, type: Dense, units: 4, inputs: in.put-1}
  - {name: a_b_c, type: Dense, units: 4, inputs: __init__}
  - {name: import, type: Add, inputs: [a.b-c, a_b_c]}
  - {name: __class__, type: LSTM, units: 3, return_sequences: true}
  - {name: None, type: Dense, units: 2}
  - {name: os.system, type: Dense, units: 2, inputs: __class__}
  - {name: np, type: Concatenate, inputs: [None, os.system]}
outputs: [np, a.b-c]
"""


def test_odd_names_are_safe_identifiers_and_onnx_names(tmp_path):
    """Every character a name may hold ('.', '-', '_', keywords, dunders, clashes after
    sanitising) gives a module that imports, runs and executes nothing else, and an ONNX
    model that passes the full checker with the names as written."""
    import onnx

    model = tmp_path / "odd.yaml"
    model.write_text(ODD_NAMES)
    assert tdc("compile", model, "--target", "numpy", "-o", tmp_path / "gen.py")[0] == 0
    assert tdc("compile", model, "--target", "onnx", "-o", tmp_path / "gen.onnx")[0] == 0
    proto = onnx.load(tmp_path / "gen.onnx")
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["in.put-1", "__init__"]
    assert [o.name for o in proto.graph.output] == ["np", "a.b-c"]
    script = (
        "import sys, numpy as np; sys.modules['os'].system = None\n"
        "import gen\n"
        "m = gen.load(); x = np.ones((2, 3, 6), np.float32)\n"
        "a = m.predict(x, x); b = m.predict(**{'in.put-1': x, '__init__': x})\n"
        "print(sorted(a), a['np'].shape, float(abs(a['np'] - b['np']).max()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['a.b-c', 'np'] (2, 3, 4) 0.0"


def test_accepted_oddities(tmp_path):
    """What is deliberately accepted: integer and float64 weights (converted to float32, as
    Keras's set_weights does), NaN in run inputs (data, passed on as Keras does), an output
    folder that does not exist yet (created)."""
    arrays = {"d1/kernel": np.ones((6, 4), np.int64), "d1/bias": np.zeros(4)}
    arrays |= {"d2/kernel": np.ones((4, 3), np.float16), "d2/bias": np.zeros(3, np.int32)}
    write_npz(tmp_path / "w.npz", arrays)
    model = tmp_path / "m.yaml"
    model.write_text(GOOD + "weights: w.npz\n")
    np.save(tmp_path / "x.npy", np.full((1, 2, 6), np.nan, np.float32))
    out = tmp_path / "new" / "dir" / "y.npy"
    code, _, err = tdc("run", model, "--backend", "numpy", "-i", tmp_path / "x.npy", "-o", out)
    assert code == 0, err
    assert np.isnan(np.load(out)).all()
    np.save(tmp_path / "x.npy", np.ones((1, 2, 6)))
    assert tdc("run", model, "--backend", "numpy", "-i", tmp_path / "x.npy", "-o", out)[0] == 0
    np.testing.assert_allclose(np.load(out), np.full((1, 2, 3), 24.0))


def test_output_under_a_file_is_refused(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text(GOOD)
    (tmp_path / "plain").write_text("x")
    for target, name in (("onnx", "o.onnx"), ("numpy", "o.py")):
        code, _, err = tdc("compile", model, "--target", target, "-o", tmp_path / "plain" / name)
        assert code == 2 and "is not a folder" in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.yaml", "plain"]
