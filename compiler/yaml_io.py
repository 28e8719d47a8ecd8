"""Safe YAML with line numbers: a ``SafeLoader`` subclass that only records where keys are.

Tags such as ``!!python/object`` stay errors (SafeLoader knows no such constructor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import TdcError


class LineDict(dict):
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:
        self.flatten_mapping(node)
        out = LineDict()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise TdcError(
                    f"mapping key {key!r} is not a string", line=key_node.start_mark.line + 1
                )
            if key in out:
                raise TdcError(f"duplicate key '{key}'", line=key_node.start_mark.line + 1)
            out[key] = self.construct_object(value_node, deep=True)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)


def read_yaml(path: Path) -> Any:
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise TdcError(f"cannot read model file: {e.strerror}", file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TdcError("model file is not UTF-8 text", file=file) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506  (_Loader is a SafeLoader)
    except TdcError as e:
        raise e.with_context(file=file) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise TdcError(
            f"invalid YAML: {e.problem or e}", file=file, line=line, column=col
        ) from None
    except yaml.YAMLError as e:
        raise TdcError(f"invalid YAML: {e}", file=file) from None
