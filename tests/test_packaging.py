"""The installed package holds every module: ``pip install .`` (not only ``-e``) copies the
packages ``pyproject.toml`` lists, so a subpackage missing there is missing for users."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "compiler").rglob("__init__.py")
        if "__pycache__" not in init.parts and not init.parent.is_symlink()
    }
    assert found, "no packages found under compiler/"
    assert found - {"compiler.templates"} <= listed, sorted(found - listed)


def test_templates_ship_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dirs = config["tool"]["setuptools"]["package-dir"]
    assert dirs["compiler.templates"] == "templates"
    assert dirs["compiler.templates.ops"] == "templates/ops"
    data = config["tool"]["setuptools"]["package-data"]
    assert data["compiler.templates"] == ["*.j2"] and data["compiler.templates.ops"] == ["*.j2"]
