"""``generated/`` holds the examples' compiled output; regenerating must not change a byte.

Regenerate with ``python tests/test_generated.py``.
"""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = [
    pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.stem == "video_mobilenet" else [])
    for p in sorted((ROOT / "examples").glob("*.yaml"))
]  # the MobileNetV2 example takes seconds to compile: out of the fast tier


def _compile(example: Path, out: Path) -> list[Path]:
    from compiler.tools.commands import compile_to

    stem = example.stem
    compile_to(example, "onnx", out / f"{stem}.onnx")
    compile_to(example, "numpy", out / f"{stem}.py")
    compile_to(example, "onnx", out / f"{stem}.step.onnx", streaming=True)
    return [out / f"{stem}.{ext}" for ext in ("onnx", "py", "npz", "step.onnx")]


@pytest.mark.parametrize("example", EXAMPLES)
def test_generated_is_up_to_date(example, tmp_path):
    for fresh in _compile(example, tmp_path):
        kept = ROOT / "generated" / fresh.name
        assert kept.exists(), f"{kept} missing: run python tests/test_generated.py"
        assert fresh.read_bytes() == kept.read_bytes(), f"{kept.name} is stale"


@pytest.mark.parametrize("example", EXAMPLES)
def test_compiling_twice_is_byte_identical(example, tmp_path):
    a = _compile(example, tmp_path / "a")
    b = _compile(example, tmp_path / "b")
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes()


def test_generated_code_is_lint_clean():
    import subprocess

    files = [str(p) for p in (ROOT / "generated").glob("*.py")]
    assert files
    ruff = Path(sys.executable).parent / "ruff"
    res = subprocess.run(
        [str(ruff), "check", "--no-cache", "--isolated", "--line-length", "100", *files],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout


if __name__ == "__main__":
    for ex in sorted((ROOT / "examples").glob("*.yaml")):
        print(*_compile(ex, ROOT / "generated"))
