"""Text on its way into generated Python: names, file names, labels, reasons.

Every string that reaches a generated module and did not come out of ``Names`` (which
makes identifiers) passes through :func:`code_text`, which makes it safe for one place:

- ``"literal"``: a one-line Python string literal whose value is the text itself;
- ``"comment"``: text for the rest of a ``#`` line;
- ``"docstring"``: text inside a ``\"\"\"`` docstring (its value is the text again).

Comment and docstring text is cut to :data:`MAX_TEXT` characters, and every character
that is not printable (line breaks of any kind, NUL, form feeds, bidirectional controls,
...) is written as its escape (``\\n``, ``\\u2028``), so the text stays on its line.

The result is a :class:`Safe`; the template environment's ``finalize`` (:func:`finalize`)
refuses any other string that could open a string, a comment or a new line, so text that
skipped ``code_text`` fails loudly instead of reaching the module.
"""

from __future__ import annotations

import re
from typing import Any, Literal

Place = Literal["literal", "comment", "docstring"]

#: Longest comment or docstring text (characters of the original, before escaping).
MAX_TEXT = 160

#: What a template may print without ``code_text``: code built by the compiler, in which
#: a quote may only enclose a plain word (a weight key), and no comment, escape or line
#: break can start.
INERT = re.compile(r'(?:[A-Za-z0-9_ .,:;()\[\]{}+\-*/<>=!%&|^~@]|"[A-Za-z0-9_./\-]*")*')


class Safe(str):
    """Text made safe for its place in generated code by :func:`code_text`."""

    __slots__ = ()


class UnescapedText(ValueError):
    """A template was about to print a string that did not go through ``code_text``."""


def code_text(value: Any, place: Place = "literal") -> Safe:
    """``value`` (as ``str``) made safe for ``place`` in generated Python code."""
    text = str(value)
    if place == "literal":
        return Safe(_literal(text))
    if place not in ("comment", "docstring"):
        raise ValueError(f"unknown place {place!r} for text in generated code")
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 3] + "..."
    return Safe("".join(_char(c, place == "docstring") for c in text))


def _literal(text: str) -> str:
    """``repr`` (one line, every unprintable character escaped), in double quotes where
    the text holds none."""
    r = repr(text)
    return r if '"' in text else '"' + r[1:-1] + '"'


def _char(c: str, docstring: bool) -> str:
    if docstring and c in '\\"':
        return "\\" + c
    if c.isprintable():
        return c
    return repr(c)[1:-1]  # "\n", "\x00", "\u2028": an escape of plain ASCII characters


def rendered(text: str) -> Safe:
    """Code that a template rendered under :func:`finalize` (an op's function), for
    inclusion in the module's template."""
    return Safe(text)


def finalize(value: Any) -> Any:
    """Jinja2 ``finalize``: lets through ``Safe`` text, non-strings and inert code only."""
    if isinstance(value, str) and not isinstance(value, Safe) and not INERT.fullmatch(value):
        raise UnescapedText(f"text reached generated code without code_text: {value[:60]!r}")
    return value
