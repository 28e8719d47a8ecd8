"""Masks through TimeDistributed against live Keras (ONNX and NumPy), e.g. a character-level
word encoder: Embedding(mask_zero) over (batch, words, chars) ids, TimeDistributed(RNN)
over the characters of each word, an RNN over the words.

Keras 3 passes the wrapped layer its step of the mask ((N, W, C) -> (N*W, C) for a char
RNN) and keeps the input's (N, W, C) mask on TimeDistributed's output, which a following
RNN reads as "a word is masked when all its characters are". The ids hold padding at the
end, start and middle of words, an all-padding word (a fully masked char sequence) and an
all-padding sentence.
"""

import numpy as np
import pytest
import yaml
from test_streaming import stream_check

from cli_util import tdc
from compiler.frontend.loader import load_model
from compiler.keras.oracle import call_layer, import_keras, make_layer, pick
from oracle import check_inputs, compile_with_random_weights, td, write_model

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

RNNS = ("SimpleRNN", "LSTM", "GRU")

#: (batch 4, words 5, chars 6): 0 is padding.
IDS = np.array(
    [
        [[3, 5, 7, 0, 0, 0], [0, 0, 4, 9, 1, 2], [0, 0, 0, 0, 0, 0], [8, 0, 6, 0, 5, 0], [1] * 6],
        [[0] * 6] * 5,
        [[2, 4, 6, 8, 1, 3], [9, 0, 0, 0, 0, 0], [5, 5, 0, 5, 5, 0], [7, 1, 0, 0, 0, 0], [0] * 6],
        [[0] * 6, [6, 2, 0, 0, 0, 0], [0] * 6, [0] * 6, [3, 3, 3, 3, 3, 3]],
    ],
    dtype=np.int32,
)


def chars_model(*layers: dict, shape: list | None = None) -> dict:
    """(N, W, 6) ids -> Embedding(mask_zero) -> ``layers``."""
    emb = {"name": "emb", "type": "Embedding", "input_dim": 10, "output_dim": 4}
    return {
        "inputs": {"ids": {"shape": shape or [None, 6], "dtype": "int32"}},
        "layers": [{**emb, "mask_zero": True}, *layers],
    }


def rnn(kind: str, units: int = 3, **kw) -> dict:
    return {"type": kind, "units": units, **kw}


def words(kind: str = "LSTM", **kw) -> dict:
    return {"name": "words", **rnn(kind, 5, return_sequences=True), **kw}


# -- character RNN -> word RNN -------------------------------------------------------------


@pytest.mark.parametrize("kind", RNNS)
def test_char_rnn_last_into_word_lstm(tmp_path, kind):
    check_inputs(tmp_path, chars_model(td(rnn(kind), "chars"), words()), [IDS])


@pytest.mark.parametrize("kind", RNNS)
def test_char_rnn_sequences_into_char_rnn_into_word_lstm(tmp_path, kind):
    """return_sequences: the (N, W, C, 3) output keeps the (N, W, C) mask for the next
    TimeDistributed RNN over the characters."""
    layers = td(rnn(kind, return_sequences=True)), td(rnn("GRU")), words()
    check_inputs(tmp_path, chars_model(*layers), [IDS])


@pytest.mark.parametrize("kind", RNNS)
def test_char_rnn_sequences_alone(tmp_path, kind):
    check_inputs(tmp_path, chars_model(td(rnn(kind, return_sequences=True))), [IDS])


def test_char_rnn_sequences_masked_average_into_words(tmp_path):
    """GlobalAveragePooling1D per word over its valid characters (an all-padding word
    averages nothing: NaN in Keras too), then the word LSTM skips that word."""
    layers = td(rnn("LSTM", return_sequences=True)), td({"type": "GlobalAveragePooling1D"})
    check_inputs(tmp_path, chars_model(*layers), [IDS])
    check_inputs(tmp_path, chars_model(*layers, words("GRU")), [IDS])


@pytest.mark.parametrize("seqs", [True, False])
def test_chained_model_feeding_dense(tmp_path, seqs):
    layers = td(rnn("LSTM"), "chars"), words(return_sequences=seqs), {"type": "Dense", "units": 2}
    check_inputs(tmp_path, chars_model(*layers), [IDS])


def test_fixed_word_count(tmp_path):
    m = chars_model(td(rnn("GRU"), "chars"), words("SimpleRNN"), shape=[5, 6])
    check_inputs(tmp_path, m, [IDS])


@pytest.mark.parametrize("seqs", [False, True])
def test_td_bidirectional_chars(tmp_path, seqs):
    bi = {"type": "Bidirectional", "layer": rnn("LSTM", 2, return_sequences=seqs)}
    tail = [td({"type": "GlobalAveragePooling1D"})] if seqs else []
    check_inputs(tmp_path, chars_model(td(bi), *tail, words()), [IDS])
    if seqs:  # the (N, W, C, 4) sequences themselves, zero at masked characters
        check_inputs(tmp_path, chars_model(td({**bi, "merge_mode": "sum"})), [IDS])


# -- what reads the (N, W, C) mask after TimeDistributed --------------------------------


@pytest.mark.parametrize(
    "tail",
    [
        [words("GRU", go_backwards=True)],
        [words("LSTM", return_sequences=False)],
        [{"type": "Dense", "units": 4}, {"type": "LayerNormalization"}, words("GRU")],
        [{"type": "Bidirectional", "layer": rnn("LSTM", 2, return_sequences=True)}],
        [{"type": "Bidirectional", "layer": rnn("SimpleRNN", 2)}],
        [words("LSTM"), words("GRU", name="words2")],
    ],
    ids=["backwards", "last", "dense-norm", "bi-seq", "bi-last", "stacked"],
)
def test_word_layers_read_the_char_mask(tmp_path, tail):
    check_inputs(tmp_path, chars_model(td(rnn("LSTM"), "chars"), *tail), [IDS])


@pytest.mark.parametrize("merge", ["Add", "Subtract", "Average", "Concatenate"])
def test_merged_char_encoders_into_words(tmp_path, merge):
    """Two character encoders merged: Add ORs their (N, W, C) masks; Concatenate on the
    last axis gives Keras's any-reduced (N, W) mask."""
    m = chars_model(
        td(rnn("LSTM"), "a"),
        {**td(rnn("GRU")), "name": "b", "inputs": ["emb"]},
        {"type": merge, "inputs": ["a", "b"], "name": "m"},
        words(),
    )
    check_inputs(tmp_path, m, [IDS])


def test_concatenate_time_axis_of_equal_char_masks(tmp_path):
    m = chars_model(
        td(rnn("LSTM"), "a"),
        {"type": "Concatenate", "axis": 1, "inputs": ["a", "a"]},
        words(),
    )
    check_inputs(tmp_path, m, [IDS])


def test_nested_time_distributed(tmp_path):
    """(N, S, W, C) ids: TimeDistributed(TimeDistributed(LSTM)) over characters, then
    TimeDistributed(LSTM) over the words of each sentence."""
    ids = np.stack([IDS, IDS[::-1], IDS[:, ::-1]], axis=1)  # (4, 3, 5, 6)
    m = chars_model(td(td(rnn("LSTM"))), td(rnn("GRU", 2)), shape=[None, 5, 6])
    check_inputs(tmp_path, m, [ids])


# -- wrapped layers that do not read the mask; masks the wrapped layer makes ---------


@pytest.mark.parametrize(
    "layer",
    [
        {"type": "Dense", "units": 3},
        {"type": "Conv1D", "filters": 3, "kernel_size": 3, "padding": "same"},
    ],
    ids=["dense", "conv-same"],
)
def test_td_non_reader_then_char_rnn(tmp_path, layer):
    """The wrapped layer ignores the mask; the output keeps it for the char RNN after."""
    check_inputs(tmp_path, chars_model(td(layer), td(rnn("SimpleRNN")), words()), [IDS])


def features() -> np.ndarray:
    """(4, 5, 6, 2) floats, all-zero where IDS is padding (one zero feature elsewhere)."""
    x = np.random.default_rng(3).normal(0.0, 1.0, (*IDS.shape, 2)).astype(np.float32)
    x[IDS == 0] = 0.0
    x[0, 0, 0, 1] = 0.0  # one zero feature does not mask the character
    return x


def float_model(*layers: dict) -> dict:
    return {"inputs": {"x": {"shape": [None, 6, 2]}}, "layers": list(layers)}


@pytest.mark.parametrize("kind", RNNS)
def test_masking_4d_into_td_rnn(tmp_path, kind):
    m = float_model({"type": "Masking"}, td(rnn(kind)), words())
    check_inputs(tmp_path, m, [features()])


def test_masks_made_inside_are_dropped(tmp_path):
    """Keras keeps TimeDistributed's input mask (none here), not one the wrapped Masking or
    Embedding(mask_zero) makes: the char RNN after it runs unmasked."""
    m = float_model(td({"type": "Masking"}), td(rnn("LSTM")), words())
    check_inputs(tmp_path, m, [features()])
    emb = {"type": "Embedding", "input_dim": 10, "output_dim": 4, "mask_zero": True}
    m = {"inputs": {"ids": {"shape": [None, 6], "dtype": "int32"}}, "layers": [td(emb)]}
    m["layers"] += [td(rnn("GRU")), words()]
    check_inputs(tmp_path, m, [IDS])


# -- streaming: the word axis is the stream ------------------------------------------------


def test_char_encoder_streams_word_by_word(tmp_path):
    m = chars_model(td(rnn("LSTM"), "chars"), words("GRU"), {"type": "Dense", "units": 2})
    stream_check(compile_with_random_weights(tmp_path, m), [IDS])


# -- refused, where Keras fails too ----------------------------------------------------------

CHARS = td(rnn("LSTM"), "chars")
REPEAT = td({"type": "RepeatVector", "n": 3}, "rep")
SENTS = np.stack([IDS, IDS[::-1]], axis=1)  # (4, 2, 5, 6)


def words_model(*layers: dict) -> dict:
    """(N, W) ids -> Embedding(mask_zero) -> ``layers``: a (batch, time) mask."""
    emb = {"name": "we", "type": "Embedding", "input_dim": 10, "output_dim": 3}
    return {
        "inputs": {"ids": {"shape": [None], "dtype": "int32"}},
        "layers": [{**emb, "mask_zero": True}, *layers],
    }


def two_masks(merge: dict) -> dict:
    """Char ids and word ids: an (N, W, C) and an (N, W) mask into ``merge``."""
    m = chars_model(CHARS)
    m["layers"][0]["inputs"] = ["ids"]
    m["inputs"]["wids"] = {"shape": [None], "dtype": "int32"}
    emb = {"name": "we", "type": "Embedding", "input_dim": 10, "output_dim": 3}
    m["layers"] += [{**emb, "mask_zero": True, "inputs": ["wids"]}, merge]
    return m


def bad(kind: str, **kw) -> dict:
    return {"name": "bad", "type": kind, **kw}


def dense_and(merge: str) -> list[dict]:
    """Dense on the char encoder, merged with it: two inputs with the (N, W, C) mask."""
    return [{"name": "d", "type": "Dense", "units": 3}, bad(merge, inputs=["chars", "d"])]


#: case -> (model, its inputs): each refused at layer 'bad', where Keras fails too.
REFUSED = {
    "average": (chars_model(CHARS, bad("GlobalAveragePooling1D")), [IDS]),
    "maximum": (chars_model(CHARS, *dense_and("Maximum")), [IDS]),
    "multiply": (chars_model(CHARS, *dense_and("Multiply")), [IDS]),
    "unroll": (chars_model(CHARS, bad("LSTM", units=2, unroll=True), shape=[5, 6]), [IDS]),
    "bi-unroll": (
        chars_model(CHARS, bad("Bidirectional", layer=rnn("GRU", 2, unroll=True)), shape=[5, 6]),
        [IDS],
    ),
    "conv-valid": (
        chars_model(td({"type": "Conv1D", "filters": 2, "kernel_size": 3}), td(rnn("LSTM"), "bad")),
        [IDS],
    ),
    "rank4-rnn": (words_model(REPEAT, td(rnn("LSTM"), "bad")), [IDS[:, :, 0]]),
    "rank4-average": (
        words_model(REPEAT, td({"type": "GlobalAveragePooling1D"}, "bad")),
        [IDS[:, :, 0]],
    ),
    "nested-1d-mask": (
        words_model(REPEAT, td(td({"type": "Dense", "units": 2}), "bad")),
        [IDS[:, :, 0]],
    ),
    "rank4-mask": (
        chars_model(
            td(td(rnn("LSTM"))), td(rnn("GRU", 2)), bad("LSTM", units=2), shape=[None, 5, 6]
        ),
        [SENTS],
    ),
    "add-mixed": (two_masks(bad("Add", inputs=["chars", "we"])), [IDS, IDS[:, :, 0]]),
    "concat-time-mixed": (
        two_masks(bad("Concatenate", axis=1, inputs=["chars", "we"])),
        [IDS, IDS[:, :, 0]],
    ),
}


def keras_fails(path, xs: list[np.ndarray]) -> bool:
    """Whether Keras itself fails to build or run the model file on ``xs``."""
    keras = import_keras()
    spec = load_model(path)
    try:
        tensors = {i.name: [keras.Input(shape=i.shape, dtype=i.dtype)] for i in spec.inputs}
        for lay in spec.layers:
            ins = [pick(tensors, n) for n in lay.inputs]
            tensors[lay.name] = call_layer(make_layer(keras, lay, lay.name), lay, ins)
        ins = [tensors[i.name][0] for i in spec.inputs]
        model = keras.Model(ins, [pick(tensors, n) for n in spec.outputs])
        model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    except Exception:  # noqa: BLE001 - any failure of Keras counts
        return True
    return False


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_where_keras_fails(tmp_path, case):
    m, xs = REFUSED[case]
    path = write_model(tmp_path, m)
    code, out, err = tdc("compile", path, "--target", "onnx", "-o", tmp_path / "m.onnx")
    assert code == 2, out + err
    line = load_model(path).layer_lines()["bad"]
    assert f"line {line}: layer 'bad'" in err and "accepted" in err, err
    assert "Traceback" not in err and not (tmp_path / "m.onnx").exists()
    assert keras_fails(path, xs)


def test_refusal_rows_are_not_refused_without_the_mask(tmp_path):
    """The same models without mask_zero compile, and Keras runs them: the refusal is
    about the mask."""
    for case in ("average", "unroll", "conv-valid", "rank4-rnn"):
        m, xs = REFUSED[case]
        m = yaml.safe_load(yaml.safe_dump(m))
        m["layers"][0]["mask_zero"] = False
        path = write_model(tmp_path, m, case)
        code, out, err = tdc("compile", path, "--target", "onnx", "-o", tmp_path / f"{case}.onnx")
        assert code == 0, (case, err)
        assert not keras_fails(path, xs), case
