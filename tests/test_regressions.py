"""Failures found by the property-based suite (tests/test_properties.py), minimised.

Each test names what went wrong; all compare ONNX and NumPy with live Keras.
"""

import numpy as np
import pytest

from oracle import check, check_inputs, model, td

BN = {"type": "BatchNormalization", "center": False}
POOL = {"type": "MaxPooling2D", "pool_size": [3, 3], "strides": [2, 1], "padding": "same"}


def test_activation_after_timedistributed_batchnorm_is_applied_once(tmp_path):
    """The step graph shared the BatchNormalization's attributes with the whole-sequence
    graph, so fusing the activation there fused it here too: NumPy applied silu twice."""
    silu = {"type": "Activation", "activation": "silu"}
    check(tmp_path, model([5, 6, 1, 4], td(POOL), td(BN), silu), batch=1)


@pytest.mark.parametrize("layer", ["SimpleRNN", "LSTM", "GRU"])
def test_rnn_softplus_large_preactivation_stays_finite(tmp_path, layer):
    """onnxruntime's native RNN Softplus is log(1 + exp(x)): inf past x = 88, where Keras
    gives x. Softplus RNNs now take the Scan form."""
    x = np.random.default_rng(0).normal(0.0, 1.0, (2, 4, 3)).astype(np.float32)
    x[1, 1, 0] = 1e3
    rnn = {"type": layer, "units": 2, "activation": "softplus", "return_sequences": True}
    check_inputs(tmp_path, model([None, 3], rnn), [x])
