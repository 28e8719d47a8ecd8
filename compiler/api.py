"""The compiler as a library: model file -> optimised IR -> ONNX / NumPy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .frontend.loader import ModelSpec, load_model
from .ir.graph import Graph
from .ir.lowering import Builder
from .ir.verify import verify


@dataclass
class Compiled:
    spec: ModelSpec
    graph: Graph  # after the passes
    before: str  # the IR before the passes, as text
    weights: dict[str, np.ndarray]  # Keras variables by "<layer>/<variable>"
    _step: Any = field(default=None, repr=False)

    def onnx(self) -> Any:
        return self._to_onnx(self.graph)

    def _to_onnx(self, graph: Graph) -> Any:
        from .backends.onnx.build import to_onnx
        from .errors import TdcError

        try:
            return to_onnx(graph)
        except TdcError as e:
            line = self.spec.layer_lines().get(e.layer or "")
            raise e.with_context(file=self.spec.file, line=line) from None

    def numpy_source(self, precision: str = "float32") -> tuple[str, dict[str, np.ndarray]]:
        from .backends.numpy.codegen import to_numpy

        name = Path(self.spec.file).name
        return to_numpy(self.graph, name, self.step_or_reason(), precision)

    def step_onnx(self) -> Any:
        """The ONNX model of the step form (``state_in_<k>`` / ``state_out_<k>``)."""
        return self._to_onnx(self.step().graph)

    def step(self) -> Any:
        """The model's step form (``streaming.StepGraph``); a TdcError when it has none."""
        from .streaming.step import step_graph

        if self._step is None:
            self._step = step_graph(self)
        return self._step

    def step_or_reason(self) -> Any:
        """The step form, or why the model has none (without the file's path)."""
        from .errors import TdcError

        try:
            return self.step()
        except TdcError as e:
            where = f"layer '{e.layer}', line {e.line}: " if e.layer and e.line else ""
            return where + e.message


def compile_spec(spec: ModelSpec, optimize: bool = True) -> Compiled:
    """Lower ``spec`` and run the pass pipeline (verifying the graph after every pass)."""
    from .passes import run_pipeline

    builder = Builder(spec)
    graph = builder.build()
    verify(graph)
    before = graph.dump()
    if optimize:
        run_pipeline(graph)
    return Compiled(spec, graph, before, builder.source.taken)


def compile_file(path: str | Path, optimize: bool = True) -> Compiled:
    return compile_spec(load_model(path), optimize)


def with_outputs(spec: ModelSpec, outputs: list[str]) -> ModelSpec:
    """The same model exposing other layers as outputs (for layer-by-layer checks)."""
    from dataclasses import replace

    return replace(spec, outputs=list(outputs))
