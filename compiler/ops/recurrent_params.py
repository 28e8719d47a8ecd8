"""Keras constructor arguments of SimpleRNN / LSTM / GRU (shared by the three layers)."""

from __future__ import annotations

from typing import Any

from ..frontend.params import (
    REQUIRED,
    Param,
    boolean,
    dense_like_training,
    initializer,
    integer,
    number,
    optional,
    rnn_activation,
)


def _only_false(what: str) -> Any:
    def check(v: Any) -> bool:
        if v is not False:
            raise ValueError(f"false ({what} is not supported yet)")
        return False

    return check


def _cudnn(v: Any) -> Any:
    if v == "auto" or isinstance(v, bool):
        return v
    raise ValueError("auto, true or false")


def rnn_params(gated: bool, extra: dict[str, Param]) -> dict[str, Param]:
    """Keras's constructor arguments shared by the three layers (plus ``extra``).

    Every activation Keras accepts is accepted: the ONNX lowering uses the native op
    when ONNX can express it and a Scan loop with the cell written out otherwise.
    """
    p: dict[str, Param] = {
        "units": Param(REQUIRED, integer(lo=1)),
        "activation": Param("tanh", rnn_activation),
    }
    if gated:
        p["recurrent_activation"] = Param("sigmoid", rnn_activation)
    p |= {
        "use_bias": Param(True, boolean),
        "kernel_initializer": Param("glorot_uniform", initializer),
        "recurrent_initializer": Param("orthogonal", initializer),
        "bias_initializer": Param("zeros", initializer),
        **extra,
        **dense_like_training(["kernel", "recurrent", "bias"]),
        "dropout": Param(0.0, number(lo=0, hi=1)),
        "recurrent_dropout": Param(0.0, number(lo=0, hi=1)),
        "seed": Param(None, optional(integer(lo=0))),
        "return_sequences": Param(False, boolean),
        "return_state": Param(False, boolean),
        "go_backwards": Param(False, boolean),
        "stateful": Param(False, _only_false("stateful: true")),
        "unroll": Param(False, boolean),
    }
    if gated:
        p["use_cudnn"] = Param("auto", _cudnn)
    return p
