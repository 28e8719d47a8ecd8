"""Run ``tdc`` in-process and capture exit code, stdout and stderr."""

from __future__ import annotations

import contextlib
import io

from compiler.cli import main


def tdc(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as e:
            code = int(e.code or 0)
    return code, out.getvalue(), err.getvalue()
