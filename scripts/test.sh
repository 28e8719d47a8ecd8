#!/usr/bin/env bash
# Set up (venv + tdc installed non-editable with the test extra: Keras, JAX, pytest, ruff),
# lint, and run the whole test suite against live Keras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q --force-reinstall --no-deps .
.venv/bin/python -m pip install -q ".[test]"
.venv/bin/ruff check compiler tests benchmarks
# everything, the fourteen keras.applications backbones included; the slowest tests listed
.venv/bin/pytest -q -n "${TDC_TEST_WORKERS:-2}" -p no:cacheprovider --durations=10 tests
