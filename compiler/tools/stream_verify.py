"""``tdc verify --streaming``: the step form, frame by frame, against Keras.

An output with a time axis is compared at step ``t`` with Keras's whole-sequence output at
``t``; an output without one with Keras run on the prefix ``x[:, :t+1]`` (when the model's
time axis is fixed, only at the last step, the one prefix Keras accepts).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..api import Compiled
from ..keras.oracle import keras_model, run_keras
from .verify import Row, errors, seeded_inputs


def steps(compiled: Compiled, backend: str, xs: list[np.ndarray]) -> Iterator[dict]:
    """The step form's outputs (by name) at every step of the inputs ``xs``."""
    step = compiled.step()
    names = step.graph.output_names[: len(step.timed)]
    in_names = [v.name for v in step.graph.inputs[: len(xs)]]
    batch, length = xs[0].shape[0], xs[0].shape[1]
    if backend == "onnx":
        from ..backends.onnx.session import session

        sess = session(compiled.step_onnx())
        state = step.zero_feeds(batch)
        outs = [o.name for o in sess.get_outputs()]
        for t in range(length):
            feeds = {n: x[:, t] for n, x in zip(in_names, xs, strict=True)}
            got = dict(zip(outs, sess.run(outs, {**feeds, **state}), strict=True))
            state = {s.onnx_in: got[s.onnx_out] for s in step.states}
            yield {n: got[n] for n in names}
        return
    from ..backends.numpy.codegen import load_module

    model = load_module(*compiled.numpy_source())
    state = model.init_state(batch)
    for t in range(length):
        y, state = model.step([x[:, t] for x in xs], state)
        yield y if isinstance(y, dict) else {names[0]: y}


def _references(compiled: Compiled, xs: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Keras's expected output of every step (None where no prefix can be run)."""
    step = compiled.step()
    names = compiled.graph.output_names
    model = keras_model(compiled.spec, compiled.weights)
    whole = dict(zip(names, run_keras(model, xs), strict=True))
    length = xs[0].shape[1]
    fixed = any(inp.shape[0] is not None for inp in compiled.spec.inputs)
    refs = []
    for t in range(length):
        prefix: dict[str, np.ndarray] = {}
        if not all(step.timed) and (not fixed or t == length - 1):
            outs = run_keras(model, [x[:, : t + 1] for x in xs])
            prefix = dict(zip(names, outs, strict=True))
        refs.append(
            {
                n: whole[n][:, t] if timed else prefix.get(n)
                for n, timed in zip(names, step.timed, strict=True)
            }
        )
    return refs


def compare_steps(
    compiled: Compiled, backends: list[str], batch: int, time: int, atol: float, rtol: float
) -> list[Row]:
    """One row per backend and output: the worst error over all steps; on a mismatch,
    ``time`` is the first step (0-based) that differs, else the number of steps checked."""
    compiled.step()  # refuse a model without a step form before running Keras
    length = compiled.spec.inputs[0].shape[0] or time
    xs = seeded_inputs(compiled.spec, batch, length)
    refs = _references(compiled, xs)
    rows = []
    for backend in backends:
        worst: dict[str, list] = {}
        for t, (got, ref) in enumerate(zip(steps(compiled, backend, xs), refs, strict=True)):
            for name, want in ref.items():
                if want is None:
                    continue
                a, r, ok = errors(np.asarray(got[name]), want, atol, rtol)
                w = worst.setdefault(name, [0.0, 0.0, True, length])
                w[0], w[1] = max(w[0], a), max(w[1], r)
                if not ok and w[2]:
                    w[2], w[3] = False, t
        rows += [Row(backend, n, w[3], w[0], w[1], w[2]) for n, w in worst.items()]
    return rows
