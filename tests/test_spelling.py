"""String options are spelled as Keras spells them: never case-folded, never guessed.

``ROWS`` is the table: a layer entry, an option, a value, whether Keras takes it and whether
tdc does. ``test_keras_agrees`` builds every row in live Keras, so the table cannot drift
from Keras; ``test_tdc_follows_the_table`` compiles every row. tdc never accepts what Keras
refuses; it refuses, naming the option, what Keras takes but tdc cannot compute.

What Keras does, option by option (Keras 3):

* ``activation`` (``activations.get``): a case-sensitive lookup; ``RELU`` is an error.
* ``*_initializer`` (``initializers.get``): case-sensitive, by snake-case name, class name
  (``GlorotUniform``) or alias (``uniform``, ``normal``, ``zero``, ``one``); not
  ``constant`` (no value), nor the abstract ``Initializer`` (fails when the layer builds).
* ``*_regularizer``, ``*_constraint``: case-sensitive, by snake-case or class name.
* ``merge_mode`` (Bidirectional): exactly ``concat``, ``sum``, ``mul``, ``ave`` or null.
* ``padding`` of the convolutions (``standardize_padding``), ``data_format``
  (``standardize_data_format``) and UpSampling2D's ``interpolation``: Keras lower-cases
  them, so ``SAME`` is ``same``. The poolings' ``padding`` is checked as written when the
  layer is called: ``SAME`` is an error there.
* ``use_cudnn`` and ``dtype``: exact (``AUTO`` and ``FLOAT32`` are errors).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from cli_util import tdc
from compiler.api import compile_file
from oracle import check, model, write_model

DENSE = {"type": "Dense", "units": 3}
CONV2D = {"type": "Conv2D", "filters": 2, "kernel_size": 3}
CONV1D = {"type": "Conv1D", "filters": 2, "kernel_size": 3}
LSTM = {"type": "LSTM", "units": 3}
POOL = {"type": "MaxPooling2D"}
UPS = {"type": "UpSampling2D"}
EMB = {"type": "Embedding", "input_dim": 10, "output_dim": 3}
BIDI = {"type": "Bidirectional", "layer": LSTM}

#: (layer entry, option, value, Keras accepts, tdc accepts).
ROWS = [
    (DENSE, "activation", "relu", True, True),
    (DENSE, "activation", "RELU", False, False),
    (DENSE, "activation", "Relu", False, False),
    (DENSE, "activation", "celu", True, True),
    ({"type": "Activation", "activation": "tanh"}, "activation", "Tanh", False, False),
    (DENSE, "kernel_initializer", "ZEROS", False, False),
    (DENSE, "kernel_initializer", "Zeros", True, True),
    (DENSE, "kernel_initializer", "GlorotUniform", True, True),
    (DENSE, "kernel_initializer", "glorotuniform", False, False),
    (DENSE, "kernel_initializer", "uniform", True, True),
    (DENSE, "kernel_initializer", "normal", True, True),
    (DENSE, "kernel_initializer", "VarianceScaling", True, True),
    (DENSE, "kernel_initializer", "OrthogonalInitializer", True, True),
    (DENSE, "kernel_initializer", "constant", False, False),
    (DENSE, "kernel_initializer", "Initializer", False, False),
    (DENSE, "bias_initializer", "one", True, True),
    (DENSE, "kernel_regularizer", "L2", True, True),
    (DENSE, "kernel_regularizer", "L1L2", True, True),
    (DENSE, "kernel_regularizer", "l1_l2", False, False),
    (DENSE, "kernel_constraint", "MaxNorm", True, True),
    (DENSE, "kernel_constraint", "MAX_NORM", False, False),
    (DENSE, "kernel_regularizer", "Regularizer", True, True),  # inert at inference
    (DENSE, "kernel_constraint", "Constraint", True, True),
    (DENSE, "dtype", "FLOAT32", False, False),
    (CONV2D, "padding", "SAME", True, True),
    (CONV2D, "padding", "Valid", True, True),
    (CONV2D, "padding", "causal", False, False),
    (CONV2D, "data_format", "CHANNELS_LAST", True, True),
    (CONV2D, "data_format", "channels_first", True, False),  # not computed by tdc
    (CONV2D, "kernel_initializer", "HeNormal", True, True),
    (CONV1D, "padding", "CAUSAL", True, True),
    ({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3}, "padding", "Same", True, True),
    ({"type": "SeparableConv2D", "filters": 2, "kernel_size": 3}, "padding", "SAME", True, True),
    (POOL, "padding", "SAME", False, False),  # Keras's pooling op checks it as written
    (POOL, "padding", "same", True, True),
    ({"type": "AveragePooling1D", "pool_size": 2}, "padding", "VALID", False, False),
    (POOL, "data_format", "Channels_Last", True, True),
    ({"type": "GlobalAveragePooling2D"}, "data_format", "CHANNELS_LAST", True, True),
    ({"type": "Flatten"}, "data_format", "CHANNELS_LAST", True, True),
    (UPS, "interpolation", "BILINEAR", True, True),
    (UPS, "interpolation", "bilinear", True, True),
    (UPS, "interpolation", "area", True, False),  # not computed by tdc
    ({"type": "DepthwiseConv2D", "kernel_size": 3}, "padding", "VALID", True, True),
    ({"type": "Conv3D", "filters": 2, "kernel_size": 2}, "padding", "SAME", True, True),
    (LSTM, "activation", "TANH", False, False),
    (LSTM, "recurrent_activation", "HARD_SIGMOID", False, False),
    (LSTM, "recurrent_initializer", "Orthogonal", True, True),
    (LSTM, "recurrent_initializer", "ORTHOGONAL", False, False),
    (LSTM, "use_cudnn", "AUTO", False, False),
    (BIDI, "merge_mode", "CONCAT", False, False),
    (BIDI, "merge_mode", "Concat", False, False),
    (BIDI, "merge_mode", "sum", True, True),
    (EMB, "embeddings_initializer", "UNIFORM", False, False),
    (EMB, "embeddings_initializer", "RandomUniform", True, True),
    ({"type": "PReLU"}, "alpha_initializer", "Ones", True, True),
    ({"type": "PReLU"}, "alpha_initializer", "ONES", False, False),
    ({"type": "PReLU"}, "alpha_initializer", "glorot_uniform", True, False),  # zeros/ones only
    ({"type": "PReLU"}, "alpha_regularizer", "foo", False, False),
    ({"type": "PReLU"}, "alpha_regularizer", "L2", True, True),
    ({"type": "BatchNormalization"}, "gamma_initializer", "ONES", False, False),
]

#: The model input each layer type is tried on: (shape without batch, dtype).
INPUTS = {
    "Conv2D": ([6, 6, 3], "float32"),
    "Conv2DTranspose": ([6, 6, 3], "float32"),
    "SeparableConv2D": ([6, 6, 3], "float32"),
    "MaxPooling2D": ([6, 6, 3], "float32"),
    "GlobalAveragePooling2D": ([6, 6, 3], "float32"),
    "Flatten": ([6, 6, 3], "float32"),
    "UpSampling2D": ([4, 4, 3], "float32"),
    "DepthwiseConv2D": ([6, 6, 3], "float32"),
    "Conv3D": ([4, 4, 4, 3], "float32"),
    "AveragePooling1D": ([8, 3], "float32"),
    "Conv1D": ([None, 3], "float32"),
    "LSTM": ([None, 3], "float32"),
    "Bidirectional": ([None, 3], "float32"),
    "Embedding": ([None], "int32"),
}

#: Words the refusal of each option must show: the spellings it accepts.
ACCEPTED = {
    "activation": ["linear", "relu", "tanh", "hard_swish", "or null"],
    "alpha_initializer": ["zeros", "Zeros", "zero", "ones", "Ones", "one"],
    "initializer": ["glorot_uniform", "GlorotUniform", "zeros", "Zeros", "uniform"],
    "regularizer": ["l2", "L2", "l1l2", "L1L2"],
    "constraint": ["max_norm", "MaxNorm"],
    "merge_mode": ["concat", "sum", "mul", "ave", "null"],
    "padding": ["valid", "same"],
    "data_format": ["channels_last"],
    "interpolation": ["nearest", "bilinear"],
    "use_cudnn": ["auto"],
    "dtype": ["float32"],
}


def _ids(rows: list) -> list[str]:
    return [f"{r[0]['type']}-{r[1]}-{r[2]}" for r in rows]


def entry(row: tuple) -> dict:
    layer, option, value = row[:3]
    return {"name": "probe", **layer, option: value}


def input_of(layer_type: str) -> tuple[list, str]:
    return INPUTS.get(layer_type, ([4], "float32"))


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
@pytest.mark.slow
def test_keras_agrees(row):
    """The table's Keras column is what live Keras does: construct the layer and build it."""
    import keras

    def make(args: dict):
        args = dict(args)
        kind = args.pop("type")
        if "layer" in args:
            args["layer"] = make(args["layer"])
        return getattr(keras.layers, kind)(**args)

    shape, dtype = input_of(row[0]["type"])
    baseline = {"name": "probe", **row[0]}  # the entry as tabled builds: a refusal is the value's
    make(baseline)(keras.Input(shape=tuple(shape), dtype=dtype))
    try:
        make(entry(row))(keras.Input(shape=tuple(shape), dtype=dtype))
        accepted = True
    except Exception:
        accepted = False
    assert accepted == row[3]
    assert row[3] or not row[4], "tdc must refuse what Keras refuses"


def model_text(row: tuple) -> str:
    """The one-layer model file: the layer entry is line 4."""
    shape, dtype = input_of(row[0]["type"])
    flow = yaml.safe_dump(entry(row), default_flow_style=True, width=10**6).strip()
    x = yaml.safe_dump({"shape": shape, "dtype": dtype}, default_flow_style=True).strip()
    return f"inputs:\n  x: {x}\nlayers:\n  - {flow}\n"


@pytest.mark.parametrize("row", ROWS, ids=_ids(ROWS))
def test_tdc_follows_the_table(tmp_path, row):
    path = tmp_path / "m.yaml"
    path.write_text(model_text(row))
    out = tmp_path / "m.onnx"
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", out)
    if row[4]:
        assert code == 0 and out.exists(), err
        return
    option, value = row[1], row[2]
    assert code == 2 and not out.exists(), err
    assert "Traceback" not in err and len(err) < 1000, err
    assert "line 4" in err and "layer 'probe'" in err, err
    assert f"bad value '{value}' for '{option}'" in err, err
    key = next(k for k in ACCEPTED if option.endswith(k))
    assert all(w in err for w in ACCEPTED[key]), err
    if key != "use_cudnn" and value != value.lower() and value.lower() in ACCEPTED[key]:
        assert f"did you mean '{value.lower()}'?" in err, err


#: Accepted spellings that change the computation, compared with Keras on random inputs.
COMPARED = [r for r in ROWS if r[4] and r[1] in ("padding", "data_format", "interpolation")]


@pytest.mark.parametrize("row", COMPARED, ids=_ids(COMPARED))
@pytest.mark.slow
def test_odd_spelling_matches_keras(tmp_path, row):
    shape, dtype = input_of(row[0]["type"])
    check(tmp_path, model(shape, entry(row), dtype=dtype))


#: (layer entry, option, Keras spelling, snake-case name): the same weights are drawn.
SAME_DRAW = [
    (DENSE, "kernel_initializer", "GlorotUniform", "glorot_uniform"),
    (DENSE, "kernel_initializer", "uniform", "random_uniform"),
    (DENSE, "kernel_initializer", "normal", "random_normal"),
    (DENSE, "kernel_initializer", "VarianceScaling", "lecun_normal"),
    (DENSE, "kernel_initializer", "OrthogonalInitializer", "orthogonal"),
    (DENSE, "bias_initializer", "one", "ones"),
    (LSTM, "recurrent_initializer", "Orthogonal", "orthogonal"),
    (EMB, "embeddings_initializer", "RandomUniform", "random_uniform"),
    (EMB, "embeddings_initializer", "uniform", "random_uniform"),
    ({"type": "PReLU"}, "alpha_initializer", "Ones", "ones"),
]


@pytest.mark.parametrize("row", SAME_DRAW, ids=_ids(SAME_DRAW))
def test_initializer_spelling_draws_the_same(tmp_path, row):
    """A class name or alias is the same Keras initialiser (checked in Keras) and draws the
    same weights in tdc as the snake-case name."""
    import keras

    layer, option, spelled, name = row
    a, b = keras.initializers.get(spelled), keras.initializers.get(name)
    if type(a) is not type(b):  # VarianceScaling's defaults are LecunNormal
        assert [(i.scale, i.mode, i.distribution) for i in (a, b)] == [
            (1.0, "fan_in", "truncated_normal")
        ] * 2
    shape, dtype = input_of(layer["type"])
    weights = []
    for value in (spelled, name):
        m = model(shape, {"name": "probe", **layer, option: value}, dtype=dtype)
        weights.append(compile_file(write_model(tmp_path, m, f"m_{value}")).weights)
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        np.testing.assert_array_equal(weights[0][key], weights[1][key])


def test_name_tables_follow_keras():
    """tdc's spellings are Keras's, each naming the same Keras object; a Keras spelling of
    something tdc draws is never missing (only those listed here are refused)."""
    from keras.src import activations, constraints, initializers, regularizers

    from compiler.frontend.params import (
        ACTIVATION_NAMES,
        CONSTRAINT_NAMES,
        INITIALIZER_NAMES,
        REGULARIZER_NAMES,
    )

    unsupported = {"constant", "Constant", "stft", "STFT", "STFTInitializer"}
    unsupported |= {"initializer", "Initializer"}
    tables = [
        (INITIALIZER_NAMES, initializers.ALL_OBJECTS_DICT, unsupported),
        (REGULARIZER_NAMES, regularizers.ALL_OBJECTS_DICT, set()),
        (CONSTRAINT_NAMES, constraints.ALL_OBJECTS_DICT, set()),
    ]
    for table, keras_names, left_out in tables:
        assert set(table) == set(keras_names) - left_out
        for spelled, name in table.items():
            if spelled not in ("variance_scaling", "VarianceScaling"):  # see SAME_DRAW
                assert keras_names[spelled] is keras_names[name], spelled
    assert set(ACTIVATION_NAMES) <= set(activations.ALL_OBJECTS_DICT)


def test_long_lists_in_messages_are_capped(tmp_path):
    """200 names known, one misspelt: the message lists ten, hints the near miss, and stays
    short; so does the refusal of a 200-input merge of mismatched shapes."""
    names = [f"input_number_{k}" for k in range(200)]
    doc = {"inputs": {n: {"shape": [4]} for n in names}}
    doc["layers"] = [
        {"name": "cat", "type": "Concatenate", "inputs": [*names[:-1], "input_numbr_199"]}
    ]
    code, _, err = tdc(
        "compile", write_model(tmp_path, doc), "--target", "onnx", "-o", tmp_path / "a.onnx"
    )
    assert code == 2 and len(err) < 1000, err
    assert "did you mean 'input_number_199'?" in err and "and 190 more" in err, err
    doc["inputs"][names[-1]] = {"shape": [5]}
    doc["layers"] = [{"name": "add", "type": "Add", "inputs": names}]
    code, _, err = tdc(
        "compile", write_model(tmp_path, doc), "--target", "onnx", "-o", tmp_path / "b.onnx"
    )
    assert code == 2 and len(err) < 1000 and "layer 'add'" in err, err


@pytest.mark.parametrize(
    "layer,hint",
    [
        (
            {**CONV2D, "kernal_size": 3},
            "unknown argument 'kernal_size'; did you mean 'kernel_size'?",
        ),
        ({"type": "Lstm", "units": 3}, "did you mean 'LSTM'?"),
    ],
)
def test_unknown_names_get_a_hint(tmp_path, layer, hint):
    path = write_model(tmp_path, model([6, 6, 3], {"name": "probe", **layer}))
    code, _, err = tdc("compile", path, "--target", "onnx", "-o", tmp_path / "m.onnx")
    assert code == 2 and hint in err and "layer 'probe'" in err and len(err) < 1000, err
