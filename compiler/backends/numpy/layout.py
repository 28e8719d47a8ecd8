"""Lines of a generated module kept within :data:`WIDTH` columns.

Templates and the compiler keep their own text short; what can make a line long are the
names and strings of a model (a 128-character layer name, a long file name, a call with
many weights). :func:`fit` breaks such lines the way a person would, and only in ways that
keep the module's meaning (checked: the module's AST is unchanged, else the text is
returned as it was):

- a call, signature, subscript or display: a line break after its opening bracket, its
  items on the next line (one per line, or filled when they are numbers), the closing
  bracket on a line of its own;
- a long string literal: the implicit concatenation of pieces (in parentheses when it is
  not already inside brackets), cut between escape sequences;
- a comment: more comment lines at the same indentation;
- a docstring line: a backslash line continuation (the docstring's value stays the same).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import unicodedata

WIDTH = 100
INDENT = "    "

_TOKEN = re.compile(
    r"""(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    |(?P<comment>\#.*)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<comma>,)
    |(?P<other>[^"'#()\[\]{},]+)""",
    re.X,
)
#: One character of a string literal's or docstring's source: an escape sequence or not.
_ATOM = re.compile(r"\\(?:x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|.)|.", re.S)
_NUMBER = re.compile(r"-?[0-9][0-9.e+\-]*")


def width(text: str) -> int:
    """Columns ``text`` takes in an editor (East Asian wide characters count two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def fit(text: str, limit: int = WIDTH) -> str:
    """``text`` (a module) with every line within ``limit`` columns where it can be."""
    lines = text.split("\n")
    if all(width(line) <= limit for line in lines):
        return text
    in_string, depth = _scan(text)
    out: list[str] = []
    for row, line in enumerate(lines, start=1):
        if width(line) <= limit:
            out.append(line)
        elif row in in_string:
            out.extend(_docstring(line, *in_string[row], limit))
        else:
            out.extend(_fit(line, limit, bracketed=depth.get(row, 0) > 0))
    fitted = "\n".join(out)
    try:
        same = ast.dump(ast.parse(fitted)) == ast.dump(ast.parse(text))
    except SyntaxError:
        same = False
    return fitted if same else text


def _scan(text: str) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """Rows inside a multi-line string (row -> first and end column of its string text),
    and the brackets open where each row starts."""
    rows: dict[int, tuple[int, int]] = {}
    depth: dict[int, int] = {}
    level = 0
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        (r0, c0), (r1, c1) = tok.start, tok.end
        depth.setdefault(r0, level)
        if tok.type == tokenize.OP and tok.string in "([{":
            level += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            level -= 1
        if tok.type != tokenize.STRING or r0 == r1 or not tok.string.startswith('"""'):
            continue
        for r in range(r0, r1 + 1):
            rows[r] = (c0 + 3 if r == r0 else 0, c1 - 3 if r == r1 else 1 << 30)
    return rows, depth


def _docstring(line: str, first: int, end: int, limit: int) -> list[str]:
    """A docstring line cut with backslash continuations (the next piece starts at column
    0, so the docstring's value is unchanged)."""
    head, text, tail = line[:first], line[first : min(end, len(line))], line[min(end, len(line)) :]
    pieces = _chunks(text, limit - 1 - width(head), limit - 1, width(tail) + 1)
    pieces[0] = head + pieces[0]
    pieces[-1] += tail
    return [p + "\\" for p in pieces[:-1]] + [pieces[-1]]


def _chunks(text: str, first: int, room: int, last_extra: int = 0) -> list[str]:
    """``text`` cut between atoms into pieces of at most ``first`` (the first) and ``room``
    columns, the last leaving ``last_extra`` columns free; a cut after a space is
    preferred."""
    atoms = _ATOM.findall(text)
    pieces: list[str] = []
    while atoms:
        cap = max(first if not pieces else room, 8)
        take, used = 0, 0
        while take < len(atoms) and used + width(atoms[take]) <= cap:
            used += width(atoms[take])
            take += 1
        while take == len(atoms) and take > 1 and used + last_extra > cap:
            take -= 1  # leave room after the last piece: the rest goes on
            used -= width(atoms[take])
        take = max(take, 1)
        spaces = [k + 1 for k in range(take) if atoms[k] == " "]
        if take < len(atoms) and spaces and spaces[-1] > take * 2 // 3:
            take = spaces[-1]
        pieces.append("".join(atoms[:take]))
        atoms = atoms[take:]
    return pieces or [""]


def _fit(line: str, limit: int, bracketed: bool) -> list[str]:
    if width(line) <= limit:
        return [line]
    ind = line[: len(line) - len(line.lstrip(" "))]
    body = line[len(ind) :]
    if body.startswith("#"):
        text = body[1:].lstrip(" ")
        room = limit - width(ind) - 2
        return [f"{ind}# {piece.rstrip()}" for piece in _chunks(text, room, room)]
    toks = _lex(body)
    if toks is None or any(kind == "comment" for kind, _ in toks):
        return [line]
    for split in (_rhs_split, _bracket_split, _string_split, _target_split):
        lines = split(ind, toks, limit, bracketed)
        if lines is not None:
            return [part for piece in lines for part in _fit_more(piece, line, limit)]
    return [line]


def _fit_more(piece: tuple[str, bool], original: str, limit: int) -> list[str]:
    text, bracketed = piece
    if width(text) >= width(original):  # no progress: keep it as it is
        return [text]
    return _fit(text, limit, bracketed)


def _lex(body: str) -> list[tuple[str, str]] | None:
    toks, pos = [], 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if m is None:
            return None
        toks.append((m.lastgroup or "", m.group()))
        pos = m.end()
    return toks


def _text(toks: list[tuple[str, str]]) -> str:
    return "".join(t for _, t in toks)


def _top_pairs(toks: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """(open, close) token indices of the bracket pairs not inside another on the line."""
    pairs, depth, start = [], 0, 0
    for k, (kind, _) in enumerate(toks):
        if kind == "open":
            depth += 1
            if depth == 1:
                start = k
        elif kind == "close":
            depth -= 1
            if depth == 0:
                pairs.append((start, k))
            if depth < 0:
                depth = 0
    return pairs


def _bracket_split(
    ind: str, toks: list[tuple[str, str]], limit: int, bracketed: bool
) -> list[tuple[str, bool]] | None:
    """Break the last bracket pair with something inside (a right-hand split)."""
    pairs = [(o, c) for o, c in _top_pairs(toks) if c > o + 1]
    if not pairs:
        return None
    o, c = pairs[-1]
    head, inner, tail = _text(toks[: o + 1]), toks[o + 1 : c], _text(toks[c:])
    inner_ind = ind + INDENT
    joined = _text(inner).strip()
    lines = [(ind + head.rstrip(), bracketed)]
    if width(inner_ind + joined) <= limit:
        lines.append((inner_ind + joined, True))
    else:
        items = _items(inner)
        if all(_NUMBER.fullmatch(i.rstrip(",")) for i in items):
            lines += [(inner_ind + row, True) for row in _fill(items, limit - width(inner_ind))]
        else:
            lines += [(inner_ind + item, True) for item in items]
    return [*lines, (ind + tail.lstrip(), bracketed)]


def _items(inner: list[tuple[str, str]]) -> list[str]:
    """The items of a bracket's contents, each with its comma."""
    items, depth, start = [], 0, 0
    for k, (kind, _) in enumerate(inner):
        depth += kind == "open"
        depth -= kind == "close"
        if kind == "comma" and depth == 0:
            items.append(_text(inner[start : k + 1]).strip())
            start = k + 1
    rest = _text(inner[start:]).strip()
    return [*items, rest] if rest else items


def _fill(items: list[str], room: int) -> list[str]:
    rows = [items[0]]
    for item in items[1:]:
        if width(rows[-1]) + 1 + width(item) <= room:
            rows[-1] += " " + item
        else:
            rows.append(item)
    return rows


def _string_split(
    ind: str, toks: list[tuple[str, str]], limit: int, bracketed: bool
) -> list[tuple[str, bool]] | None:
    """The longest plain string literal as an implicit concatenation of pieces (inside new
    parentheses unless the line is inside brackets already)."""
    strings = [
        k
        for k, (kind, t) in enumerate(toks)
        if kind == "str" and not (k and toks[k - 1][1][-1:].isalnum())
    ]
    if not strings:
        return None
    k = max(strings, key=lambda j: len(toks[j][1]))
    quote, source = toks[k][1][0], toks[k][1][1:-1]
    pre, post = _text(toks[:k]), _text(toks[k + 1 :])
    before: list[tuple[str, bool]] = []
    first, cont = ind + pre, ind  # before the first piece; before each of the others
    if not bracketed:  # new parentheses: the pieces under the first, or on lines of their own
        post = ")" + post
        if width(first) + 1 <= limit // 2:
            first += "("
            cont = " " * width(first)
        else:
            before = [(first + "(", False)]
            first = cont = ind + INDENT
    cut = _chunks(source, limit - width(first) - 2, limit - width(cont) - 2, width(post))
    pieces = [(f"{cont}{quote}{p}{quote}", True) for p in cut]
    pieces[0] = (f"{first}{quote}{cut[0]}{quote}", bracketed or bool(before))
    pieces[-1] = (pieces[-1][0] + post, pieces[-1][1])
    return before + pieces


def _target_split(
    ind: str, toks: list[tuple[str, str]], limit: int, bracketed: bool
) -> list[tuple[str, bool]] | None:
    """Several assignment targets (``a, b = f(``) in parentheses, to be broken there."""
    found = _top_assignment(toks)
    if found is None:
        return None
    k, eq = found
    text = toks[k][1]
    targets = (_text(toks[:k]) + text[: eq.start()]).rstrip()
    if bracketed or not any(kind == "comma" for kind, _ in toks[:k]):
        return None
    rest = text[eq.end() :] + _text(toks[k + 1 :])
    return [(ind + "(", False), (ind + INDENT + targets, True), (f"{ind}) ={rest}", False)]


def _top_assignment(toks: list[tuple[str, str]]) -> tuple[int, re.Match[str]] | None:
    """The token holding the first ``=`` outside brackets (not ``==``, ``<=``, ...)."""
    depth = 0
    for k, (kind, text) in enumerate(toks):
        depth += (kind == "open") - (kind == "close")
        eq = re.search(r"(?<![=!<>])=(?!=)", text) if kind == "other" and not depth else None
        if eq is not None:
            return k, eq
    return None


def _rhs_split(
    ind: str, toks: list[tuple[str, str]], limit: int, bracketed: bool
) -> list[tuple[str, bool]] | None:
    """``target = value`` whose value cannot break soon enough: the value in parentheses,
    on lines of its own."""
    pairs = [(o, c) for o, c in _top_pairs(toks) if c > o + 1]
    if bracketed or not pairs or width(ind + _text(toks[: pairs[-1][0] + 1])) <= limit:
        return None
    found = _top_assignment(toks)
    if found is None:
        return None
    k, eq = found
    text = toks[k][1]
    targets = (_text(toks[:k]) + text[: eq.start()]).rstrip()
    value = (text[eq.end() :] + _text(toks[k + 1 :])).strip()
    if not targets or any(kind == "comma" for kind, _ in toks[:k]):
        return None
    return [(f"{ind}{targets} = (", False), (ind + INDENT + value, True), (ind + ")", False)]
