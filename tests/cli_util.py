"""Run ``tdc`` in-process and capture exit code, stdout and stderr."""

from __future__ import annotations

import contextlib
import io

from compiler.tools.cli import main


def tdc(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()


#: A small valid model (TimeDistributed Dense then Dense) and its weights, for error tests.
GOOD = """\
inputs:
  x: {shape: [null, 6]}
layers:
  - {name: d1, type: TimeDistributed, layer: {type: Dense, units: 4}}
  - {name: d2, type: Dense, units: 3}
"""


def good_weights() -> dict:
    """Weights for ``GOOD``, keyed as its weights file is."""
    import numpy as np

    rng = np.random.default_rng(0)
    return {
        "d1/kernel": rng.random((6, 4), np.float32),
        "d1/bias": np.zeros(4, np.float32),
        "d2/kernel": rng.random((4, 3), np.float32),
        "d2/bias": np.zeros(3, np.float32),
    }
