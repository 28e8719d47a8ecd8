"""Safe YAML with line numbers and bounds.

``_Loader`` is a ``SafeLoader`` subclass: tags such as ``!!python/object`` stay errors
(SafeLoader knows no such constructor), so reading a model file never runs code. It
records the line of every mapping and key, refuses duplicate and non-string keys, takes
YAML 1.1 merge keys (``<<: *defaults``, ``<<: [*a, *b]``; a merged key keeps the line where
it was written), and bounds what a hostile file can cost: its size (``MAX_BYTES``), its nesting
(``MAX_DEPTH``) and the number of nodes once aliases are expanded (``MAX_NODES``, the
"billion laughs" file), all checked on the composed node graph before anything is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import TdcError, short

#: Largest model file read, in bytes.
MAX_BYTES = 8 << 20
#: Deepest nesting of lists and mappings.
MAX_DEPTH = 64
#: Most YAML nodes, counting every use of an alias as a copy.
MAX_NODES = 200_000

MERGE_TAG = "tag:yaml.org,2002:merge"
VALUE_TAG = "tag:yaml.org,2002:value"
STR_TAG = "tag:yaml.org,2002:str"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"
#: What a merge key takes.
MERGE_FORM = "<<: *anchor or <<: [*anchor, ...], each anchor a mapping"


class LineDict(dict):
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise TdcError(
                    f"nested more than {MAX_DEPTH} levels deep",
                    line=mark.line + 1,
                    accepted=f"at most {MAX_DEPTH} levels of nested lists and mappings",
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        merges: list[tuple[int, yaml.Node]] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == MERGE_TAG:
                if merges:
                    raise TdcError("duplicate merge key '<<'", line=line, accepted=MERGE_FORM)
                merges.append((line, value_node))
                continue
            if key_node.tag == VALUE_TAG:  # a plain '=' key is the string '=' (as PyYAML)
                key_node.tag = STR_TAG
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise TdcError(
                    f"mapping key {key!r} is not a string", line=line, accepted="string keys"
                )
            if key in out:
                raise TdcError(f"duplicate key '{key}'", line=line, accepted="each key once")
            out[key] = self.construct_object(value_node, deep=True)
            out.key_lines[key] = line
        for line, value_node in merges:
            self.merge_into(out, value_node, line)
        return out

    def merge_into(self, out: LineDict, value_node: yaml.Node, line: int) -> None:
        """YAML 1.1's merge key: copy each merged mapping's keys that ``out`` lacks, so keys
        written in ``out`` win, then the earlier mappings of ``<<: [*a, *b]``. A merged key
        keeps the line where it was written."""
        listed = isinstance(value_node, yaml.SequenceNode) and value_node.tag == SEQ_TAG
        sources = list(value_node.value) if listed else [value_node]
        for k, source in enumerate(sources):
            if not isinstance(source, yaml.MappingNode) or source.tag != MAP_TAG:
                what = f"item {k + 1} of its list is" if listed else "got"
                at = source.start_mark.line + 1
                where = f" (written at line {at})" if at != line else ""
                raise TdcError(
                    f"the merge key '<<' takes a mapping or a list of mappings; {what} "
                    f"{_node_kind(source)}{where}",
                    line=line,
                    accepted=MERGE_FORM,
                )
            merged = self.construct_object(source, deep=True)
            for key, value in merged.items():
                if key not in out:
                    out[key] = value
                    out.key_lines[key] = merged.key_lines[key]


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return f"a {node.tag.rsplit(':', 1)[-1]}"
    return f"the scalar {short(node.value)}"


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)


def count_nodes(root: yaml.Node | None) -> None:
    """Refuse a node graph that expands to more than ``MAX_NODES`` nodes or loops on itself
    (an alias inside its own anchor). Shared nodes are sized once (memoised), so this is
    linear in the file even for an alias bomb."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise TdcError(
                "an alias refers to the node that contains it",
                line=node.start_mark.line + 1,
                accepted="aliases to complete, non-recursive nodes",
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        if total > MAX_NODES:
            raise TdcError(
                f"the document expands to more than {MAX_NODES} values (aliases counted as copies)",
                line=node.start_mark.line + 1,
                accepted=f"at most {MAX_NODES} values",
            )
        sizes[key] = total
        return total

    if root is not None:
        size(root)


def read_text(path: Path, what: str = "model file", limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of ``path``, refusing anything larger than ``limit`` bytes."""
    file = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as e:
        raise TdcError(f"cannot read {what}: {e.strerror or e}", file=file) from None
    if len(raw) > limit:
        raise TdcError(f"{what} is larger than {limit} bytes", file=file)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise TdcError(
            f"{what} is not UTF-8 text (byte {e.start})",
            file=file,
            line=line,
            accepted="YAML text in UTF-8",
        ) from None


def read_yaml(path: Path) -> Any:
    """Parse a model file safely; every failure is a ``TdcError`` naming the file."""
    file = str(path)
    text = read_text(path)
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            count_nodes(root)
            return None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except TdcError as e:
        raise e.with_context(file=file) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise TdcError(
            f"invalid YAML: {e.problem or e}",
            file=file,
            line=line,
            column=col,
            accepted="YAML 1.1 with standard tags only",
        ) from None
    except yaml.reader.ReaderError as e:
        line = text[: e.position].count("\n") + 1
        raise TdcError(
            f"invalid YAML: unacceptable character #x{e.character:04x}",
            file=file,
            line=line,
            accepted="printable Unicode text (no NUL or control characters)",
        ) from None
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        # ValueError: an integer literal too long to convert
        raise TdcError(f"invalid YAML: {str(e)[:200]}", file=file) from None
