"""The one error type for bad input: it becomes exit code 2 and a single message."""

from __future__ import annotations


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
        """Fill in whatever context the raiser did not know."""
        self.file = self.file or file
        self.line = self.line or line
        self.layer = self.layer or layer
        return self

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f", line {self.line}" if self.line else "")
            where += (f", column {self.column}" if self.line and self.column else "") + ": "
        who = f"layer '{self.layer}': " if self.layer else ""
        tail = f" (accepted: {self.accepted})" if self.accepted else ""
        return f"{where}{who}{self.message}{tail}"


class VerificationMismatch(Exception):
    """Backends disagree with Keras: exit code 1."""
