"""``tdc import`` refusals grouped by layer type and reason: a message that fits on a screen."""

from __future__ import annotations

from typing import Any

import pytest

from cli_util import tdc
from compiler.keras.oracle import import_keras
from compiler.keras.problems import MAX_KINDS, ImportRefused, Problem, group, summary

keras = import_keras()


@keras.saving.register_keras_serializable(package="tdc_test_errors")
class Doubler(keras.layers.Layer):
    """A custom layer: it loads safely, and tdc cannot know it."""

    def call(self, x: Any) -> Any:
        return x * 2.0


@keras.saving.register_keras_serializable(package="tdc_test_errors")
class Halver(keras.layers.Layer):
    """Another custom layer."""

    def call(self, x: Any) -> Any:
        return x * 0.5


def _lines(err: str) -> list[str]:
    return err.rstrip("\n").split("\n")


def test_groups_count_and_cut_examples():
    problems = [Problem(f"n{k}", "Scale", "layer type not supported") for k in range(30)]
    problems += [Problem("d", "Dense", "argument x=1 is not supported")]
    problems += [Problem(f"m{k}", "Normalization", "layer type not supported") for k in range(4)]
    groups = group(problems)
    assert [(g.typ, len(g.names)) for g in groups] == [("Scale", 30), ("Normalization", 4),
                                                       ("Dense", 1)]  # fmt: skip
    lines = summary(problems)
    assert lines[0] == "30 layers (Scale): layer type not supported (e.g. 'n0', 'n1', 'n2')"
    assert lines[2] == "'d' (Dense): argument x=1 is not supported"
    assert len(lines) == 3


def test_many_kinds_are_cut_to_a_screen():
    problems = [Problem(f"l{k}", f"T{k}", "layer type not supported") for k in range(50)]
    err = ImportRefused(problems, file="big.keras", accepted="layer types A, B")
    lines = str(err).split("\n")
    assert len(lines) <= 20, lines
    assert lines[0] == "big.keras: cannot import 50 layer(s):"
    assert lines[-2] == f"  and {50 - MAX_KINDS} more kinds of problem"
    assert lines[-1] == "  (accepted: layer types A, B)"


def test_one_kind_stays_one_line_and_names_cannot_break_lines():
    problems = [Problem("evil\nname", "Scale", "layer type not supported")] * 2
    text = str(ImportRefused(problems, file="a\nb.keras", accepted=None))
    assert "\n" not in text
    assert text == "a b.keras: cannot import 1 layer(s) (2 problems): " + (
        "'evil\\nname' (Scale): layer type not supported"
    )
    long = [Problem("x", "Dense", "argument units=" + "9" * 5000 + " is not supported")]
    assert len(str(ImportRefused(long, file=None, accepted=None))) < 300


@pytest.mark.slow
def test_thirty_custom_layers_fit_on_a_screen(tmp_path):
    """30 layers of one custom class, 3 of another, one bad argument: three counted lines."""
    x = inp = keras.Input((None, 4), batch_size=2, name="x")
    for k in range(30):
        x = Doubler(name=f"double{k}")(x)
    for k in range(3):
        x = Halver(name=f"half{k}")(x)
    x = keras.layers.LSTM(4, stateful=True, return_sequences=True, name="rnn")(x)
    src = tmp_path / "many.keras"
    keras.Model(inp, x).save(src)
    code, out, err = tdc("import", src, "-o", tmp_path / "out" / "m.yaml")
    assert code == 2 and out == "" and "Traceback" not in err, err
    lines = _lines(err)
    assert len(lines) <= 20, err
    assert lines[0] == f"tdc: error: {src}: cannot import 34 layer(s):", err
    assert "  30 layers (Doubler): layer type not supported (e.g. 'double0', 'double1', " \
        "'double2')" in lines, err  # fmt: skip
    assert "  3 layers (Halver): layer type not supported (e.g. 'half0', 'half1', 'half2')" \
        in lines, err  # fmt: skip
    assert any(line.startswith("  'rnn' (LSTM): argument stateful=True") for line in lines), err
    assert lines[-1].startswith("  (accepted: layer types ") and "more" in lines[-1], err
    assert err.count("double") == 3, err
    assert not (tmp_path / "out").exists()
