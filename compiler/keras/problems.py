"""The problems ``tdc import`` found, grouped into one message that fits on a screen.

A model with hundreds of layers of one unsupported type gives one line, not hundreds:
problems with the same layer type and reason form a group, printed with its count and a
few example names (``30 layers (Scale): layer type not supported (e.g. 'a', 'b', 'c')``).
A group of one keeps the plain form ``'name' (Type): reason``. At most ``MAX_KINDS``
groups are printed, the largest first, then ``and N more kinds of problem``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from ..errors import TdcError, listing, short

#: Groups printed at most; with the heading, the rest count and the accepted types the
#: message stays within 20 lines.
MAX_KINDS = 16
#: Example names printed per group.
EXAMPLES = 3
#: Characters per line at most (a reason may quote a long argument value).
LINE_LIMIT = 200


class Problem(NamedTuple):
    """One reason one layer (or input, or wrapped layer) cannot be imported."""

    name: str
    typ: str
    why: str


class Group(NamedTuple):
    """The layers that share a type and a reason, in the order they were found."""

    typ: str
    why: str
    names: list[str]


def one_line(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).splitlines())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def group(problems: Iterable[Problem]) -> list[Group]:
    """Problems grouped by (type, reason): the largest group first, ties in found order."""
    groups: dict[tuple[str, str], list[str]] = {}
    for p in problems:
        names = groups.setdefault((p.typ, p.why), [])
        if p.name not in names:
            names.append(p.name)
    found = [Group(typ, why, names) for (typ, why), names in groups.items()]
    return sorted(found, key=lambda g: -len(g.names))  # stable: ties keep found order


def describe(g: Group) -> str:
    """One line for a group: ``'name' (Type): why`` or ``N layers (Type): why (e.g. ...)``."""
    if len(g.names) == 1:
        return one_line(f"{short(g.names[0])} ({g.typ}): {g.why}")
    examples = listing((short(n) for n in g.names[:EXAMPLES]), limit=EXAMPLES)
    return one_line(f"{len(g.names)} layers ({g.typ}): {g.why} (e.g. {examples})")


def summary(problems: list[Problem], max_kinds: int = MAX_KINDS) -> list[str]:
    """The lines of the message body: one per group, then how many kinds were left out."""
    groups = group(problems)
    lines = [describe(g) for g in groups[:max_kinds]]
    if len(groups) > max_kinds:
        lines.append(f"and {len(groups) - max_kinds} more kinds of problem")
    return lines


def unknown_type(problems: list[Problem]) -> bool:
    """True when some problem is a layer type tdc does not know."""
    return any("type not supported" in p.why for p in problems)


def accepted_types(types: list[str], limit: int = 10) -> str:
    """The accepted layer types, short (as the model-file loader gives them): the first
    few names and how many more."""
    names = sorted(t for t in types if not t.startswith("ops."))
    return f"layer types {listing(names, limit=limit)}"


class ImportRefused(TdcError):
    """``tdc import`` refused: a heading, then one line per kind of problem.

    One kind of problem stays on one line, as every other error does; several kinds give
    one line each, so the message fits on a screen however large the model is.
    """

    def __init__(self, problems: list[Problem], *, file: str | None, accepted: str | None) -> None:
        layers = len({p.name for p in problems})
        heading = f"cannot import {layers} layer(s)"
        if len(problems) > layers:
            heading += f" ({len(problems)} problems)"
        super().__init__(heading, file=file, accepted=accepted)
        self.details = summary(problems)

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        tail = f"(accepted: {self.accepted})" if self.accepted else ""
        if len(self.details) == 1:
            parts = [f"{where}{self.message}: {self.details[0]}", tail]
            return one_line(" ".join(p for p in parts if p), limit=4 * LINE_LIMIT)
        lines = [one_line(f"{where}{self.message}:", limit=4 * LINE_LIMIT)]
        lines += ["  " + d for d in self.details]
        if tail:
            lines.append("  " + one_line(tail))
        return "\n".join(lines)
