"""The package's import graph, read from the source (lazy imports included, imports under
``if TYPE_CHECKING:`` left out), and its cycles: what ``test_registry`` checks."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "compiler"


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _typing_only(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
            skip.update(id(x) for b in n.body for x in ast.walk(b))
    return skip


def _targets(path: Path, mods: set[str]) -> set[str]:
    me = _name(path)
    pkg = me if path.name == "__init__.py" else me.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _typing_only(tree)
    out: set[str] = set()
    for n in ast.walk(tree):
        if id(n) in skip:
            continue
        if isinstance(n, ast.ImportFrom):
            base = pkg
            for _ in range(max(n.level - 1, 0)):
                base = base.rpartition(".")[0]
            target = (base + (f".{n.module}" if n.module else "")) if n.level else n.module or ""
            for a in n.names:
                out.add(f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target)
        elif isinstance(n, ast.Import):
            out.update(a.name for a in n.names)
    return {m for m in out if m in mods and m != me}


def module_imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    files = sorted(PACKAGE.rglob("*.py"))
    mods = {_name(p) for p in files}
    return {_name(p): _targets(p, mods) for p in files}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected sets of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def outside_imports(folder: str) -> dict[str, set[str]]:
    """Module of ``compiler/<folder>`` -> the top-level packages from outside ``compiler``
    it imports (``numpy``, ``onnx``), typing-only imports left out."""
    out: dict[str, set[str]] = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _typing_only(tree)
        names: set[str] = set()
        for n in ast.walk(tree):
            if id(n) in skip:
                continue
            if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
                names.add(n.module.split(".")[0])
            elif isinstance(n, ast.Import):
                names.update(a.name.split(".")[0] for a in n.names)
        out[_name(path)] = names - {"compiler", "__future__"}
    return out
