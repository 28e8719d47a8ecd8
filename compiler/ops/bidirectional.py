"""Bidirectional: two recurrent nodes (forward, backward) and a merge of their outputs.

Keras 3 semantics: the forward layer is a copy of the wrapped one; the backward layer is
``backward_layer:`` when given (a nested layer entry like ``layer:``) or else a copy of
the wrapped one with ``go_backwards: true``. With ``return_sequences`` the backward output
(in processing order) is flipped back along time, then both are merged (``concat`` on the
last axis, ``sum``, ``mul`` or ``ave``), or, with ``merge_mode: null``, returned as two
outputs ``[forward, backward]``. With ``return_state`` on the wrapped layer the final
states follow: ``[output(s), *forward_states, *backward_states]`` (LSTM: h, c per
direction; GRU and SimpleRNN: h); the backward states are those after reading the whole
sequence from its end, i.e. after step 0. A model file names them ``<layer>:k``.

On a masked input the wrapped RNNs read the mask themselves; with ``return_sequences``
Keras forces ``zero_output_for_mask`` on both directions, so every sequence output is
zeroed at masked steps (``mask_apply``; every merge of zeros is zero) and keeps the mask.
Weights are keyed ``<layer>/forward/<var>`` and ``<layer>/backward/<var>``; the recurrent
nodes keep the RNN op's own weight names. IR ops: ``bidirectional_ops``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, cast

from ..errors import TdcError, did_you_mean, listing
from ..frontend.params import Param
from ..ir.graph import check_rank
from ..ir.registry import OpDef, WeightSpec, get_op, recurrent_layers, register
from .bidirectional_ops import MERGE_MODES  # (importing it registers its IR ops)

if TYPE_CHECKING:
    import numpy as np

    from ..ir.graph import Value
    from ..ir.lowering import Builder, LayerSpec

#: Arguments the two directions must share (Keras checks these too).
SHARED = ("return_sequences", "return_state")
BACKWARD_FORM = (
    "backward_layer: {type: LSTM | GRU | SimpleRNN | ConvLSTM1D | ConvLSTM2D | ConvLSTM3D, "
    "go_backwards: true, ...}"
)


def merge_mode(v: Any) -> str | None:
    """One of ``MERGE_MODES`` as Keras spells it (case-sensitive), or null."""
    if v is None:
        return None
    if not isinstance(v, str) or v not in MERGE_MODES:
        hint = did_you_mean(v, MERGE_MODES)
        raise ValueError(f"{listing(MERGE_MODES)}, or null (two outputs: forward, backward){hint}")
    return v


def backward_layer(v: Any) -> Any:
    """A nested layer entry (parsed and checked by the loader, like ``layer:``) or null."""
    if v is not None and not isinstance(v, dict):
        raise ValueError("null, or a nested layer entry: " + BACKWARD_FORM)
    return v


def _only_null(what: str) -> Any:
    def check(v: Any) -> None:
        if v is not None:
            raise ValueError(f"null ({what} is not supported yet)")

    return check


def n_states(spec: LayerSpec) -> int:
    """How many final states a wrapped RNN returns with ``return_state`` (its op's count)."""
    return get_op(spec.type).n_states


def rank(spec: LayerSpec) -> int:
    """The rank of the sequence a wrapped RNN reads: (N, T, F), or a ConvLSTM's (N, T, *S, C)."""
    return getattr(get_op(spec.type), "rank", 0) + 3


def directions(spec: LayerSpec) -> tuple[LayerSpec, LayerSpec]:
    """The forward and backward layer specs, checked against Keras's rules."""
    fwd, bwd = spec.inner, spec.backward
    assert fwd is not None
    wrappable = recurrent_layers()  # every layer with n_states > 0
    if fwd.type not in wrappable:
        raise TdcError(f"Bidirectional cannot wrap {fwd.label}: accepted are {listing(wrappable)}")
    if fwd.attrs["go_backwards"] and bwd is None:
        raise TdcError(
            "Bidirectional: the wrapped layer must not set go_backwards: true (Keras "
            "refuses it too: the backward copy already runs backwards)"
        )
    if fwd.attrs["go_backwards"]:  # Keras would run the two directions swapped
        raise TdcError(
            "Bidirectional: the wrapped layer must not set go_backwards: true (swapped "
            "directions are not supported)",
            accepted="go_backwards: true on backward_layer only",
        )
    if bwd is None:
        return fwd, dataclasses.replace(fwd, attrs={**fwd.attrs, "go_backwards": True})
    check_backward(fwd, bwd)
    return fwd, bwd


def check_backward(fwd: LayerSpec, bwd: LayerSpec) -> None:
    """Keras's rules for an explicit ``backward_layer`` plus what its shapes need."""

    def refuse(why: str, accepted: str) -> None:
        raise TdcError(f"Bidirectional backward_layer: {why}", accepted=accepted)

    if bwd.type not in recurrent_layers():
        refuse(f"cannot be {bwd.label}", BACKWARD_FORM)
    if not bwd.attrs["go_backwards"]:
        refuse(
            "must set go_backwards: true (Keras requires the two directions to differ in "
            "go_backwards, and the wrapped layer runs forwards)",
            BACKWARD_FORM,
        )
    for key in SHARED:
        if bwd.attrs[key] != fwd.attrs[key]:
            want = str(fwd.attrs[key]).lower()
            refuse(f"{key} must be {want} as on the wrapped layer", f"{key}: {want}")
    size = "units" if "units" in fwd.attrs else "filters"  # a ConvLSTM's size: filters
    if size not in bwd.attrs or rank(fwd) != rank(bwd):
        refuse(f"{bwd.type} cannot run backwards of {fwd.type}", f"type: {fwd.type}")
    if bwd.attrs[size] != fwd.attrs[size]:
        refuse(
            f"{size} {bwd.attrs[size]} differ from the wrapped layer's "
            f"{fwd.attrs[size]} (Keras derives the output shapes from the forward layer)",
            f"{size}: {fwd.attrs[size]}",
        )
    if fwd.attrs["return_state"] and n_states(fwd) != n_states(bwd):
        refuse(
            f"{bwd.type} returns {n_states(bwd)} state(s), the wrapped {fwd.type} "
            f"{n_states(fwd)} (Keras cannot build that model)",
            "with return_state: true, LSTM with LSTM, GRU or SimpleRNN with GRU or SimpleRNN",
        )


class _Prefixed:
    """A Builder whose ``weights`` reads keys under ``<layer>/<prefix><var>``.

    The wrapped op's own ``lower`` runs unchanged and its node keeps plain weight names.
    """

    def __init__(self, b: Builder, prefix: str) -> None:
        self._b = b
        self._prefix = prefix

    def weights(self, specs: dict[str, WeightSpec]) -> dict[str, np.ndarray]:
        got = self._b.weights({self._prefix + k: v for k, v in specs.items()})
        return {k[len(self._prefix) :]: v for k, v in got.items()}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._b, name)


@register("Bidirectional")
class Bidirectional(OpDef):
    """Runs the wrapped RNN over time both ways and merges (or returns) the two results."""

    params: dict = {
        "merge_mode": Param("concat", merge_mode),
        "backward_layer": Param(None, backward_layer),
        "weights": Param(None, _only_null("initial weights as a constructor argument")),
    }
    wrapper = True
    #: The wrapped RNNs read the mask themselves; Keras keeps it on the sequences only.
    mask_flow = "sequence"
    reads_step_mask = True

    def lower(self, b: Builder, spec: LayerSpec, inputs: list[Value]) -> list[Value]:
        fwd_spec, bwd_spec = directions(spec)
        check_rank(inputs[0], (rank(fwd_spec),), "Bidirectional")
        fwd = self.direction(b, fwd_spec, "forward/", inputs)
        bwd = self.direction(b, bwd_spec, "backward/", inputs)
        y, y_rev, states = fwd[0], bwd[0], [*fwd[1:], *bwd[1:]]
        sequences = fwd_spec.attrs["return_sequences"]
        if sequences:
            (y_rev,) = b.emit("reverse_time", [y_rev])
        mode = spec.attrs["merge_mode"]
        outs = [y, y_rev] if mode is None else b.emit("bidi_merge", [y, y_rev], {"mode": mode})
        mask = b.mask(inputs[0]) if hasattr(b, "mask") else None
        if mask is not None and inputs[0].rank > 3:
            raise TdcError(
                f"Bidirectional({fwd_spec.type}) on a masked input is not supported",
                accepted=f"Bidirectional({fwd_spec.type}) without a mask, or {fwd_spec.type} alone",
            )
        if sequences and mask is not None:  # Keras forces zero_output_for_mask on both
            outs = [b.emit("mask_apply", [o, mask])[0] for o in outs]
        return [*outs, *states]

    def direction(self, b: Builder, spec: LayerSpec, prefix: str, ins: list[Value]) -> list[Value]:
        """Lower one direction's RNN with its weights read under ``<layer>/<prefix>``."""
        return get_op(spec.type).lower(cast("Builder", _Prefixed(b, prefix)), spec, ins)
