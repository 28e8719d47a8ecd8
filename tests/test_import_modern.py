"""Acceptance: ``tdc import`` of saved Keras functional models mixing the sequence and
volume layers of modern models (ConvLSTM2D, MultiHeadAttention, Attention,
AdditiveAttention, GroupNormalization, UnitNormalization, Conv1DTranspose,
Conv3DTranspose, DepthwiseConv1D, ZeroPadding3D, Cropping3D, UpSampling3D, causal Conv1D),
both backends compared with the ORIGINAL saved model."""

from __future__ import annotations

import pytest
from test_import import L, import_and_compare, keras, normal, perturb

pytestmark = pytest.mark.slow


def video_model() -> object:
    """Frames -> 3D padding, transposed convolution, cropping, upsampling -> ConvLSTM2D ->
    GroupNormalization -> pooled per frame -> causal Conv1D, DepthwiseConv1D,
    Conv1DTranspose -> MultiHeadAttention, UnitNormalization, Attention,
    AdditiveAttention -> per-step scores."""
    frames = keras.Input((5, 4, 4, 2), name="frames")
    x = L.ZeroPadding3D(((0, 0), (1, 1), (1, 1)), name="pad3")(frames)
    x = L.Conv3DTranspose(3, 3, padding="same", name="up3t")(x)
    x = L.Cropping3D(((0, 0), (1, 0), (0, 1)), name="crop3")(x)
    x = L.UpSampling3D((1, 2, 2), name="ups3")(x)
    x = L.ConvLSTM2D(4, 3, padding="same", return_sequences=True, name="clstm")(x)
    x = L.GroupNormalization(groups=2, name="gn")(x)
    x = L.TimeDistributed(L.GlobalAveragePooling2D(), name="pool")(x)
    x = L.Conv1D(6, 3, padding="causal", activation="relu", name="causal")(x)
    x = L.DepthwiseConv1D(3, padding="same", name="dw")(x)
    x = L.Conv1DTranspose(6, 3, padding="same", name="ct1")(x)
    a = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(x, x)
    u = L.UnitNormalization(name="unit")(a)
    b = L.Attention(use_scale=True, name="att")([u, x])
    c = L.AdditiveAttention(name="add_att")([u, x, a])
    y = L.Concatenate(name="join")([u, b, c])
    out = L.Dense(3, name="scores")(y)
    return keras.Model(frames, out, name="modern_video")


def test_import_modern_video_model(tmp_path):
    model = video_model()
    perturb(model)
    import_and_compare(tmp_path, model, [normal(2, 5, 4, 4, 2)])
