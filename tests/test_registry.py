"""Every registered op is complete, and the templates ship inside the built wheel."""

import subprocess
import sys
import zipfile

import pytest

from compiler.backends.numpy import has_template, template_path
from compiler.registry import OPS, OpDef, get_op, ir_ops, layer_types


def test_registry_is_populated():
    assert {"Dense", "TimeDistributed", "fold", "unfold", "act"} <= set(OPS)


@pytest.mark.parametrize("name", ir_ops())
def test_ir_op_has_onnx_lowering_and_numpy_template(name):
    op = get_op(name)
    assert type(op).onnx is not OpDef.onnx, f"{name} has no ONNX lowering"
    assert has_template(name), f"{name} has no NumPy template {template_path(name)}"


@pytest.mark.parametrize("name", layer_types())
def test_layer_lowers_somewhere(name):
    op = get_op(name)
    assert op.is_ir_op or type(op).lower is not OpDef.lower, f"{name} neither lowers nor emits"


def test_wheel_ships_templates(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("tdc-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "compiler/templates/module.py.j2" in names
    assert "compiler/templates/activations.py.j2" in names
    for name in ir_ops():
        assert f"compiler/templates/{template_path(name)}" in names
