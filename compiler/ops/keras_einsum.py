"""Einsum equations: parsed (letters, ``,``, ``->``, ``...``), bound to operand shapes and
checked to keep every tensor's batch axis as the output's axis 0."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import TdcError
from ..ir.graph import Dim, Shape
from ..ir.registry import StepRefused
from .keras_base import broadcast
from .merge import unify

if TYPE_CHECKING:
    from ..ir.graph import Value

DOTS = "..."
MAX_EQUATION = 200
ACCEPTED = "an einsum equation of letters, ',', '->' and '...', e.g. 'btf,bsf->bts'"


@dataclass
class Equation:
    """Terms and output as lists of labels (letters and ``...``); once bound, the
    operands' shapes (``dims``: letter -> dim, ``dots``: the broadcast ``...`` dims)."""

    terms: list[list[str]]
    out: list[str]
    shapes: list[Shape] = field(default_factory=list)
    tensors: list[bool] = field(default_factory=list)
    dims: dict[str, Dim] = field(default_factory=dict)
    dots: Shape = ()

    def text(self) -> str:
        return ",".join("".join(t) for t in self.terms) + "->" + "".join(self.out)

    def bind(self, shapes: list[Shape], tensors: list[bool]) -> Equation:
        """This equation on operands of ``shapes`` (``tensors``: which are tensors)."""
        if len(shapes) != len(self.terms):
            raise TdcError(
                f"einsum equation '{self.text()}' has {len(self.terms)} operand(s), "
                f"got {len(shapes)}"
            )
        eq = Equation(self.terms, self.out, list(shapes), list(tensors))
        dots = []
        for term, shape in zip(self.terms, shapes, strict=True):
            letters = [t for t in term if t != DOTS]
            n_dots = len(shape) - len(letters)
            if n_dots < 0 or (n_dots > 0 and DOTS not in term):
                raise TdcError(
                    f"einsum term '{''.join(term)}' does not fit an operand of rank "
                    f"{len(shape)} (the batch axis included)"
                )
            k = term.index(DOTS) if DOTS in term else len(term)
            dots.append(tuple(shape[k : k + n_dots]))
            rest = list(shape[:k]) + list(shape[k + n_dots :])
            for t, d in zip(letters, rest, strict=True):
                eq.dims[t] = eq.letter(t, d)
        eq.dots = broadcast([], dots) if any(dots) else ()
        eq.check_batch()
        return eq

    def letter(self, t: str, d: Dim) -> Dim:
        """The size of letter ``t`` seen once more with ``d``."""
        if t not in self.dims:
            return d
        try:
            return unify(self.dims[t], d, [], False)
        except TdcError:
            raise TdcError(
                f"einsum '{self.text()}': letter '{t}' has sizes {self.dims[t]} and {d}"
            ) from None

    def check_batch(self) -> None:
        """Every tensor's axis 0 is the output's axis 0, and in no constant."""
        first = self.out[0] if self.out else None
        longest = len(self.dots)
        for term, shape, tensor in zip(self.terms, self.shapes, self.tensors, strict=True):
            lead_dots = term[0] == DOTS and len(shape) - len(term) + 1 == longest > 0
            if not tensor:
                reaches = lead_dots if first == DOTS else first in term
                if reaches:
                    self._refuse(f"a constant operand reaches the batch axis, so '{first}'")
                continue
            if first is None or term[0] != first or (first == DOTS and not lead_dots):
                self._refuse(f"the batch axis of operand '{''.join(term)}'")

    def _refuse(self, why: str) -> None:
        raise TdcError(
            f"einsum '{self.text()}' does not keep the batch axis: {why} is not the "
            "output's axis 0",
            accepted="each tensor's first letter (or a leading '...') also first in the output",
        )

    def out_shape(self, values: list[Value]) -> Shape:
        out: list[Dim] = []
        for t in self.out:
            out += list(self.dots) if t == DOTS else [self.dims[t]]
        return tuple(out)

    def size(self) -> int:
        """Multiplications: every letter's size times the ``...`` dims (symbols as 1)."""
        dims = [*self.dims.values(), *self.dots]
        return math.prod(d if isinstance(d, int) else 1 for d in dims)

    def without_time(self) -> Equation:
        """The equation on one time step: each tensor's second letter (the same one,
        second in the output too, in no constant) dropped."""
        tensor_terms = [t for t, x in zip(self.terms, self.tensors, strict=True) if x]
        seconds = {t[1] if len(t) > 1 else None for t in tensor_terms}
        time = seconds.pop() if len(seconds) == 1 else None
        consts = [t for t, x in zip(self.terms, self.tensors, strict=True) if not x]
        ok = time not in (None, DOTS) and self.out[1:2] == [time]
        if not ok or DOTS in self.out[:1] or any(time in t for t in consts):
            raise StepRefused("mixes time steps")
        pairs = zip(self.terms, self.tensors, strict=True)
        terms = [[c for c in t if c != time] if x else t for t, x in pairs]
        return Equation(terms, [c for c in self.out if c != time])


def parse_subscripts(text: str) -> Equation:
    """``text`` as an ``Equation``; ValueError when not accepted."""
    if not isinstance(text, str) or len(text) > MAX_EQUATION:
        raise ValueError(ACCEPTED)
    body = text.replace(" ", "")
    lhs, arrow, rhs = body.partition("->")
    if "->" in rhs:
        raise ValueError(ACCEPTED + ": '->' once")
    terms = [_labels(t) for t in lhs.split(",")]
    if arrow:
        out = _labels(rhs)
    else:
        letters = [c for t in terms for c in t if c != DOTS]
        once = sorted(c for c in set(letters) if letters.count(c) == 1)
        out = ([DOTS] if any(DOTS in t for t in terms) else []) + once
    seen = {c for t in terms for c in t}
    missing = [c for c in out if c not in seen]
    if missing or len(set(out)) != len(out):
        raise ValueError(ACCEPTED + ": output letters once each, each in an operand")
    return Equation(terms, out)


def _labels(term: str) -> list[str]:
    """The labels of one term; each letter at most once, ``...`` at most once."""
    if term.count(DOTS) > 1 or term.replace(DOTS, "").count("."):
        raise ValueError(ACCEPTED)
    head, dots, tail = term.partition(DOTS)
    letters = head + tail
    plain = all(c.isascii() and c.isalpha() for c in letters)
    if not plain or len(set(letters)) != len(letters):
        raise ValueError(ACCEPTED + ": letters, each once per operand")
    return list(head) + ([DOTS] if dots else []) + list(tail)
