"""Hostile model files, part one: the helpers that build them, and the rows about the
file itself, code that must never run, wrong types, absurd sizes and the graph."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

import numpy as np

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
FILE_ROWS: dict[str, Row] = {
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
}
