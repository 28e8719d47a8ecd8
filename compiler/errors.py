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
