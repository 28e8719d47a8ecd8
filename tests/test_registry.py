"""Every registered op is complete, and the templates ship inside the built wheel."""

import subprocess
import sys
import zipfile

import pytest

from compiler.backends.numpy.codegen import has_template, template_path
from compiler.backends.onnx.rnn_lower import LOWERINGS
from compiler.ir.registry import OPS, OpDef
from compiler.ops import get_op, ir_ops, layer_types


def test_registry_is_populated():
    assert {"Dense", "TimeDistributed", "fold", "unfold", "act"} <= set(OPS)


@pytest.mark.parametrize("name", ir_ops())
def test_ir_op_has_onnx_lowering_and_numpy_template(name):
    op = get_op(name)
    if op.onnx_lowering:
        assert op.onnx_lowering in LOWERINGS, f"{name}: no ONNX lowering {op.onnx_lowering!r}"
    else:
        assert type(op).onnx is not OpDef.onnx, f"{name} has no ONNX lowering"
    assert has_template(name), f"{name} has no NumPy template {template_path(name)}"


@pytest.mark.parametrize("name", layer_types())
def test_layer_lowers_somewhere(name):
    op = get_op(name)
    assert op.is_ir_op or type(op).lower is not OpDef.lower, f"{name} neither lowers nor emits"


@pytest.mark.slow
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


def test_no_import_cycles_and_layers_point_down():
    """The package's import graph has no cycle (lazy imports included, TYPE_CHECKING
    excluded), and the IR and the ops import nothing from the backends or the tools."""
    from import_graph import cycles, module_imports

    graph = module_imports()
    assert cycles(graph) == []
    for mod, targets in graph.items():
        if mod.startswith(("compiler.ir", "compiler.ops")):
            up = sorted(t for t in targets if t.startswith(("compiler.backends", "compiler.tools")))
            assert not up, f"{mod} imports {up}"


@pytest.mark.parametrize("folder", ["ir", "ops", "passes", "frontend"])
def test_core_imports_no_backend_library(folder):
    """The IR, the ops, the passes and the frontend need neither onnx nor onnxruntime: an op's
    ONNX lowering only calls the builder it is given."""
    from import_graph import outside_imports

    for mod, names in outside_imports(folder).items():
        assert not names & {"onnx", "onnxruntime", "jinja2", "keras"}, (mod, names)
