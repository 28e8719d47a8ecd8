"""Every registered op is complete (the traits the lowering, the passes, streaming and the
backends read are declared and kept), and the templates ship inside the built wheel."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from compiler.api import compile_spec
from compiler.backends.numpy.codegen import has_template, load_module, template_path
from compiler.backends.onnx.rnn_lower import LOWERINGS
from compiler.backends.onnx.session import run as onnx_run
from compiler.frontend.loader import parse_model
from compiler.ir.registry import MASK_FLOWS, OPS, STREAM_RULES, OpDef
from compiler.ops import get_op, ir_ops, layer_types, recurrent_layers

TESTS = Path(__file__).resolve().parent


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


# -- traits --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", layer_types())
def test_layer_declares_how_keras_masks_flow(name):
    """``Builder.flow_mask`` guesses nothing: each layer states Keras's mask behaviour."""
    op = get_op(name)
    assert op.mask_flow in MASK_FLOWS, f"{name}: mask_flow {op.mask_flow!r} not in {MASK_FLOWS}"
    if op.mask_flow == "custom":  # its own lower sets the mask
        assert type(op).lower is not OpDef.lower, f"{name}: mask_flow custom, but no lower"
    if op.mask_flow == "merge_or" or op.or_masks:
        assert op.multi_input, f"{name} combines the masks of a single input"
    if op.reads_step_mask:  # an RNN, or a wrapper of one
        assert op.n_states > 0 or op.wrapper, f"{name} reads a step mask but runs no loop"


@pytest.mark.parametrize("name", ir_ops())
def test_ir_op_declares_its_stream_rule(name):
    """The step form guesses nothing: each IR op states what it does to a time step."""
    op = get_op(name)
    assert op.stream in STREAM_RULES, f"{name}: stream {op.stream!r} not in {STREAM_RULES}"
    has_method = type(op).step_attrs is not OpDef.step_attrs
    assert has_method == (op.stream == "custom"), f"{name}: step_attrs without stream custom"
    assert (op.stream == "recurrent") == (op.n_states > 0), f"{name}: stream vs n_states"
    if op.stream_why != OpDef.stream_why:
        assert op.stream == "time", f"{name}: a refusal text on an op that is not refused"
    caches = [type(op).cache_step is not OpDef.cache_step]
    caches.append(type(op).cache_units is not OpDef.cache_units)
    assert caches == [op.kv_cache] * 2, f"{name}: kv_cache, cache_step and cache_units go together"


@pytest.mark.parametrize("name", layer_types())
def test_layer_declares_its_keras_call_arguments(name):
    """The oracle and ``tdc import`` pass call arguments only as the layer declares them."""
    op = get_op(name)
    for key in (*op.call_params, *([op.tensor_call_param] if op.tensor_call_param else [])):
        assert key in (op.params or {}), f"{name}: call argument {key} is no layer key"
        assert op.params[key].default in (False, None), f"{name}: {key} on by default"
    if op.positional_call or op.tensor_call_param:
        assert op.multi_input, f"{name} takes its inputs as arguments but one input only"


@pytest.mark.parametrize("name", recurrent_layers())
def test_recurrent_layer_declares_its_loop(name):
    """An op with states is a layer and an IR op that reads the step mask itself, steps
    with its states, and has a recurrent ONNX lowering; the accepted lists name it."""
    from compiler.keras.call import ACCEPTED_STATES
    from compiler.ops.bidirectional import BACKWARD_FORM
    from compiler.streaming.rules import ACCEPTED

    op = get_op(name)
    assert op.is_ir_op and op.reads_step_mask and op.mask_flow == "custom"
    assert op.stream == "recurrent" and op.onnx_lowering in LOWERINGS
    for text in (ACCEPTED_STATES, BACKWARD_FORM, ACCEPTED):
        assert name in text, f"{name} is missing from the message {text!r}"


def _compile(doc: dict):
    return compile_spec(parse_model(doc, "model.yaml"))


def _run(compiled, x: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Outputs by name of the ONNX model and the NumPy module."""
    onnx = onnx_run(compiled.onnx(), {"x": x})
    got = load_module(*compiled.numpy_source()).predict(x)
    names = compiled.graph.output_names
    return {"onnx": onnx, "numpy": got if isinstance(got, dict) else {names[0]: got}}


#: Recurrent layers sized other than by ``units`` on (N, T, 4): arguments, one step's shape.
ROLE_ARGS = {
    f"ConvLSTM{r}D": ({"filters": 3, "kernel_size": 3, "padding": "same"}, [5] * r + [4])
    for r in (1, 2, 3)
}


@pytest.mark.parametrize("name", recurrent_layers())
def test_recurrent_layer_works_in_every_role(name):
    """What ``n_states`` promises: Bidirectional wraps the layer and returns both
    directions' states, it takes ``n_states`` initial states after the sequence, and its
    step form carries ``n_states`` states; ONNX and NumPy agree on all of it."""
    n = get_op(name).n_states
    args, step = ROLE_ARGS.get(name, ({"units": 3}, [4]))
    rnn = {"type": name, **args}
    states = [f"enc:{k}" for k in range(1, n + 1)]
    doc = {
        "inputs": {"x": {"shape": [None, *step], "dtype": "float32"}},
        "layers": [
            {**rnn, "name": "enc", "return_state": True},
            {**rnn, "name": "dec", "return_sequences": True, "inputs": ["x", *states]},
            {
                "type": "Bidirectional",
                "name": "bi",
                "inputs": ["x"],
                "layer": rnn | {"return_state": True},
            },
        ],
        "outputs": ["dec", "bi", *(f"bi:{k}" for k in range(1, 2 * n + 1))],
    }
    compiled = _compile(doc)
    shapes = [v.shape for v in compiled.graph.outputs]
    s = tuple(step[:-1])
    assert shapes == [("N", "T", *s, 3), ("N", *s, 6), *[("N", *s, 3)] * (2 * n)]
    x = np.random.default_rng(0).normal(size=(2, 5, *step)).astype(np.float32)
    got = _run(compiled, x)
    for key in compiled.graph.output_names:
        np.testing.assert_allclose(got["numpy"][key], got["onnx"][key], atol=1e-5, rtol=1e-4)
    step = _compile({**doc, "layers": doc["layers"][:1], "outputs": ["enc"]}).step()
    assert [s.what for s in step.states] == ["h", "c"][:n]


#: For every op with ``fuses_activation``: an input shape and a layer emitting the op, on
#: which the passes fuse a following ReLU into it.
FUSING = {
    "Dense": ([4, 6], {"type": "Dense", "units": 5}),
    "Conv1D": ([8, 3], {"type": "Conv1D", "filters": 4, "kernel_size": 3}),
    "Conv2D": ([6, 6, 3], {"type": "Conv2D", "filters": 4, "kernel_size": 3}),
    "Conv3D": ([4, 4, 4, 2], {"type": "Conv3D", "filters": 3, "kernel_size": 2}),
    "Conv2DTranspose": ([4, 4, 3], {"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3}),
    "Conv1DTranspose": ([4, 3], {"type": "Conv1DTranspose", "filters": 2, "kernel_size": 3}),
    "Conv3DTranspose": ([3, 3, 3, 2], {"type": "Conv3DTranspose", "filters": 2, "kernel_size": 2}),
    "depthwise_conv": ([6, 6, 3], {"type": "DepthwiseConv2D", "kernel_size": 3}),
    "BatchNormalization": ([4, 6], {"type": "BatchNormalization"}),
    "LayerNormalization": ([4, 6], {"type": "LayerNormalization"}),
}


def test_every_fusing_op_has_an_example():
    assert set(FUSING) == {n for n in ir_ops() if get_op(n).fuses_activation}


@pytest.mark.parametrize("name", sorted(FUSING))
def test_fused_activation_is_applied_by_both_backends(name):
    """An op that lets ``fuse_activation`` fold a ReLU into it applies its ``activation``
    attr in its ONNX lowering and its NumPy template: relu(op(x)) on both."""
    shape, entry = FUSING[name]
    doc = {"inputs": {"x": {"shape": shape, "dtype": "float32"}}, "layers": [entry]}
    plain = _compile(doc)
    relu = _compile({**doc, "layers": [entry, {"type": "Activation", "activation": "relu"}]})
    (node,) = [n for n in relu.graph.nodes if n.op == name]
    assert node.attrs.get("activation") == "relu", f"the passes did not fuse the ReLU: {node}"
    assert all(n.op != "act" for n in relu.graph.nodes)
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype(np.float32)
    want, got = _run(plain, x), _run(relu, x)
    for backend, outs in got.items():
        (ref,) = want[backend].values()
        (out,) = outs.values()
        assert (ref < 0).any(), "the example must have negative outputs to clip"
        np.testing.assert_allclose(out, np.maximum(ref, 0), atol=1e-6, err_msg=backend)


def test_every_layer_is_checked_against_keras():
    """Adding a layer means one test row against live Keras: each layer type is named in
    a test module that builds Keras models (see ``compiler/ops/README.md``)."""
    keras = re.compile(
        r"^(from oracle import|import keras|from compiler\.keras\.oracle import)", re.M
    )
    text = "".join(
        t for p in sorted(TESTS.glob("test_*.py")) if keras.search(t := p.read_text("utf-8"))
    )
    missing = [n for n in layer_types() if f'"{n}"' not in text and f"'{n}'" not in text]
    assert not missing, f"layers without a test against Keras: {missing}"


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
