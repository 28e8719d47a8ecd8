"""The one error type for bad input: it becomes exit code 2 and a single message."""

from __future__ import annotations

import reprlib
from typing import Any


class TdcError(Exception):
    """Bad input: names the file, the line, the layer and what is accepted."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        layer: str | None = None,
        accepted: str | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.layer = layer
        self.accepted = accepted
        self.column = column

    def with_context(
        self, *, file: str | None = None, line: int | None = None, layer: str | None = None
    ) -> TdcError:
        """Fill in whatever context the raiser did not know.

        A line belongs to its file: an error that already names another file (the weights
        file, an input array) does not get the model file's line.
        """
        if self.file is None or self.file == file:
            self.line = self.line or line
        self.file = self.file or file
        self.layer = self.layer or layer
        return self

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f", line {self.line}" if self.line else "")
            where += (f", column {self.column}" if self.line and self.column else "") + ": "
        who = f"layer '{self.layer}': " if self.layer else ""
        tail = f" (accepted: {self.accepted})" if self.accepted else ""
        return " ".join(f"{where}{who}{self.message}{tail}".splitlines())


class VerificationMismatch(Exception):
    """Backends disagree with Keras: exit code 1."""


_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = 6
_REPR.maxlevel = 3


def short(value: Any) -> str:
    """``repr`` cut short: a value quoted in a message (a 1 MB string, an alias bomb) stays
    one short line."""
    try:
        text = _REPR.repr(value)
    except ValueError:  # an integer too long to print
        return "<a number too long to print>"
    return text if len(text) <= 120 else text[:117] + "..."


def listing(items: Any, limit: int = 10, sep: str = ", ") -> str:
    """A list quoted in a message, cut to its first ``limit`` entries: ``a, b, ... and 7 more``.

    Every list a message prints goes through here, so a weights file of 100,000 keys or a
    model of 10,000 layers still gives one line that fits on a screen.
    """
    items = [str(x) for x in items]
    if len(items) <= limit:
        return sep.join(items)
    return sep.join(items[:limit]) + f"{sep}and {len(items) - limit} more"


def did_you_mean(value: Any, names: Any, close: bool = False) -> str:
    """``"; did you mean 'relu'?"`` when ``value`` is an accepted name in the wrong case (or,
    with ``close``, a near miss such as ``kernal_size``); otherwise ``""``. A hint only:
    nothing is ever accepted on its strength."""
    if not isinstance(value, str) or len(value) > 200:
        return ""
    names = [str(n) for n in names]
    same = [n for n in names if n.lower() == value.lower() and n != value]
    if same:
        return f"; names are case-sensitive: did you mean '{same[0]}'?"
    if close:
        import difflib

        near = difflib.get_close_matches(value, names, n=1, cutoff=0.8)
        if near:
            return f"; did you mean '{near[0]}'?"
    return ""
