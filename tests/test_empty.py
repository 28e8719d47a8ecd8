"""Empty inputs: a batch of 0 and a null (time) axis of length 0, on every backend.

onnxruntime's native LSTM and GRU abort the whole process on a batch of 0, so every ONNX
run here happens in a child process, whose death fails the test instead of the suite.
Keras runs a batch of 0 (the shapes are compared with it) but fails on a sequence of 0
steps; tdc then gives an empty output sequence and, for a last output or a state, the
initial state (zeros, or the given ``initial_state``), as for a fully masked sequence.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from cli_util import tdc
from compiler.backends.numpy.codegen import load_module
from compiler.errors import TdcError
from compiler.frontend.arrays import write_npz
from compiler.keras.oracle import keras_model, run_keras
from oracle import check, compile_with_random_weights, model, random_inputs, td

pytestmark = pytest.mark.slow  # the fast tier: pytest -m "not slow"

DENSE = {"type": "Dense", "units": 5}
EMB = {"type": "Embedding", "input_dim": 10, "output_dim": 4, "mask_zero": True}


def rnn(kind: str, seqs: bool, **kw) -> dict:
    return {"type": kind, "units": 4, "return_sequences": seqs, **kw}


def bi(layer: dict) -> dict:
    return {"type": "Bidirectional", "layer": layer}


CASES = {
    "td_dense_lstm_seq": model([None, 6], td(DENSE), rnn("LSTM", True)),
    "td_dense_gru_last": model([None, 6], td(DENSE), rnn("GRU", False)),
    "td_dense_simplernn_seq": model([None, 6], td(DENSE), rnn("SimpleRNN", True)),
    "td_conv_lstm": model(
        [None, 6, 6, 2],
        td({"type": "Conv2D", "filters": 3, "kernel_size": 3}),
        td({"type": "Flatten"}),
        rnn("LSTM", False),
        DENSE,
    ),
    "bidi_lstm_seq": model([None, 6], bi(rnn("LSTM", True))),
    "bidi_gru_last": model([None, 6], bi(rnn("GRU", False))),
    "mask_zero_lstm_seq": model([None], EMB, rnn("LSTM", True), dtype="int32"),
    "mask_zero_gru_last": model([None], EMB, rnn("GRU", False), dtype="int32"),
    "masking_gru_seq": model([None, 6], {"type": "Masking"}, rnn("GRU", True)),
    "mask_zero_bidi_lstm": model([None], EMB, bi(rnn("LSTM", True)), dtype="int32"),
    "lstm_return_state": {
        **model([None, 6], {"name": "enc", **rnn("LSTM", True), "return_state": True}),
        "outputs": ["enc", "enc:1", "enc:2"],
    },
    "scan_lstm_last": model([None, 6], rnn("LSTM", False, activation="linear")),
    "scan_masked_rnn_seq": model(
        [None], EMB, rnn("SimpleRNN", True, activation="linear"), dtype="int32"
    ),
    "gru_backwards_last": model([None, 6], rnn("GRU", False, go_backwards=True)),
    "flatten_time": model([None, 3], {"type": "Flatten"}),
}
#: What is checked at time 0 besides the shapes: the RNN's own output is its initial state.
RNN_OUTPUT = {"td_dense_gru_last", "bidi_gru_last", "mask_zero_gru_last", "scan_lstm_last"}
EMPTY = {"batch0": (0, 5), "time0": (2, 0)}

#: Runs ONNX models and ``tdc run`` (jobs: a JSON list) in a child process.
CHILD = """
import json, sys
import numpy as np
for job in json.loads(sys.argv[1]):
    if job["kind"] == "ort":
        import onnxruntime as ort
        sess = ort.InferenceSession(job["model"])
        outs = sess.run(None, dict(np.load(job["feeds"])))
        np.savez(job["out"], **{o.name: v for o, v in zip(sess.get_outputs(), outs)})
    else:
        from compiler.tools.cli import main
        try:
            main(job["argv"])
        except SystemExit as e:
            if e.code:
                sys.exit(f"tdc {job['argv']}: exit {e.code}")
"""


def in_child(jobs: list[dict]) -> None:
    """Run ``jobs`` in a child process; fail naming the signal if onnxruntime kills it."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(jobs)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"child exit {proc.returncode}: {proc.stderr[-2000:]}"


def expected_shapes(compiled, batch: int, time: int) -> dict[str, tuple[int, ...]]:
    """Each output's shape from the IR, ``N`` and ``T`` set (``T*3``: a product)."""
    sizes = {"N": batch, "T": time}

    def size(d: int | str) -> int:
        parts = [int(p) if p.isdigit() else sizes[p] for p in str(d).split("*")]
        return int(np.prod(parts))

    return {
        name: tuple(size(d) for d in v.shape)
        for name, v in zip(compiled.graph.output_names, compiled.graph.outputs, strict=True)
    }


def numpy_outputs(compiled, xs: list[np.ndarray]) -> dict[str, np.ndarray]:
    text, w = compiled.numpy_source()
    got = load_module(text, w).predict(*xs)
    return got if isinstance(got, dict) else {compiled.graph.output_names[0]: got}


def input_files(tmp: Path, compiled, xs: list[np.ndarray], tag: str) -> list[str]:
    """``-i NAME=FILE`` options for ``tdc run``, the arrays written beside the model."""
    args = []
    for inp, x in zip(compiled.spec.inputs, xs, strict=True):
        np.save(tmp / f"{tag}_{inp.name}.npy", x)
        args += ["-i", f"{inp.name}={tmp / f'{tag}_{inp.name}.npy'}"]
    return args


def assert_outputs(got: dict, want: dict[str, tuple], ref: dict[str, np.ndarray], what: str):
    """``got`` has exactly the shapes ``want`` and the values of ``ref``."""
    assert {k: tuple(np.asarray(v).shape) for k, v in got.items()} == want, what
    for name, r in ref.items():
        np.testing.assert_allclose(got[name], r, atol=1e-5, err_msg=f"{what}: {name}")


def streamable(compiled) -> bool:
    try:
        compiled.step()
    except TdcError:
        return False
    return True


def ort_job(tmp: Path, proto: onnx.ModelProto, feeds: dict[str, np.ndarray], tag: str) -> dict:
    """A child job running ``proto`` on ``feeds``; its outputs go to ``<tag>_ort.npz``."""
    onnx.save(proto, tmp / f"{tag}.onnx")
    write_npz(tmp / f"{tag}_feeds.npz", feeds)
    out = str(tmp / f"{tag}_ort.npz")
    return {
        "kind": "ort",
        "model": str(tmp / f"{tag}.onnx"),
        "feeds": f"{tmp / tag}_feeds.npz",
        "out": out,
    }


def run_job(tmp: Path, compiled, xs: list[np.ndarray], tag: str) -> dict:
    """A child job: ``tdc run --backend onnx`` on ``xs``, writing ``<tag>_run.npz``."""
    out = tmp / f"{tag}_run.npz"
    argv = ["run", str(tmp / "model.yaml"), "--backend", "onnx", "-o", str(out)]
    return {"kind": "tdc", "argv": argv + input_files(tmp, compiled, xs, tag)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_onnx_empty(tmp_path, case):
    """The compiled ONNX (and its step form, and ``tdc run``) on no samples and no steps."""
    compiled = compile_with_random_weights(tmp_path, CASES[case])
    proto, jobs, refs = compiled.onnx(), [], {}
    for tag, (batch, time) in EMPTY.items():
        xs = random_inputs(compiled, batch, time)
        feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
        jobs += [ort_job(tmp_path, proto, feeds, tag), run_job(tmp_path, compiled, xs, tag)]
        refs[tag] = (expected_shapes(compiled, batch, time), numpy_outputs(compiled, xs))
    step = streamable(compiled)
    if step:  # the step form on a batch of 0: one frame and the carried states
        ins = compiled.step().graph.inputs
        feeds = {i.name: np.zeros((0, *i.shape[1:]), i.dtype) for i in ins}
        jobs.append(ort_job(tmp_path, compiled.step_onnx(), feeds, "step"))
    in_child(jobs)
    for tag, (shapes, ref) in refs.items():
        for kind in ("ort", "run"):
            got = dict(np.load(tmp_path / f"{tag}_{kind}.npz"))
            assert_outputs(got, shapes, ref, f"onnx {kind} {tag}")
    if step:
        got = dict(np.load(tmp_path / "step_ort.npz"))
        assert all(v.shape[0] == 0 for v in got.values()), {k: v.shape for k, v in got.items()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_numpy_empty(tmp_path, case):
    """The NumPy module (and its ``step``) on no samples and no steps; shapes as the IR says."""
    compiled = compile_with_random_weights(tmp_path, CASES[case])
    for batch, time in EMPTY.values():
        got = numpy_outputs(compiled, random_inputs(compiled, batch, time))
        assert_outputs(got, expected_shapes(compiled, batch, time), {}, f"numpy {batch} {time}")
    if streamable(compiled):
        text, w = compiled.numpy_source()
        m = load_module(text, w)
        frame = [x[:, 0] for x in random_inputs(compiled, 0, 1)]
        y, state = m.step(frame, m.init_state(0))
        outs = y.values() if isinstance(y, dict) else [y]
        assert all(np.asarray(v).shape[0] == 0 for v in [*outs, *state.values()])


@pytest.mark.parametrize("case", sorted(CASES))
def test_batch0_matches_keras(tmp_path, case):
    """Keras runs a batch of 0: every backend and ``tdc run`` give its shapes."""
    compiled = compile_with_random_weights(tmp_path, CASES[case])
    xs = random_inputs(compiled, 0, 5)
    names = compiled.graph.output_names
    ref = dict(zip(names, run_keras(keras_model(compiled.spec, compiled.weights), xs), strict=True))
    want = {k: tuple(v.shape) for k, v in ref.items()}
    assert want == expected_shapes(compiled, 0, 5)
    assert_outputs(numpy_outputs(compiled, xs), want, ref, "numpy")
    for backend in ("numpy", "keras"):
        out = tmp_path / f"{backend}.npz"
        args = input_files(tmp_path, compiled, xs, "b0")
        code, _, err = tdc("run", tmp_path / "model.yaml", "--backend", backend, *args, "-o", out)
        assert code == 0, err
        assert_outputs(dict(np.load(out)), want, ref, f"tdc run --backend {backend}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_time0_numpy_run_and_keras_refusal(tmp_path, case):
    """No steps: ``tdc run --backend numpy`` gives the shapes; Keras fails there, so
    ``--backend keras`` is exit 2 with one message (or, where Keras can, its result)."""
    compiled = compile_with_random_weights(tmp_path, CASES[case])
    xs = random_inputs(compiled, 2, 0)
    want = expected_shapes(compiled, 2, 0)
    args = input_files(tmp_path, compiled, xs, "t0")
    code, _, err = tdc(
        "run", tmp_path / "model.yaml", "--backend", "numpy", *args, "-o", tmp_path / "n.npz"
    )
    assert code == 0, err
    assert_outputs(dict(np.load(tmp_path / "n.npz")), want, numpy_outputs(compiled, xs), "numpy")
    code, _, err = tdc(
        "run", tmp_path / "model.yaml", "--backend", "keras", *args, "-o", tmp_path / "k.npz"
    )
    if code == 0:  # a model Keras can run on no steps (Flatten): the same shapes
        assert_outputs(dict(np.load(tmp_path / "k.npz")), want, {}, "keras")
    else:
        assert code == 2 and "axis of length 0" in err and "internal error" not in err, err
        assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("case", sorted(RNN_OUTPUT))
def test_time0_gives_initial_state(tmp_path, case):
    """An RNN's last output over no steps is its initial state: zeros, on both backends."""
    compiled = compile_with_random_weights(tmp_path, CASES[case])
    xs = random_inputs(compiled, 2, 0)
    feeds = {i.name: x for i, x in zip(compiled.spec.inputs, xs, strict=True)}
    in_child([ort_job(tmp_path, compiled.onnx(), feeds, "m")])
    for got in (numpy_outputs(compiled, xs), dict(np.load(tmp_path / "m_ort.npz"))):
        assert all(not v.any() and v.shape[0] == 2 for v in got.values()), got


def test_time0_fully_masked_like_keras(tmp_path):
    """The time-0 result equals Keras's on one step that is masked: the initial state."""
    compiled = compile_with_random_weights(tmp_path, CASES["mask_zero_gru_last"])
    ref = run_keras(keras_model(compiled.spec, compiled.weights), [np.zeros((2, 1), np.int32)])
    got = numpy_outputs(compiled, [np.zeros((2, 0), np.int32)])
    np.testing.assert_array_equal(got["gru"], ref[0])


@pytest.mark.parametrize(
    ("kind", "seqs", "state"),
    [("LSTM", False, True), ("LSTM", True, False), ("GRU", False, False), ("GRU", True, True)],
)
def test_empty_with_initial_states(tmp_path, kind, seqs, state):
    """With ``initial_state=`` inputs: no samples give empty outputs, and no steps give
    those states back (and an empty sequence), on both backends."""
    names = ["h", "c"][: 2 if kind == "LSTM" else 1]
    layer = {"name": "enc", **rnn(kind, seqs), "return_state": state, "inputs": ["x", *names]}
    inputs = {"x": {"shape": [None, 3], "dtype": "float32"}}
    inputs |= {n: {"shape": [4], "dtype": "float32"} for n in names}
    outputs = ["enc", *(f"enc:{k + 1}" for k in range(len(names)) if state)]
    compiled = compile_with_random_weights(
        tmp_path, {"inputs": inputs, "layers": [layer], "outputs": outputs}
    )
    jobs, wants = [], {}
    for tag, (batch, time) in EMPTY.items():
        xs = random_inputs(compiled, batch, time)
        want = {f"enc:{k + 1}": x for k, x in enumerate(xs[1:]) if state}
        if not seqs:
            want["enc"] = xs[1]
        shapes = expected_shapes(compiled, batch, time)
        assert_outputs(numpy_outputs(compiled, xs), shapes, want, f"numpy {tag}")
        feeds = dict(zip(["x", *names], xs, strict=True))
        jobs.append(ort_job(tmp_path, compiled.onnx(), feeds, tag))
        wants[tag] = (shapes, want)
    in_child(jobs)
    for tag, (shapes, want) in wants.items():
        assert_outputs(dict(np.load(tmp_path / f"{tag}_ort.npz")), shapes, want, f"onnx {tag}")


@pytest.mark.parametrize(
    "case",
    [
        "td_conv_lstm",
        "bidi_gru_last",
        "mask_zero_lstm_seq",
        "masking_gru_seq",
        "lstm_return_state",
        "scan_masked_rnn_seq",
        "gru_backwards_last",
        "flatten_time",
    ],
)
def test_nonempty_still_matches_keras(tmp_path, case):
    """The guards leave real outputs alone: ONNX and NumPy still equal Keras."""
    check(tmp_path, CASES[case], batch=3, time=5)
