"""Model 'video_mobilenet', compiled by tdc 0.1.0 from video_mobilenet.yaml.

Standalone: NumPy is the only dependency. Weights live beside this file in a
``.npz`` of the same stem.

    python THIS.py IN.npy [IN2.npy ...] OUT.npy|OUT.npz
    import THIS; THIS.load().predict(x)

One time step at a time (same results as the whole sequence):

    m = THIS.load(); state = m.init_state(batch)
    for x_t in frames: y, state = m.step(x_t, state)
"""

import numpy as np

INPUTS = {
    "frames": ((None, None, 64, 64, 3), np.float32),
}
# integer inputs: their ids index an Embedding, so lie in [0, limit)
ID_LIMITS = {}
OUTPUTS = ("probs",)
# one time step of each input (the time axis removed)
STEP_INPUTS = {
    "frames": ((None, 64, 64, 3), np.float32),
}
# carried state: key -> (shape per sample, layer, which state); zeros before the first
# step, a None axis (the steps so far of an attention layer's key/value cache) empty
STATES = {
    "state_0": ((32,), "lstm", "h"),
    "state_1": ((32,), "lstm", "c"),
}


# ---------------------------------------------------------------- activations


def _relu6(x, out=None):
    return np.clip(x, np.float32(0), np.float32(6), out=out)


def _tanh(x, out=None):
    return np.tanh(x, out=out)


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# ---------------------------------------------------------------- one function per op


# layer 'cnn' (TimeDistributed(Functional)) -> (N*T, 64, 64, 3)
# merge batch and time (N, T, 64, 64, 3)
def cnn_fold(x):
    return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])


# layer 'cnn/Conv1' (Conv2D) -> (N*T, 32, 32, 16)
# cnn/bn_Conv1 folded into cnn/Conv1's kernel
# cnn/Conv1_relu fused into cnn/Conv1
# conv 3x3 window, strides (2, 2), pads ((0, 1), (0, 1))
def cnn_Conv1_conv2d(x, kernel, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 1, x.shape[2] + 1, x.shape[-1]), np.float32)
    xp[:, 0:0 + x.shape[1], 0:0 + x.shape[2]] = x
    x = xp
    # im2col: every window as one row (one copy of the strided view), then one GEMM
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    win = win[:, ::2, ::2]
    cols = win.transpose((0, 1, 2, 4, 5, 3)).reshape(-1, 27)
    y = np.matmul(cols, kernel)
    y = y.reshape(win.shape[:3] + (16,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 16)
    rows += bias
    return _relu6(y, out=y)


# the weights of cnn_Conv1_conv2d as it takes them: made once, by Model.__init__
def cnn_Conv1_conv2d_weights(kernel, bias):
    # the kernel as one (27, 16) matrix: a window's row times it
    kernel = kernel.reshape(27, 16)
    # the bias repeated along the last spatial axis (32): one long add per row
    bias = np.tile(bias, 32)
    return kernel, bias


# layer 'cnn/expanded_conv_depthwise' (DepthwiseConv2D) -> (N*T, 32, 32, 16)
# cnn/expanded_conv_depthwise_BN folded into cnn/expanded_conv_depthwise's kernel
# cnn/expanded_conv_depthwise_relu fused into cnn/expanded_conv_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_expanded_conv_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_expanded_conv_depthwise_depthwise_conv as it takes them: made once, by
# Model.__init__
def cnn_expanded_conv_depthwise_depthwise_conv_weights(kernel, bias):
    # one (16,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 16))
    return depthwise, bias


# layer 'cnn/expanded_conv_project' (Conv2D) -> (N*T, 32, 32, 8)
# cnn/expanded_conv_project_BN folded into cnn/expanded_conv_project's kernel
# conv 1x1 window
def cnn_expanded_conv_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 16), kernel).reshape(x.shape[:-1] + (8,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 8)
    rows += bias
    return y


# the weights of cnn_expanded_conv_project_conv2d as it takes them: made once, by Model.__init__
def cnn_expanded_conv_project_conv2d_weights(kernel, bias):
    # the kernel as one (16, 8) matrix: a window's row times it
    kernel = kernel.reshape(16, 8)
    # the bias repeated along the last spatial axis (32): one long add per row
    bias = np.tile(bias, 32)
    return kernel, bias


# layer 'cnn/block_1_expand' (Conv2D) -> (N*T, 32, 32, 48)
# cnn/block_1_expand_BN folded into cnn/block_1_expand's kernel
# cnn/block_1_expand_relu fused into cnn/block_1_expand
# conv 1x1 window
def cnn_block_1_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 8), kernel).reshape(x.shape[:-1] + (48,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 48)
    rows += bias
    return _relu6(y, out=y)


# the weights of cnn_block_1_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_1_expand_conv2d_weights(kernel, bias):
    # the kernel as one (8, 48) matrix: a window's row times it
    kernel = kernel.reshape(8, 48)
    # the bias repeated along the last spatial axis (32): one long add per row
    bias = np.tile(bias, 32)
    return kernel, bias


# layer 'cnn/block_1_depthwise' (DepthwiseConv2D) -> (N*T, 16, 16, 48)
# cnn/block_1_depthwise_BN folded into cnn/block_1_depthwise's kernel
# cnn/block_1_pad fused into cnn/block_1_depthwise
# cnn/block_1_depthwise_relu fused into cnn/block_1_depthwise
# depthwise conv 3x3 window, strides (2, 2), pads ((0, 1), (0, 1)), multiplier 1
def cnn_block_1_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 1, x.shape[2] + 1, x.shape[-1]), np.float32)
    xp[:, 0:0 + x.shape[1], 0:0 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    win = win[:, ::2, ::2]
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_1_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_1_depthwise_depthwise_conv_weights(kernel, bias):
    # one (48,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 48))
    return depthwise, bias


# layer 'cnn/block_1_project' (Conv2D) -> (N*T, 16, 16, 8)
# cnn/block_1_project_BN folded into cnn/block_1_project's kernel
# conv 1x1 window
def cnn_block_1_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 48), kernel).reshape(x.shape[:-1] + (8,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 8)
    rows += bias
    return y


# the weights of cnn_block_1_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_1_project_conv2d_weights(kernel, bias):
    # the kernel as one (48, 8) matrix: a window's row times it
    kernel = kernel.reshape(48, 8)
    # the bias repeated along the last spatial axis (16): one long add per row
    bias = np.tile(bias, 16)
    return kernel, bias


# layer 'cnn/block_2_expand' (Conv2D) -> (N*T, 16, 16, 48)
# cnn/block_2_expand_BN folded into cnn/block_2_expand's kernel
# cnn/block_2_expand_relu fused into cnn/block_2_expand
# conv 1x1 window
def cnn_block_2_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 8), kernel).reshape(x.shape[:-1] + (48,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 48)
    rows += bias
    return _relu6(y, out=y)


# the weights of cnn_block_2_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_2_expand_conv2d_weights(kernel, bias):
    # the kernel as one (8, 48) matrix: a window's row times it
    kernel = kernel.reshape(8, 48)
    # the bias repeated along the last spatial axis (16): one long add per row
    bias = np.tile(bias, 16)
    return kernel, bias


# layer 'cnn/block_2_depthwise' (DepthwiseConv2D) -> (N*T, 16, 16, 48)
# cnn/block_2_depthwise_BN folded into cnn/block_2_depthwise's kernel
# cnn/block_2_depthwise_relu fused into cnn/block_2_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_2_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_2_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_2_depthwise_depthwise_conv_weights(kernel, bias):
    # one (48,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 48))
    return depthwise, bias


# layer 'cnn/block_2_project' (Conv2D) -> (N*T, 16, 16, 8)
# cnn/block_2_project_BN folded into cnn/block_2_project's kernel
# conv 1x1 window
def cnn_block_2_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 48), kernel).reshape(x.shape[:-1] + (8,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 8)
    rows += bias
    return y


# the weights of cnn_block_2_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_2_project_conv2d_weights(kernel, bias):
    # the kernel as one (48, 8) matrix: a window's row times it
    kernel = kernel.reshape(48, 8)
    # the bias repeated along the last spatial axis (16): one long add per row
    bias = np.tile(bias, 16)
    return kernel, bias


# layer 'cnn/block_2_add' (Add) -> (N*T, 16, 16, 8)
# add of 2 inputs
def cnn_block_2_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_3_expand' (Conv2D) -> (N*T, 16, 16, 48)
# cnn/block_3_expand_BN folded into cnn/block_3_expand's kernel
# cnn/block_3_expand_relu fused into cnn/block_3_expand
# conv 1x1 window
def cnn_block_3_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 8), kernel).reshape(x.shape[:-1] + (48,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 48)
    rows += bias
    return _relu6(y, out=y)


# the weights of cnn_block_3_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_3_expand_conv2d_weights(kernel, bias):
    # the kernel as one (8, 48) matrix: a window's row times it
    kernel = kernel.reshape(8, 48)
    # the bias repeated along the last spatial axis (16): one long add per row
    bias = np.tile(bias, 16)
    return kernel, bias


# layer 'cnn/block_3_depthwise' (DepthwiseConv2D) -> (N*T, 8, 8, 48)
# cnn/block_3_depthwise_BN folded into cnn/block_3_depthwise's kernel
# cnn/block_3_pad fused into cnn/block_3_depthwise
# cnn/block_3_depthwise_relu fused into cnn/block_3_depthwise
# depthwise conv 3x3 window, strides (2, 2), pads ((0, 1), (0, 1)), multiplier 1
def cnn_block_3_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 1, x.shape[2] + 1, x.shape[-1]), np.float32)
    xp[:, 0:0 + x.shape[1], 0:0 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    win = win[:, ::2, ::2]
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_3_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_3_depthwise_depthwise_conv_weights(kernel, bias):
    # one (48,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 48))
    return depthwise, bias


# layer 'cnn/block_3_project' (Conv2D) -> (N*T, 8, 8, 16)
# cnn/block_3_project_BN folded into cnn/block_3_project's kernel
# conv 1x1 window
def cnn_block_3_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 48), kernel).reshape(x.shape[:-1] + (16,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 16)
    rows += bias
    return y


# the weights of cnn_block_3_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_3_project_conv2d_weights(kernel, bias):
    # the kernel as one (48, 16) matrix: a window's row times it
    kernel = kernel.reshape(48, 16)
    # the bias repeated along the last spatial axis (8): one long add per row
    bias = np.tile(bias, 8)
    return kernel, bias


# layer 'cnn/block_4_expand' (Conv2D) -> (N*T, 8, 8, 96)
# cnn/block_4_expand_BN folded into cnn/block_4_expand's kernel
# cnn/block_4_expand_relu fused into cnn/block_4_expand
# conv 1x1 window
def cnn_block_4_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 16), kernel).reshape(x.shape[:-1] + (96,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_4_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_4_expand_conv2d_weights(kernel, bias):
    # the kernel as one (16, 96) matrix: a window's row times it
    kernel = kernel.reshape(16, 96)
    return kernel, bias


# layer 'cnn/block_4_depthwise' (DepthwiseConv2D) -> (N*T, 8, 8, 96)
# cnn/block_4_depthwise_BN folded into cnn/block_4_depthwise's kernel
# cnn/block_4_depthwise_relu fused into cnn/block_4_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_4_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_4_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_4_depthwise_depthwise_conv_weights(kernel, bias):
    # one (96,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 96))
    return depthwise, bias


# layer 'cnn/block_4_project' (Conv2D) -> (N*T, 8, 8, 16)
# cnn/block_4_project_BN folded into cnn/block_4_project's kernel
# conv 1x1 window
def cnn_block_4_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 96), kernel).reshape(x.shape[:-1] + (16,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 16)
    rows += bias
    return y


# the weights of cnn_block_4_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_4_project_conv2d_weights(kernel, bias):
    # the kernel as one (96, 16) matrix: a window's row times it
    kernel = kernel.reshape(96, 16)
    # the bias repeated along the last spatial axis (8): one long add per row
    bias = np.tile(bias, 8)
    return kernel, bias


# layer 'cnn/block_4_add' (Add) -> (N*T, 8, 8, 16)
# add of 2 inputs
def cnn_block_4_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_5_expand' (Conv2D) -> (N*T, 8, 8, 96)
# cnn/block_5_expand_BN folded into cnn/block_5_expand's kernel
# cnn/block_5_expand_relu fused into cnn/block_5_expand
# conv 1x1 window
def cnn_block_5_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 16), kernel).reshape(x.shape[:-1] + (96,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_5_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_5_expand_conv2d_weights(kernel, bias):
    # the kernel as one (16, 96) matrix: a window's row times it
    kernel = kernel.reshape(16, 96)
    return kernel, bias


# layer 'cnn/block_5_depthwise' (DepthwiseConv2D) -> (N*T, 8, 8, 96)
# cnn/block_5_depthwise_BN folded into cnn/block_5_depthwise's kernel
# cnn/block_5_depthwise_relu fused into cnn/block_5_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_5_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_5_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_5_depthwise_depthwise_conv_weights(kernel, bias):
    # one (96,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 96))
    return depthwise, bias


# layer 'cnn/block_5_project' (Conv2D) -> (N*T, 8, 8, 16)
# cnn/block_5_project_BN folded into cnn/block_5_project's kernel
# conv 1x1 window
def cnn_block_5_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 96), kernel).reshape(x.shape[:-1] + (16,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 16)
    rows += bias
    return y


# the weights of cnn_block_5_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_5_project_conv2d_weights(kernel, bias):
    # the kernel as one (96, 16) matrix: a window's row times it
    kernel = kernel.reshape(96, 16)
    # the bias repeated along the last spatial axis (8): one long add per row
    bias = np.tile(bias, 8)
    return kernel, bias


# layer 'cnn/block_5_add' (Add) -> (N*T, 8, 8, 16)
# add of 2 inputs
def cnn_block_5_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_6_expand' (Conv2D) -> (N*T, 8, 8, 96)
# cnn/block_6_expand_BN folded into cnn/block_6_expand's kernel
# cnn/block_6_expand_relu fused into cnn/block_6_expand
# conv 1x1 window
def cnn_block_6_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 16), kernel).reshape(x.shape[:-1] + (96,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_6_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_6_expand_conv2d_weights(kernel, bias):
    # the kernel as one (16, 96) matrix: a window's row times it
    kernel = kernel.reshape(16, 96)
    return kernel, bias


# layer 'cnn/block_6_depthwise' (DepthwiseConv2D) -> (N*T, 4, 4, 96)
# cnn/block_6_depthwise_BN folded into cnn/block_6_depthwise's kernel
# cnn/block_6_pad fused into cnn/block_6_depthwise
# cnn/block_6_depthwise_relu fused into cnn/block_6_depthwise
# depthwise conv 3x3 window, strides (2, 2), pads ((0, 1), (0, 1)), multiplier 1
def cnn_block_6_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 1, x.shape[2] + 1, x.shape[-1]), np.float32)
    xp[:, 0:0 + x.shape[1], 0:0 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    win = win[:, ::2, ::2]
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_6_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_6_depthwise_depthwise_conv_weights(kernel, bias):
    # one (96,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 96))
    return depthwise, bias


# layer 'cnn/block_6_project' (Conv2D) -> (N*T, 4, 4, 24)
# cnn/block_6_project_BN folded into cnn/block_6_project's kernel
# conv 1x1 window
def cnn_block_6_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 96), kernel).reshape(x.shape[:-1] + (24,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 24)
    rows += bias
    return y


# the weights of cnn_block_6_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_6_project_conv2d_weights(kernel, bias):
    # the kernel as one (96, 24) matrix: a window's row times it
    kernel = kernel.reshape(96, 24)
    # the bias repeated along the last spatial axis (4): one long add per row
    bias = np.tile(bias, 4)
    return kernel, bias


# layer 'cnn/block_7_expand' (Conv2D) -> (N*T, 4, 4, 144)
# cnn/block_7_expand_BN folded into cnn/block_7_expand's kernel
# cnn/block_7_expand_relu fused into cnn/block_7_expand
# conv 1x1 window
def cnn_block_7_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 24), kernel).reshape(x.shape[:-1] + (144,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_7_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_7_expand_conv2d_weights(kernel, bias):
    # the kernel as one (24, 144) matrix: a window's row times it
    kernel = kernel.reshape(24, 144)
    return kernel, bias


# layer 'cnn/block_7_depthwise' (DepthwiseConv2D) -> (N*T, 4, 4, 144)
# cnn/block_7_depthwise_BN folded into cnn/block_7_depthwise's kernel
# cnn/block_7_depthwise_relu fused into cnn/block_7_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_7_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_7_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_7_depthwise_depthwise_conv_weights(kernel, bias):
    # one (144,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 144))
    return depthwise, bias


# layer 'cnn/block_7_project' (Conv2D) -> (N*T, 4, 4, 24)
# cnn/block_7_project_BN folded into cnn/block_7_project's kernel
# conv 1x1 window
def cnn_block_7_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 144), kernel).reshape(x.shape[:-1] + (24,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 24)
    rows += bias
    return y


# the weights of cnn_block_7_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_7_project_conv2d_weights(kernel, bias):
    # the kernel as one (144, 24) matrix: a window's row times it
    kernel = kernel.reshape(144, 24)
    # the bias repeated along the last spatial axis (4): one long add per row
    bias = np.tile(bias, 4)
    return kernel, bias


# layer 'cnn/block_7_add' (Add) -> (N*T, 4, 4, 24)
# add of 2 inputs
def cnn_block_7_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_8_expand' (Conv2D) -> (N*T, 4, 4, 144)
# cnn/block_8_expand_BN folded into cnn/block_8_expand's kernel
# cnn/block_8_expand_relu fused into cnn/block_8_expand
# conv 1x1 window
def cnn_block_8_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 24), kernel).reshape(x.shape[:-1] + (144,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_8_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_8_expand_conv2d_weights(kernel, bias):
    # the kernel as one (24, 144) matrix: a window's row times it
    kernel = kernel.reshape(24, 144)
    return kernel, bias


# layer 'cnn/block_8_depthwise' (DepthwiseConv2D) -> (N*T, 4, 4, 144)
# cnn/block_8_depthwise_BN folded into cnn/block_8_depthwise's kernel
# cnn/block_8_depthwise_relu fused into cnn/block_8_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_8_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_8_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_8_depthwise_depthwise_conv_weights(kernel, bias):
    # one (144,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 144))
    return depthwise, bias


# layer 'cnn/block_8_project' (Conv2D) -> (N*T, 4, 4, 24)
# cnn/block_8_project_BN folded into cnn/block_8_project's kernel
# conv 1x1 window
def cnn_block_8_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 144), kernel).reshape(x.shape[:-1] + (24,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 24)
    rows += bias
    return y


# the weights of cnn_block_8_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_8_project_conv2d_weights(kernel, bias):
    # the kernel as one (144, 24) matrix: a window's row times it
    kernel = kernel.reshape(144, 24)
    # the bias repeated along the last spatial axis (4): one long add per row
    bias = np.tile(bias, 4)
    return kernel, bias


# layer 'cnn/block_8_add' (Add) -> (N*T, 4, 4, 24)
# add of 2 inputs
def cnn_block_8_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_9_expand' (Conv2D) -> (N*T, 4, 4, 144)
# cnn/block_9_expand_BN folded into cnn/block_9_expand's kernel
# cnn/block_9_expand_relu fused into cnn/block_9_expand
# conv 1x1 window
def cnn_block_9_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 24), kernel).reshape(x.shape[:-1] + (144,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_9_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_9_expand_conv2d_weights(kernel, bias):
    # the kernel as one (24, 144) matrix: a window's row times it
    kernel = kernel.reshape(24, 144)
    return kernel, bias


# layer 'cnn/block_9_depthwise' (DepthwiseConv2D) -> (N*T, 4, 4, 144)
# cnn/block_9_depthwise_BN folded into cnn/block_9_depthwise's kernel
# cnn/block_9_depthwise_relu fused into cnn/block_9_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_9_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_9_depthwise_depthwise_conv as it takes them: made once, by Model.__init__
def cnn_block_9_depthwise_depthwise_conv_weights(kernel, bias):
    # one (144,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 144))
    return depthwise, bias


# layer 'cnn/block_9_project' (Conv2D) -> (N*T, 4, 4, 24)
# cnn/block_9_project_BN folded into cnn/block_9_project's kernel
# conv 1x1 window
def cnn_block_9_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 144), kernel).reshape(x.shape[:-1] + (24,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 24)
    rows += bias
    return y


# the weights of cnn_block_9_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_9_project_conv2d_weights(kernel, bias):
    # the kernel as one (144, 24) matrix: a window's row times it
    kernel = kernel.reshape(144, 24)
    # the bias repeated along the last spatial axis (4): one long add per row
    bias = np.tile(bias, 4)
    return kernel, bias


# layer 'cnn/block_9_add' (Add) -> (N*T, 4, 4, 24)
# add of 2 inputs
def cnn_block_9_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_10_expand' (Conv2D) -> (N*T, 4, 4, 144)
# cnn/block_10_expand_BN folded into cnn/block_10_expand's kernel
# cnn/block_10_expand_relu fused into cnn/block_10_expand
# conv 1x1 window
def cnn_block_10_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 24), kernel).reshape(x.shape[:-1] + (144,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_10_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_10_expand_conv2d_weights(kernel, bias):
    # the kernel as one (24, 144) matrix: a window's row times it
    kernel = kernel.reshape(24, 144)
    return kernel, bias


# layer 'cnn/block_10_depthwise' (DepthwiseConv2D) -> (N*T, 4, 4, 144)
# cnn/block_10_depthwise_BN folded into cnn/block_10_depthwise's kernel
# cnn/block_10_depthwise_relu fused into cnn/block_10_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_10_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_10_depthwise_depthwise_conv as it takes them: made once, by
# Model.__init__
def cnn_block_10_depthwise_depthwise_conv_weights(kernel, bias):
    # one (144,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 144))
    return depthwise, bias


# layer 'cnn/block_10_project' (Conv2D) -> (N*T, 4, 4, 32)
# cnn/block_10_project_BN folded into cnn/block_10_project's kernel
# conv 1x1 window
def cnn_block_10_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 144), kernel).reshape(x.shape[:-1] + (32,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 32)
    rows += bias
    return y


# the weights of cnn_block_10_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_10_project_conv2d_weights(kernel, bias):
    # the kernel as one (144, 32) matrix: a window's row times it
    kernel = kernel.reshape(144, 32)
    # the bias repeated along the last spatial axis (4): one long add per row
    bias = np.tile(bias, 4)
    return kernel, bias


# layer 'cnn/block_11_expand' (Conv2D) -> (N*T, 4, 4, 192)
# cnn/block_11_expand_BN folded into cnn/block_11_expand's kernel
# cnn/block_11_expand_relu fused into cnn/block_11_expand
# conv 1x1 window
def cnn_block_11_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 32), kernel).reshape(x.shape[:-1] + (192,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_11_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_11_expand_conv2d_weights(kernel, bias):
    # the kernel as one (32, 192) matrix: a window's row times it
    kernel = kernel.reshape(32, 192)
    return kernel, bias


# layer 'cnn/block_11_depthwise' (DepthwiseConv2D) -> (N*T, 4, 4, 192)
# cnn/block_11_depthwise_BN folded into cnn/block_11_depthwise's kernel
# cnn/block_11_depthwise_relu fused into cnn/block_11_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_11_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_11_depthwise_depthwise_conv as it takes them: made once, by
# Model.__init__
def cnn_block_11_depthwise_depthwise_conv_weights(kernel, bias):
    # one (192,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 192))
    return depthwise, bias


# layer 'cnn/block_11_project' (Conv2D) -> (N*T, 4, 4, 32)
# cnn/block_11_project_BN folded into cnn/block_11_project's kernel
# conv 1x1 window
def cnn_block_11_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 192), kernel).reshape(x.shape[:-1] + (32,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 32)
    rows += bias
    return y


# the weights of cnn_block_11_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_11_project_conv2d_weights(kernel, bias):
    # the kernel as one (192, 32) matrix: a window's row times it
    kernel = kernel.reshape(192, 32)
    # the bias repeated along the last spatial axis (4): one long add per row
    bias = np.tile(bias, 4)
    return kernel, bias


# layer 'cnn/block_11_add' (Add) -> (N*T, 4, 4, 32)
# add of 2 inputs
def cnn_block_11_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_12_expand' (Conv2D) -> (N*T, 4, 4, 192)
# cnn/block_12_expand_BN folded into cnn/block_12_expand's kernel
# cnn/block_12_expand_relu fused into cnn/block_12_expand
# conv 1x1 window
def cnn_block_12_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 32), kernel).reshape(x.shape[:-1] + (192,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_12_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_12_expand_conv2d_weights(kernel, bias):
    # the kernel as one (32, 192) matrix: a window's row times it
    kernel = kernel.reshape(32, 192)
    return kernel, bias


# layer 'cnn/block_12_depthwise' (DepthwiseConv2D) -> (N*T, 4, 4, 192)
# cnn/block_12_depthwise_BN folded into cnn/block_12_depthwise's kernel
# cnn/block_12_depthwise_relu fused into cnn/block_12_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_12_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_12_depthwise_depthwise_conv as it takes them: made once, by
# Model.__init__
def cnn_block_12_depthwise_depthwise_conv_weights(kernel, bias):
    # one (192,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 192))
    return depthwise, bias


# layer 'cnn/block_12_project' (Conv2D) -> (N*T, 4, 4, 32)
# cnn/block_12_project_BN folded into cnn/block_12_project's kernel
# conv 1x1 window
def cnn_block_12_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 192), kernel).reshape(x.shape[:-1] + (32,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 32)
    rows += bias
    return y


# the weights of cnn_block_12_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_12_project_conv2d_weights(kernel, bias):
    # the kernel as one (192, 32) matrix: a window's row times it
    kernel = kernel.reshape(192, 32)
    # the bias repeated along the last spatial axis (4): one long add per row
    bias = np.tile(bias, 4)
    return kernel, bias


# layer 'cnn/block_12_add' (Add) -> (N*T, 4, 4, 32)
# add of 2 inputs
def cnn_block_12_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_13_expand' (Conv2D) -> (N*T, 4, 4, 192)
# cnn/block_13_expand_BN folded into cnn/block_13_expand's kernel
# cnn/block_13_expand_relu fused into cnn/block_13_expand
# conv 1x1 window
def cnn_block_13_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 32), kernel).reshape(x.shape[:-1] + (192,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_13_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_13_expand_conv2d_weights(kernel, bias):
    # the kernel as one (32, 192) matrix: a window's row times it
    kernel = kernel.reshape(32, 192)
    return kernel, bias


# layer 'cnn/block_13_depthwise' (DepthwiseConv2D) -> (N*T, 2, 2, 192)
# cnn/block_13_depthwise_BN folded into cnn/block_13_depthwise's kernel
# cnn/block_13_pad fused into cnn/block_13_depthwise
# cnn/block_13_depthwise_relu fused into cnn/block_13_depthwise
# depthwise conv 3x3 window, strides (2, 2), pads ((0, 1), (0, 1)), multiplier 1
def cnn_block_13_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 1, x.shape[2] + 1, x.shape[-1]), np.float32)
    xp[:, 0:0 + x.shape[1], 0:0 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    win = win[:, ::2, ::2]
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_13_depthwise_depthwise_conv as it takes them: made once, by
# Model.__init__
def cnn_block_13_depthwise_depthwise_conv_weights(kernel, bias):
    # one (192,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 192))
    return depthwise, bias


# layer 'cnn/block_13_project' (Conv2D) -> (N*T, 2, 2, 56)
# cnn/block_13_project_BN folded into cnn/block_13_project's kernel
# conv 1x1 window
def cnn_block_13_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 192), kernel).reshape(x.shape[:-1] + (56,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 56)
    rows += bias
    return y


# the weights of cnn_block_13_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_13_project_conv2d_weights(kernel, bias):
    # the kernel as one (192, 56) matrix: a window's row times it
    kernel = kernel.reshape(192, 56)
    # the bias repeated along the last spatial axis (2): one long add per row
    bias = np.tile(bias, 2)
    return kernel, bias


# layer 'cnn/block_14_expand' (Conv2D) -> (N*T, 2, 2, 336)
# cnn/block_14_expand_BN folded into cnn/block_14_expand's kernel
# cnn/block_14_expand_relu fused into cnn/block_14_expand
# conv 1x1 window
def cnn_block_14_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 56), kernel).reshape(x.shape[:-1] + (336,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_14_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_14_expand_conv2d_weights(kernel, bias):
    # the kernel as one (56, 336) matrix: a window's row times it
    kernel = kernel.reshape(56, 336)
    return kernel, bias


# layer 'cnn/block_14_depthwise' (DepthwiseConv2D) -> (N*T, 2, 2, 336)
# cnn/block_14_depthwise_BN folded into cnn/block_14_depthwise's kernel
# cnn/block_14_depthwise_relu fused into cnn/block_14_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_14_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_14_depthwise_depthwise_conv as it takes them: made once, by
# Model.__init__
def cnn_block_14_depthwise_depthwise_conv_weights(kernel, bias):
    # one (336,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 336))
    return depthwise, bias


# layer 'cnn/block_14_project' (Conv2D) -> (N*T, 2, 2, 56)
# cnn/block_14_project_BN folded into cnn/block_14_project's kernel
# conv 1x1 window
def cnn_block_14_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 336), kernel).reshape(x.shape[:-1] + (56,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 56)
    rows += bias
    return y


# the weights of cnn_block_14_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_14_project_conv2d_weights(kernel, bias):
    # the kernel as one (336, 56) matrix: a window's row times it
    kernel = kernel.reshape(336, 56)
    # the bias repeated along the last spatial axis (2): one long add per row
    bias = np.tile(bias, 2)
    return kernel, bias


# layer 'cnn/block_14_add' (Add) -> (N*T, 2, 2, 56)
# add of 2 inputs
def cnn_block_14_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_15_expand' (Conv2D) -> (N*T, 2, 2, 336)
# cnn/block_15_expand_BN folded into cnn/block_15_expand's kernel
# cnn/block_15_expand_relu fused into cnn/block_15_expand
# conv 1x1 window
def cnn_block_15_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 56), kernel).reshape(x.shape[:-1] + (336,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_15_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_15_expand_conv2d_weights(kernel, bias):
    # the kernel as one (56, 336) matrix: a window's row times it
    kernel = kernel.reshape(56, 336)
    return kernel, bias


# layer 'cnn/block_15_depthwise' (DepthwiseConv2D) -> (N*T, 2, 2, 336)
# cnn/block_15_depthwise_BN folded into cnn/block_15_depthwise's kernel
# cnn/block_15_depthwise_relu fused into cnn/block_15_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_15_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_15_depthwise_depthwise_conv as it takes them: made once, by
# Model.__init__
def cnn_block_15_depthwise_depthwise_conv_weights(kernel, bias):
    # one (336,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 336))
    return depthwise, bias


# layer 'cnn/block_15_project' (Conv2D) -> (N*T, 2, 2, 56)
# cnn/block_15_project_BN folded into cnn/block_15_project's kernel
# conv 1x1 window
def cnn_block_15_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 336), kernel).reshape(x.shape[:-1] + (56,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 56)
    rows += bias
    return y


# the weights of cnn_block_15_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_15_project_conv2d_weights(kernel, bias):
    # the kernel as one (336, 56) matrix: a window's row times it
    kernel = kernel.reshape(336, 56)
    # the bias repeated along the last spatial axis (2): one long add per row
    bias = np.tile(bias, 2)
    return kernel, bias


# layer 'cnn/block_15_add' (Add) -> (N*T, 2, 2, 56)
# add of 2 inputs
def cnn_block_15_add_merge(x0, x1):
    y = x0
    y = y + x1
    return y


# layer 'cnn/block_16_expand' (Conv2D) -> (N*T, 2, 2, 336)
# cnn/block_16_expand_BN folded into cnn/block_16_expand's kernel
# cnn/block_16_expand_relu fused into cnn/block_16_expand
# conv 1x1 window
def cnn_block_16_expand_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 56), kernel).reshape(x.shape[:-1] + (336,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_16_expand_conv2d as it takes them: made once, by Model.__init__
def cnn_block_16_expand_conv2d_weights(kernel, bias):
    # the kernel as one (56, 336) matrix: a window's row times it
    kernel = kernel.reshape(56, 336)
    return kernel, bias


# layer 'cnn/block_16_depthwise' (DepthwiseConv2D) -> (N*T, 2, 2, 336)
# cnn/block_16_depthwise_BN folded into cnn/block_16_depthwise's kernel
# cnn/block_16_depthwise_relu fused into cnn/block_16_depthwise
# depthwise conv 3x3 window, pads ((1, 1), (1, 1)), multiplier 1
def cnn_block_16_depthwise_depthwise_conv(x, depthwise, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # every window as one strided view of x: (N, *positions, channels, *taps)
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    # each output channel the sum over its window taps of tap x weight: one einsum over
    # the strided view (no copy of the windows)
    y = np.einsum("npqcij,ijc->npqc", win, depthwise)
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_block_16_depthwise_depthwise_conv as it takes them: made once, by
# Model.__init__
def cnn_block_16_depthwise_depthwise_conv_weights(kernel, bias):
    # one (336,) vector of channel weights per window tap
    depthwise = kernel.reshape((3, 3, 336))
    return depthwise, bias


# layer 'cnn/block_16_project' (Conv2D) -> (N*T, 2, 2, 112)
# cnn/block_16_project_BN folded into cnn/block_16_project's kernel
# conv 1x1 window
def cnn_block_16_project_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 336), kernel).reshape(x.shape[:-1] + (112,))
    y += bias
    return y


# the weights of cnn_block_16_project_conv2d as it takes them: made once, by Model.__init__
def cnn_block_16_project_conv2d_weights(kernel, bias):
    # the kernel as one (336, 112) matrix: a window's row times it
    kernel = kernel.reshape(336, 112)
    return kernel, bias


# layer 'cnn/Conv_1' (Conv2D) -> (N*T, 2, 2, 1280)
# cnn/Conv_1_bn folded into cnn/Conv_1's kernel
# cnn/out_relu fused into cnn/Conv_1
# conv 1x1 window
def cnn_Conv_1_conv2d(x, kernel, bias):
    # a 1x1 window: each position's channels times the kernel, all positions in one GEMM
    y = np.matmul(x.reshape(-1, 112), kernel).reshape(x.shape[:-1] + (1280,))
    y += bias
    return _relu6(y, out=y)


# the weights of cnn_Conv_1_conv2d as it takes them: made once, by Model.__init__
def cnn_Conv_1_conv2d_weights(kernel, bias):
    # the kernel as one (112, 1280) matrix: a window's row times it
    kernel = kernel.reshape(112, 1280)
    return kernel, bias


# layer 'cnn/global_average_pooling2d' (GlobalAveragePooling2D) -> (N*T, 1280)
# mean over axes (1, 2)
def cnn_global_average_pooling2d_global_pool(x):
    return x.mean(axis=(1, 2))


# layer 'cnn' (TimeDistributed(Functional)) -> (N, T, 1280)
# split batch and time back (as in like)
def cnn_unfold(x, like):
    return x.reshape(like.shape[:2] + x.shape[1:])


# layer 'lstm' (LSTM) -> (N, 32)
# LSTM, gates i, f, c, o over time
def lstm_lstm(x, kernel, recurrent_kernel, bias, half, shift):
    n, steps, features = x.shape
    # input projection of every time step in one GEMM
    xw = np.matmul(x.reshape(n * steps, features), kernel).reshape(n, steps, 128)
    xw += bias
    h = np.zeros((n, 32), np.float32)
    c = np.zeros((n, 32), np.float32)
    z = np.empty((n, 128), np.float32)
    ic = np.empty((n, 32), np.float32)
    for t in range(steps):
        np.matmul(h, recurrent_kernel, out=z)
        z += xw[:, t]
        # the gates: sigmoid as tanh of the halved columns (the weights came halved)
        np.tanh(z, out=z)
        z *= half
        z += shift
        c *= z[:, 32:64]
        np.multiply(z[:, 0:32], z[:, 64:96], out=ic)
        c += ic
        np.multiply(z[:, 96:128], np.tanh(c, out=ic), out=h)
    y = h
    return y


# the weights of lstm_lstm as it takes them: made once, by Model.__init__
def lstm_lstm_weights(kernel, recurrent_kernel, bias):
    # sigmoid(v) = tanh(v / 2) / 2 + 1 / 2: with the i, f and o columns halved (exact in
    # binary floating point) one tanh call per step serves all four gates
    half = np.repeat(np.float32([0.5, 0.5, 1, 0.5]), 32)
    shift = np.repeat(np.float32([0.5, 0.5, 0, 0.5]), 32)
    kernel = kernel * half
    recurrent_kernel = recurrent_kernel * half
    bias = bias * half
    return kernel, recurrent_kernel, bias, half, shift


# layer 'probs' (Dense) -> (N, 5)
# x @ kernel + bias
def probs_dense(x, kernel, bias):
    y = np.matmul(x, kernel)
    y += bias
    return _softmax(y, axis=-1)


# ---------------------------------------------------------------- one time step


# layer 'lstm' (LSTM) -> (N, 1, 1280)
# reshape
def step_lstm_reshape(x):
    return x.reshape((x.shape[0], 1, 1280))


# layer 'lstm' (LSTM) -> (N, 32)
# LSTM, gates i, f, c, o over time
def step_lstm_lstm(x, h0, c0, kernel, recurrent_kernel, bias, half, shift):
    n, steps, features = x.shape
    # input projection of every time step in one GEMM
    xw = np.matmul(x.reshape(n * steps, features), kernel).reshape(n, steps, 128)
    xw += bias
    h, c = np.array(h0, np.float32), np.array(c0, np.float32)
    z = np.empty((n, 128), np.float32)
    ic = np.empty((n, 32), np.float32)
    for t in range(steps):
        np.matmul(h, recurrent_kernel, out=z)
        z += xw[:, t]
        # the gates: sigmoid as tanh of the halved columns (the weights came halved)
        np.tanh(z, out=z)
        z *= half
        z += shift
        c *= z[:, 32:64]
        np.multiply(z[:, 0:32], z[:, 64:96], out=ic)
        c += ic
        np.multiply(z[:, 96:128], np.tanh(c, out=ic), out=h)
    y = h
    return y, h, c


# ---------------------------------------------------------------- the model


def _check(name, x, table=INPUTS):
    """Input ``name`` (a key of ``table``) as the model takes it, or ValueError naming it."""
    shape, dtype = table[name]
    x = _array(f"input {name!r}", x, shape, dtype)
    limit = ID_LIMITS.get(name)
    if limit is not None and x.size and (x.min() < 0 or x.max() >= limit):
        raise ValueError(f"input {name!r}: ids {x.min()} to {x.max()}, expected [0, {limit})")
    return x


def _array(what, x, shape, dtype):
    """``x`` as an array of ``dtype`` and ``shape`` (None: any length), as the command line
    takes it: real numbers (integers for ids) in the range of ``dtype``, no masked arrays."""
    ints = np.issubdtype(dtype, np.integer)
    want = tuple("any" if s is None else s for s in shape)
    if np.ma.isMaskedArray(x):
        raise ValueError(f"{what}: a masked array; expected a plain array of shape {want}")
    if x is None:
        raise ValueError(f"{what}: expected an array of shape {want}, got None")
    try:
        x = np.asarray(x)
    except (TypeError, ValueError):  # ragged nested lists
        x = np.array(None)
    if x.dtype.kind not in ("iu" if ints else "iuf"):
        kind = "integers" if ints else "real numbers (int, uint or float)"
        raise ValueError(f"{what}: expected {kind} of shape {want}, got dtype {x.dtype}")
    ok = x.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, x.shape))
    if not ok:
        raise ValueError(f"{what}: expected shape {want}, got {x.shape}")
    if ints and x.size:
        info = np.iinfo(dtype)
        if int(x.min()) < info.min or int(x.max()) > info.max:
            raise ValueError(f"{what}: values beyond the {info.dtype} range")
    with np.errstate(over="ignore", invalid="ignore"):
        y = x.astype(dtype, copy=False)
    narrowed = x.dtype.kind == "f" and x.dtype.itemsize > y.dtype.itemsize
    if narrowed and np.isinf(y).sum() != np.isinf(x).sum():
        raise ValueError(f"{what}: values beyond the {y.dtype} range")
    return y


class StateError(ValueError, TypeError):
    """A ``state`` that ``step`` cannot take (a ValueError; a TypeError too, as before)."""


def _states(state, batch):
    """``state`` checked against ``STATES``: each key once, each a (batch, units) array."""
    if not isinstance(state, dict):
        raise StateError(f"state: expected a dict with keys {list(STATES)}")
    for key in state:
        if key not in STATES:
            raise StateError(f"state: unexpected key {key!r}; expected keys {list(STATES)}")
    for key in STATES:
        if key not in state:
            raise StateError(f"state: missing key {key!r}; expected keys {list(STATES)}")
    out = {}
    for key, (shape, _, _) in STATES.items():
        out[key] = _array(f"state {key!r}", state[key], (batch, *shape), np.float32)
    return out


class Model:
    """Call ``predict`` with the inputs positionally (model-file order) or by name."""

    def __init__(self, weights):
        """``weights``: the ``.npz`` arrays by key. Each op function's weights are made
        here, once, as the function takes them (the parameters after its inputs)."""
        w = {k: np.asarray(v) for k, v in weights.items()}
        self.cnn_Conv1_conv2d = cnn_Conv1_conv2d_weights(
            w["cnn_Conv1_conv2d/kernel"], w["cnn_Conv1_conv2d/bias"]
        )
        self.cnn_expanded_conv_depthwise_depthwise_conv = (
            cnn_expanded_conv_depthwise_depthwise_conv_weights(
                w["cnn_expanded_conv_depthwise_depthwise_conv/kernel"],
                w["cnn_expanded_conv_depthwise_depthwise_conv/bias"]
            )
        )
        self.cnn_expanded_conv_project_conv2d = cnn_expanded_conv_project_conv2d_weights(
            w["cnn_expanded_conv_project_conv2d/kernel"], w["cnn_expanded_conv_project_conv2d/bias"]
        )
        self.cnn_block_1_expand_conv2d = cnn_block_1_expand_conv2d_weights(
            w["cnn_block_1_expand_conv2d/kernel"], w["cnn_block_1_expand_conv2d/bias"]
        )
        self.cnn_block_1_depthwise_depthwise_conv = cnn_block_1_depthwise_depthwise_conv_weights(
            w["cnn_block_1_depthwise_depthwise_conv/kernel"],
            w["cnn_block_1_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_1_project_conv2d = cnn_block_1_project_conv2d_weights(
            w["cnn_block_1_project_conv2d/kernel"], w["cnn_block_1_project_conv2d/bias"]
        )
        self.cnn_block_2_expand_conv2d = cnn_block_2_expand_conv2d_weights(
            w["cnn_block_2_expand_conv2d/kernel"], w["cnn_block_2_expand_conv2d/bias"]
        )
        self.cnn_block_2_depthwise_depthwise_conv = cnn_block_2_depthwise_depthwise_conv_weights(
            w["cnn_block_2_depthwise_depthwise_conv/kernel"],
            w["cnn_block_2_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_2_project_conv2d = cnn_block_2_project_conv2d_weights(
            w["cnn_block_2_project_conv2d/kernel"], w["cnn_block_2_project_conv2d/bias"]
        )
        self.cnn_block_3_expand_conv2d = cnn_block_3_expand_conv2d_weights(
            w["cnn_block_3_expand_conv2d/kernel"], w["cnn_block_3_expand_conv2d/bias"]
        )
        self.cnn_block_3_depthwise_depthwise_conv = cnn_block_3_depthwise_depthwise_conv_weights(
            w["cnn_block_3_depthwise_depthwise_conv/kernel"],
            w["cnn_block_3_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_3_project_conv2d = cnn_block_3_project_conv2d_weights(
            w["cnn_block_3_project_conv2d/kernel"], w["cnn_block_3_project_conv2d/bias"]
        )
        self.cnn_block_4_expand_conv2d = cnn_block_4_expand_conv2d_weights(
            w["cnn_block_4_expand_conv2d/kernel"], w["cnn_block_4_expand_conv2d/bias"]
        )
        self.cnn_block_4_depthwise_depthwise_conv = cnn_block_4_depthwise_depthwise_conv_weights(
            w["cnn_block_4_depthwise_depthwise_conv/kernel"],
            w["cnn_block_4_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_4_project_conv2d = cnn_block_4_project_conv2d_weights(
            w["cnn_block_4_project_conv2d/kernel"], w["cnn_block_4_project_conv2d/bias"]
        )
        self.cnn_block_5_expand_conv2d = cnn_block_5_expand_conv2d_weights(
            w["cnn_block_5_expand_conv2d/kernel"], w["cnn_block_5_expand_conv2d/bias"]
        )
        self.cnn_block_5_depthwise_depthwise_conv = cnn_block_5_depthwise_depthwise_conv_weights(
            w["cnn_block_5_depthwise_depthwise_conv/kernel"],
            w["cnn_block_5_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_5_project_conv2d = cnn_block_5_project_conv2d_weights(
            w["cnn_block_5_project_conv2d/kernel"], w["cnn_block_5_project_conv2d/bias"]
        )
        self.cnn_block_6_expand_conv2d = cnn_block_6_expand_conv2d_weights(
            w["cnn_block_6_expand_conv2d/kernel"], w["cnn_block_6_expand_conv2d/bias"]
        )
        self.cnn_block_6_depthwise_depthwise_conv = cnn_block_6_depthwise_depthwise_conv_weights(
            w["cnn_block_6_depthwise_depthwise_conv/kernel"],
            w["cnn_block_6_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_6_project_conv2d = cnn_block_6_project_conv2d_weights(
            w["cnn_block_6_project_conv2d/kernel"], w["cnn_block_6_project_conv2d/bias"]
        )
        self.cnn_block_7_expand_conv2d = cnn_block_7_expand_conv2d_weights(
            w["cnn_block_7_expand_conv2d/kernel"], w["cnn_block_7_expand_conv2d/bias"]
        )
        self.cnn_block_7_depthwise_depthwise_conv = cnn_block_7_depthwise_depthwise_conv_weights(
            w["cnn_block_7_depthwise_depthwise_conv/kernel"],
            w["cnn_block_7_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_7_project_conv2d = cnn_block_7_project_conv2d_weights(
            w["cnn_block_7_project_conv2d/kernel"], w["cnn_block_7_project_conv2d/bias"]
        )
        self.cnn_block_8_expand_conv2d = cnn_block_8_expand_conv2d_weights(
            w["cnn_block_8_expand_conv2d/kernel"], w["cnn_block_8_expand_conv2d/bias"]
        )
        self.cnn_block_8_depthwise_depthwise_conv = cnn_block_8_depthwise_depthwise_conv_weights(
            w["cnn_block_8_depthwise_depthwise_conv/kernel"],
            w["cnn_block_8_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_8_project_conv2d = cnn_block_8_project_conv2d_weights(
            w["cnn_block_8_project_conv2d/kernel"], w["cnn_block_8_project_conv2d/bias"]
        )
        self.cnn_block_9_expand_conv2d = cnn_block_9_expand_conv2d_weights(
            w["cnn_block_9_expand_conv2d/kernel"], w["cnn_block_9_expand_conv2d/bias"]
        )
        self.cnn_block_9_depthwise_depthwise_conv = cnn_block_9_depthwise_depthwise_conv_weights(
            w["cnn_block_9_depthwise_depthwise_conv/kernel"],
            w["cnn_block_9_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_9_project_conv2d = cnn_block_9_project_conv2d_weights(
            w["cnn_block_9_project_conv2d/kernel"], w["cnn_block_9_project_conv2d/bias"]
        )
        self.cnn_block_10_expand_conv2d = cnn_block_10_expand_conv2d_weights(
            w["cnn_block_10_expand_conv2d/kernel"], w["cnn_block_10_expand_conv2d/bias"]
        )
        self.cnn_block_10_depthwise_depthwise_conv = cnn_block_10_depthwise_depthwise_conv_weights(
            w["cnn_block_10_depthwise_depthwise_conv/kernel"],
            w["cnn_block_10_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_10_project_conv2d = cnn_block_10_project_conv2d_weights(
            w["cnn_block_10_project_conv2d/kernel"], w["cnn_block_10_project_conv2d/bias"]
        )
        self.cnn_block_11_expand_conv2d = cnn_block_11_expand_conv2d_weights(
            w["cnn_block_11_expand_conv2d/kernel"], w["cnn_block_11_expand_conv2d/bias"]
        )
        self.cnn_block_11_depthwise_depthwise_conv = cnn_block_11_depthwise_depthwise_conv_weights(
            w["cnn_block_11_depthwise_depthwise_conv/kernel"],
            w["cnn_block_11_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_11_project_conv2d = cnn_block_11_project_conv2d_weights(
            w["cnn_block_11_project_conv2d/kernel"], w["cnn_block_11_project_conv2d/bias"]
        )
        self.cnn_block_12_expand_conv2d = cnn_block_12_expand_conv2d_weights(
            w["cnn_block_12_expand_conv2d/kernel"], w["cnn_block_12_expand_conv2d/bias"]
        )
        self.cnn_block_12_depthwise_depthwise_conv = cnn_block_12_depthwise_depthwise_conv_weights(
            w["cnn_block_12_depthwise_depthwise_conv/kernel"],
            w["cnn_block_12_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_12_project_conv2d = cnn_block_12_project_conv2d_weights(
            w["cnn_block_12_project_conv2d/kernel"], w["cnn_block_12_project_conv2d/bias"]
        )
        self.cnn_block_13_expand_conv2d = cnn_block_13_expand_conv2d_weights(
            w["cnn_block_13_expand_conv2d/kernel"], w["cnn_block_13_expand_conv2d/bias"]
        )
        self.cnn_block_13_depthwise_depthwise_conv = cnn_block_13_depthwise_depthwise_conv_weights(
            w["cnn_block_13_depthwise_depthwise_conv/kernel"],
            w["cnn_block_13_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_13_project_conv2d = cnn_block_13_project_conv2d_weights(
            w["cnn_block_13_project_conv2d/kernel"], w["cnn_block_13_project_conv2d/bias"]
        )
        self.cnn_block_14_expand_conv2d = cnn_block_14_expand_conv2d_weights(
            w["cnn_block_14_expand_conv2d/kernel"], w["cnn_block_14_expand_conv2d/bias"]
        )
        self.cnn_block_14_depthwise_depthwise_conv = cnn_block_14_depthwise_depthwise_conv_weights(
            w["cnn_block_14_depthwise_depthwise_conv/kernel"],
            w["cnn_block_14_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_14_project_conv2d = cnn_block_14_project_conv2d_weights(
            w["cnn_block_14_project_conv2d/kernel"], w["cnn_block_14_project_conv2d/bias"]
        )
        self.cnn_block_15_expand_conv2d = cnn_block_15_expand_conv2d_weights(
            w["cnn_block_15_expand_conv2d/kernel"], w["cnn_block_15_expand_conv2d/bias"]
        )
        self.cnn_block_15_depthwise_depthwise_conv = cnn_block_15_depthwise_depthwise_conv_weights(
            w["cnn_block_15_depthwise_depthwise_conv/kernel"],
            w["cnn_block_15_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_15_project_conv2d = cnn_block_15_project_conv2d_weights(
            w["cnn_block_15_project_conv2d/kernel"], w["cnn_block_15_project_conv2d/bias"]
        )
        self.cnn_block_16_expand_conv2d = cnn_block_16_expand_conv2d_weights(
            w["cnn_block_16_expand_conv2d/kernel"], w["cnn_block_16_expand_conv2d/bias"]
        )
        self.cnn_block_16_depthwise_depthwise_conv = cnn_block_16_depthwise_depthwise_conv_weights(
            w["cnn_block_16_depthwise_depthwise_conv/kernel"],
            w["cnn_block_16_depthwise_depthwise_conv/bias"]
        )
        self.cnn_block_16_project_conv2d = cnn_block_16_project_conv2d_weights(
            w["cnn_block_16_project_conv2d/kernel"], w["cnn_block_16_project_conv2d/bias"]
        )
        self.cnn_Conv_1_conv2d = cnn_Conv_1_conv2d_weights(
            w["cnn_Conv_1_conv2d/kernel"], w["cnn_Conv_1_conv2d/bias"]
        )
        self.lstm_lstm = lstm_lstm_weights(
            w["lstm_lstm/kernel"], w["lstm_lstm/recurrent_kernel"], w["lstm_lstm/bias"]
        )
        self.probs_dense = (w["probs_dense/kernel"], w["probs_dense/bias"])

    def _bind(self, args, kwargs):
        names = list(INPUTS)
        if len(args) > len(names):
            raise TypeError(f"expected at most {len(names)} inputs, got {len(args)}")
        bound = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in INPUTS or key in bound:
                raise TypeError(f"unexpected or repeated input {key!r}; inputs: {names}")
            bound[key] = value
        missing = [n for n in names if n not in bound]
        if missing:
            raise TypeError(f"missing inputs: {missing}")
        return {n: _check(n, bound[n]) for n in names}

    def init_state(self, batch):
        """The state before the first step: zeros of (batch, *shape) per entry of
        ``STATES``, a None axis (a key/value cache's steps so far) of length 0."""
        return {
            key: np.zeros((batch, *(0 if d is None else d for d in shape)), np.float32)
            for key, (shape, _, _) in STATES.items()
        }

    def step(self, x, state):
        """One time step: ``x`` is one step of each input (time axis removed; several inputs
        as a list in model-file order or a dict by name). Returns ``(y, state)``: ``y`` as
        ``predict`` would give it for this step (an output without a time axis as if the
        sequence ended here) and the state for the next step."""
        names = list(STEP_INPUTS)
        if not isinstance(x, dict):
            x = dict(zip(names, x)) if isinstance(x, (list, tuple)) else {names[0]: x}
        if sorted(x) != sorted(names):
            raise TypeError(f"step inputs: expected {names}, got {sorted(x)}")
        feed = {n: _check(n, x[n], STEP_INPUTS) for n in names}
        state = _states(state, feed[names[0]].shape[0])
        frames = feed["frames"]
        lstm_h0 = state["state_0"]
        lstm_c0 = state["state_1"]
        # cnn/bn_Conv1 folded into cnn/Conv1's kernel
        # cnn/Conv1_relu fused into cnn/Conv1
        cnn_Conv1 = cnn_Conv1_conv2d(frames, *self.cnn_Conv1_conv2d)
        # cnn/expanded_conv_depthwise_BN folded into cnn/expanded_conv_depthwise's kernel
        # cnn/expanded_conv_depthwise_relu fused into cnn/expanded_conv_depthwise
        cnn_expanded_conv_depthwise = cnn_expanded_conv_depthwise_depthwise_conv(
            cnn_Conv1, *self.cnn_expanded_conv_depthwise_depthwise_conv
        )
        # cnn/expanded_conv_project_BN folded into cnn/expanded_conv_project's kernel
        cnn_expanded_conv_project = cnn_expanded_conv_project_conv2d(
            cnn_expanded_conv_depthwise, *self.cnn_expanded_conv_project_conv2d
        )
        # cnn/block_1_expand_BN folded into cnn/block_1_expand's kernel
        # cnn/block_1_expand_relu fused into cnn/block_1_expand
        cnn_block_1_expand = cnn_block_1_expand_conv2d(
            cnn_expanded_conv_project, *self.cnn_block_1_expand_conv2d
        )
        # cnn/block_1_depthwise_BN folded into cnn/block_1_depthwise's kernel
        # cnn/block_1_pad fused into cnn/block_1_depthwise
        # cnn/block_1_depthwise_relu fused into cnn/block_1_depthwise
        cnn_block_1_depthwise = cnn_block_1_depthwise_depthwise_conv(
            cnn_block_1_expand, *self.cnn_block_1_depthwise_depthwise_conv
        )
        # cnn/block_1_project_BN folded into cnn/block_1_project's kernel
        cnn_block_1_project = cnn_block_1_project_conv2d(
            cnn_block_1_depthwise, *self.cnn_block_1_project_conv2d
        )
        # cnn/block_2_expand_BN folded into cnn/block_2_expand's kernel
        # cnn/block_2_expand_relu fused into cnn/block_2_expand
        cnn_block_2_expand = cnn_block_2_expand_conv2d(
            cnn_block_1_project, *self.cnn_block_2_expand_conv2d
        )
        # cnn/block_2_depthwise_BN folded into cnn/block_2_depthwise's kernel
        # cnn/block_2_depthwise_relu fused into cnn/block_2_depthwise
        cnn_block_2_depthwise = cnn_block_2_depthwise_depthwise_conv(
            cnn_block_2_expand, *self.cnn_block_2_depthwise_depthwise_conv
        )
        # cnn/block_2_project_BN folded into cnn/block_2_project's kernel
        cnn_block_2_project = cnn_block_2_project_conv2d(
            cnn_block_2_depthwise, *self.cnn_block_2_project_conv2d
        )
        cnn_block_2_add = cnn_block_2_add_merge(cnn_block_1_project, cnn_block_2_project)
        # cnn/block_3_expand_BN folded into cnn/block_3_expand's kernel
        # cnn/block_3_expand_relu fused into cnn/block_3_expand
        cnn_block_3_expand = cnn_block_3_expand_conv2d(
            cnn_block_2_add, *self.cnn_block_3_expand_conv2d
        )
        # cnn/block_3_depthwise_BN folded into cnn/block_3_depthwise's kernel
        # cnn/block_3_pad fused into cnn/block_3_depthwise
        # cnn/block_3_depthwise_relu fused into cnn/block_3_depthwise
        cnn_block_3_depthwise = cnn_block_3_depthwise_depthwise_conv(
            cnn_block_3_expand, *self.cnn_block_3_depthwise_depthwise_conv
        )
        # cnn/block_3_project_BN folded into cnn/block_3_project's kernel
        cnn_block_3_project = cnn_block_3_project_conv2d(
            cnn_block_3_depthwise, *self.cnn_block_3_project_conv2d
        )
        # cnn/block_4_expand_BN folded into cnn/block_4_expand's kernel
        # cnn/block_4_expand_relu fused into cnn/block_4_expand
        cnn_block_4_expand = cnn_block_4_expand_conv2d(
            cnn_block_3_project, *self.cnn_block_4_expand_conv2d
        )
        # cnn/block_4_depthwise_BN folded into cnn/block_4_depthwise's kernel
        # cnn/block_4_depthwise_relu fused into cnn/block_4_depthwise
        cnn_block_4_depthwise = cnn_block_4_depthwise_depthwise_conv(
            cnn_block_4_expand, *self.cnn_block_4_depthwise_depthwise_conv
        )
        # cnn/block_4_project_BN folded into cnn/block_4_project's kernel
        cnn_block_4_project = cnn_block_4_project_conv2d(
            cnn_block_4_depthwise, *self.cnn_block_4_project_conv2d
        )
        cnn_block_4_add = cnn_block_4_add_merge(cnn_block_3_project, cnn_block_4_project)
        # cnn/block_5_expand_BN folded into cnn/block_5_expand's kernel
        # cnn/block_5_expand_relu fused into cnn/block_5_expand
        cnn_block_5_expand = cnn_block_5_expand_conv2d(
            cnn_block_4_add, *self.cnn_block_5_expand_conv2d
        )
        # cnn/block_5_depthwise_BN folded into cnn/block_5_depthwise's kernel
        # cnn/block_5_depthwise_relu fused into cnn/block_5_depthwise
        cnn_block_5_depthwise = cnn_block_5_depthwise_depthwise_conv(
            cnn_block_5_expand, *self.cnn_block_5_depthwise_depthwise_conv
        )
        # cnn/block_5_project_BN folded into cnn/block_5_project's kernel
        cnn_block_5_project = cnn_block_5_project_conv2d(
            cnn_block_5_depthwise, *self.cnn_block_5_project_conv2d
        )
        cnn_block_5_add = cnn_block_5_add_merge(cnn_block_4_add, cnn_block_5_project)
        # cnn/block_6_expand_BN folded into cnn/block_6_expand's kernel
        # cnn/block_6_expand_relu fused into cnn/block_6_expand
        cnn_block_6_expand = cnn_block_6_expand_conv2d(
            cnn_block_5_add, *self.cnn_block_6_expand_conv2d
        )
        # cnn/block_6_depthwise_BN folded into cnn/block_6_depthwise's kernel
        # cnn/block_6_pad fused into cnn/block_6_depthwise
        # cnn/block_6_depthwise_relu fused into cnn/block_6_depthwise
        cnn_block_6_depthwise = cnn_block_6_depthwise_depthwise_conv(
            cnn_block_6_expand, *self.cnn_block_6_depthwise_depthwise_conv
        )
        # cnn/block_6_project_BN folded into cnn/block_6_project's kernel
        cnn_block_6_project = cnn_block_6_project_conv2d(
            cnn_block_6_depthwise, *self.cnn_block_6_project_conv2d
        )
        # cnn/block_7_expand_BN folded into cnn/block_7_expand's kernel
        # cnn/block_7_expand_relu fused into cnn/block_7_expand
        cnn_block_7_expand = cnn_block_7_expand_conv2d(
            cnn_block_6_project, *self.cnn_block_7_expand_conv2d
        )
        # cnn/block_7_depthwise_BN folded into cnn/block_7_depthwise's kernel
        # cnn/block_7_depthwise_relu fused into cnn/block_7_depthwise
        cnn_block_7_depthwise = cnn_block_7_depthwise_depthwise_conv(
            cnn_block_7_expand, *self.cnn_block_7_depthwise_depthwise_conv
        )
        # cnn/block_7_project_BN folded into cnn/block_7_project's kernel
        cnn_block_7_project = cnn_block_7_project_conv2d(
            cnn_block_7_depthwise, *self.cnn_block_7_project_conv2d
        )
        cnn_block_7_add = cnn_block_7_add_merge(cnn_block_6_project, cnn_block_7_project)
        # cnn/block_8_expand_BN folded into cnn/block_8_expand's kernel
        # cnn/block_8_expand_relu fused into cnn/block_8_expand
        cnn_block_8_expand = cnn_block_8_expand_conv2d(
            cnn_block_7_add, *self.cnn_block_8_expand_conv2d
        )
        # cnn/block_8_depthwise_BN folded into cnn/block_8_depthwise's kernel
        # cnn/block_8_depthwise_relu fused into cnn/block_8_depthwise
        cnn_block_8_depthwise = cnn_block_8_depthwise_depthwise_conv(
            cnn_block_8_expand, *self.cnn_block_8_depthwise_depthwise_conv
        )
        # cnn/block_8_project_BN folded into cnn/block_8_project's kernel
        cnn_block_8_project = cnn_block_8_project_conv2d(
            cnn_block_8_depthwise, *self.cnn_block_8_project_conv2d
        )
        cnn_block_8_add = cnn_block_8_add_merge(cnn_block_7_add, cnn_block_8_project)
        # cnn/block_9_expand_BN folded into cnn/block_9_expand's kernel
        # cnn/block_9_expand_relu fused into cnn/block_9_expand
        cnn_block_9_expand = cnn_block_9_expand_conv2d(
            cnn_block_8_add, *self.cnn_block_9_expand_conv2d
        )
        # cnn/block_9_depthwise_BN folded into cnn/block_9_depthwise's kernel
        # cnn/block_9_depthwise_relu fused into cnn/block_9_depthwise
        cnn_block_9_depthwise = cnn_block_9_depthwise_depthwise_conv(
            cnn_block_9_expand, *self.cnn_block_9_depthwise_depthwise_conv
        )
        # cnn/block_9_project_BN folded into cnn/block_9_project's kernel
        cnn_block_9_project = cnn_block_9_project_conv2d(
            cnn_block_9_depthwise, *self.cnn_block_9_project_conv2d
        )
        cnn_block_9_add = cnn_block_9_add_merge(cnn_block_8_add, cnn_block_9_project)
        # cnn/block_10_expand_BN folded into cnn/block_10_expand's kernel
        # cnn/block_10_expand_relu fused into cnn/block_10_expand
        cnn_block_10_expand = cnn_block_10_expand_conv2d(
            cnn_block_9_add, *self.cnn_block_10_expand_conv2d
        )
        # cnn/block_10_depthwise_BN folded into cnn/block_10_depthwise's kernel
        # cnn/block_10_depthwise_relu fused into cnn/block_10_depthwise
        cnn_block_10_depthwise = cnn_block_10_depthwise_depthwise_conv(
            cnn_block_10_expand, *self.cnn_block_10_depthwise_depthwise_conv
        )
        # cnn/block_10_project_BN folded into cnn/block_10_project's kernel
        cnn_block_10_project = cnn_block_10_project_conv2d(
            cnn_block_10_depthwise, *self.cnn_block_10_project_conv2d
        )
        # cnn/block_11_expand_BN folded into cnn/block_11_expand's kernel
        # cnn/block_11_expand_relu fused into cnn/block_11_expand
        cnn_block_11_expand = cnn_block_11_expand_conv2d(
            cnn_block_10_project, *self.cnn_block_11_expand_conv2d
        )
        # cnn/block_11_depthwise_BN folded into cnn/block_11_depthwise's kernel
        # cnn/block_11_depthwise_relu fused into cnn/block_11_depthwise
        cnn_block_11_depthwise = cnn_block_11_depthwise_depthwise_conv(
            cnn_block_11_expand, *self.cnn_block_11_depthwise_depthwise_conv
        )
        # cnn/block_11_project_BN folded into cnn/block_11_project's kernel
        cnn_block_11_project = cnn_block_11_project_conv2d(
            cnn_block_11_depthwise, *self.cnn_block_11_project_conv2d
        )
        cnn_block_11_add = cnn_block_11_add_merge(cnn_block_10_project, cnn_block_11_project)
        # cnn/block_12_expand_BN folded into cnn/block_12_expand's kernel
        # cnn/block_12_expand_relu fused into cnn/block_12_expand
        cnn_block_12_expand = cnn_block_12_expand_conv2d(
            cnn_block_11_add, *self.cnn_block_12_expand_conv2d
        )
        # cnn/block_12_depthwise_BN folded into cnn/block_12_depthwise's kernel
        # cnn/block_12_depthwise_relu fused into cnn/block_12_depthwise
        cnn_block_12_depthwise = cnn_block_12_depthwise_depthwise_conv(
            cnn_block_12_expand, *self.cnn_block_12_depthwise_depthwise_conv
        )
        # cnn/block_12_project_BN folded into cnn/block_12_project's kernel
        cnn_block_12_project = cnn_block_12_project_conv2d(
            cnn_block_12_depthwise, *self.cnn_block_12_project_conv2d
        )
        cnn_block_12_add = cnn_block_12_add_merge(cnn_block_11_add, cnn_block_12_project)
        # cnn/block_13_expand_BN folded into cnn/block_13_expand's kernel
        # cnn/block_13_expand_relu fused into cnn/block_13_expand
        cnn_block_13_expand = cnn_block_13_expand_conv2d(
            cnn_block_12_add, *self.cnn_block_13_expand_conv2d
        )
        # cnn/block_13_depthwise_BN folded into cnn/block_13_depthwise's kernel
        # cnn/block_13_pad fused into cnn/block_13_depthwise
        # cnn/block_13_depthwise_relu fused into cnn/block_13_depthwise
        cnn_block_13_depthwise = cnn_block_13_depthwise_depthwise_conv(
            cnn_block_13_expand, *self.cnn_block_13_depthwise_depthwise_conv
        )
        # cnn/block_13_project_BN folded into cnn/block_13_project's kernel
        cnn_block_13_project = cnn_block_13_project_conv2d(
            cnn_block_13_depthwise, *self.cnn_block_13_project_conv2d
        )
        # cnn/block_14_expand_BN folded into cnn/block_14_expand's kernel
        # cnn/block_14_expand_relu fused into cnn/block_14_expand
        cnn_block_14_expand = cnn_block_14_expand_conv2d(
            cnn_block_13_project, *self.cnn_block_14_expand_conv2d
        )
        # cnn/block_14_depthwise_BN folded into cnn/block_14_depthwise's kernel
        # cnn/block_14_depthwise_relu fused into cnn/block_14_depthwise
        cnn_block_14_depthwise = cnn_block_14_depthwise_depthwise_conv(
            cnn_block_14_expand, *self.cnn_block_14_depthwise_depthwise_conv
        )
        # cnn/block_14_project_BN folded into cnn/block_14_project's kernel
        cnn_block_14_project = cnn_block_14_project_conv2d(
            cnn_block_14_depthwise, *self.cnn_block_14_project_conv2d
        )
        cnn_block_14_add = cnn_block_14_add_merge(cnn_block_13_project, cnn_block_14_project)
        # cnn/block_15_expand_BN folded into cnn/block_15_expand's kernel
        # cnn/block_15_expand_relu fused into cnn/block_15_expand
        cnn_block_15_expand = cnn_block_15_expand_conv2d(
            cnn_block_14_add, *self.cnn_block_15_expand_conv2d
        )
        # cnn/block_15_depthwise_BN folded into cnn/block_15_depthwise's kernel
        # cnn/block_15_depthwise_relu fused into cnn/block_15_depthwise
        cnn_block_15_depthwise = cnn_block_15_depthwise_depthwise_conv(
            cnn_block_15_expand, *self.cnn_block_15_depthwise_depthwise_conv
        )
        # cnn/block_15_project_BN folded into cnn/block_15_project's kernel
        cnn_block_15_project = cnn_block_15_project_conv2d(
            cnn_block_15_depthwise, *self.cnn_block_15_project_conv2d
        )
        cnn_block_15_add = cnn_block_15_add_merge(cnn_block_14_add, cnn_block_15_project)
        # cnn/block_16_expand_BN folded into cnn/block_16_expand's kernel
        # cnn/block_16_expand_relu fused into cnn/block_16_expand
        cnn_block_16_expand = cnn_block_16_expand_conv2d(
            cnn_block_15_add, *self.cnn_block_16_expand_conv2d
        )
        # cnn/block_16_depthwise_BN folded into cnn/block_16_depthwise's kernel
        # cnn/block_16_depthwise_relu fused into cnn/block_16_depthwise
        cnn_block_16_depthwise = cnn_block_16_depthwise_depthwise_conv(
            cnn_block_16_expand, *self.cnn_block_16_depthwise_depthwise_conv
        )
        # cnn/block_16_project_BN folded into cnn/block_16_project's kernel
        cnn_block_16_project = cnn_block_16_project_conv2d(
            cnn_block_16_depthwise, *self.cnn_block_16_project_conv2d
        )
        # cnn/Conv_1_bn folded into cnn/Conv_1's kernel
        # cnn/out_relu fused into cnn/Conv_1
        cnn_Conv_1 = cnn_Conv_1_conv2d(cnn_block_16_project, *self.cnn_Conv_1_conv2d)
        cnn_global_average_pooling2d = cnn_global_average_pooling2d_global_pool(cnn_Conv_1)
        lstm_reshaped = step_lstm_reshape(cnn_global_average_pooling2d)
        lstm, lstm_h, lstm_c = step_lstm_lstm(lstm_reshaped, lstm_h0, lstm_c0, *self.lstm_lstm)
        probs = probs_dense(lstm, *self.probs_dense)
        state = {
            "state_0": lstm_h,
            "state_1": lstm_c,
        }
        return probs, state

    def predict(self, /, *args, **kwargs):
        feed = self._bind(args, kwargs)
        frames = feed["frames"]
        frames_folded = cnn_fold(frames)
        # cnn/bn_Conv1 folded into cnn/Conv1's kernel
        # cnn/Conv1_relu fused into cnn/Conv1
        cnn_Conv1 = cnn_Conv1_conv2d(frames_folded, *self.cnn_Conv1_conv2d)
        # cnn/expanded_conv_depthwise_BN folded into cnn/expanded_conv_depthwise's kernel
        # cnn/expanded_conv_depthwise_relu fused into cnn/expanded_conv_depthwise
        cnn_expanded_conv_depthwise = cnn_expanded_conv_depthwise_depthwise_conv(
            cnn_Conv1, *self.cnn_expanded_conv_depthwise_depthwise_conv
        )
        # cnn/expanded_conv_project_BN folded into cnn/expanded_conv_project's kernel
        cnn_expanded_conv_project = cnn_expanded_conv_project_conv2d(
            cnn_expanded_conv_depthwise, *self.cnn_expanded_conv_project_conv2d
        )
        # cnn/block_1_expand_BN folded into cnn/block_1_expand's kernel
        # cnn/block_1_expand_relu fused into cnn/block_1_expand
        cnn_block_1_expand = cnn_block_1_expand_conv2d(
            cnn_expanded_conv_project, *self.cnn_block_1_expand_conv2d
        )
        # cnn/block_1_depthwise_BN folded into cnn/block_1_depthwise's kernel
        # cnn/block_1_pad fused into cnn/block_1_depthwise
        # cnn/block_1_depthwise_relu fused into cnn/block_1_depthwise
        cnn_block_1_depthwise = cnn_block_1_depthwise_depthwise_conv(
            cnn_block_1_expand, *self.cnn_block_1_depthwise_depthwise_conv
        )
        # cnn/block_1_project_BN folded into cnn/block_1_project's kernel
        cnn_block_1_project = cnn_block_1_project_conv2d(
            cnn_block_1_depthwise, *self.cnn_block_1_project_conv2d
        )
        # cnn/block_2_expand_BN folded into cnn/block_2_expand's kernel
        # cnn/block_2_expand_relu fused into cnn/block_2_expand
        cnn_block_2_expand = cnn_block_2_expand_conv2d(
            cnn_block_1_project, *self.cnn_block_2_expand_conv2d
        )
        # cnn/block_2_depthwise_BN folded into cnn/block_2_depthwise's kernel
        # cnn/block_2_depthwise_relu fused into cnn/block_2_depthwise
        cnn_block_2_depthwise = cnn_block_2_depthwise_depthwise_conv(
            cnn_block_2_expand, *self.cnn_block_2_depthwise_depthwise_conv
        )
        # cnn/block_2_project_BN folded into cnn/block_2_project's kernel
        cnn_block_2_project = cnn_block_2_project_conv2d(
            cnn_block_2_depthwise, *self.cnn_block_2_project_conv2d
        )
        cnn_block_2_add = cnn_block_2_add_merge(cnn_block_1_project, cnn_block_2_project)
        # cnn/block_3_expand_BN folded into cnn/block_3_expand's kernel
        # cnn/block_3_expand_relu fused into cnn/block_3_expand
        cnn_block_3_expand = cnn_block_3_expand_conv2d(
            cnn_block_2_add, *self.cnn_block_3_expand_conv2d
        )
        # cnn/block_3_depthwise_BN folded into cnn/block_3_depthwise's kernel
        # cnn/block_3_pad fused into cnn/block_3_depthwise
        # cnn/block_3_depthwise_relu fused into cnn/block_3_depthwise
        cnn_block_3_depthwise = cnn_block_3_depthwise_depthwise_conv(
            cnn_block_3_expand, *self.cnn_block_3_depthwise_depthwise_conv
        )
        # cnn/block_3_project_BN folded into cnn/block_3_project's kernel
        cnn_block_3_project = cnn_block_3_project_conv2d(
            cnn_block_3_depthwise, *self.cnn_block_3_project_conv2d
        )
        # cnn/block_4_expand_BN folded into cnn/block_4_expand's kernel
        # cnn/block_4_expand_relu fused into cnn/block_4_expand
        cnn_block_4_expand = cnn_block_4_expand_conv2d(
            cnn_block_3_project, *self.cnn_block_4_expand_conv2d
        )
        # cnn/block_4_depthwise_BN folded into cnn/block_4_depthwise's kernel
        # cnn/block_4_depthwise_relu fused into cnn/block_4_depthwise
        cnn_block_4_depthwise = cnn_block_4_depthwise_depthwise_conv(
            cnn_block_4_expand, *self.cnn_block_4_depthwise_depthwise_conv
        )
        # cnn/block_4_project_BN folded into cnn/block_4_project's kernel
        cnn_block_4_project = cnn_block_4_project_conv2d(
            cnn_block_4_depthwise, *self.cnn_block_4_project_conv2d
        )
        cnn_block_4_add = cnn_block_4_add_merge(cnn_block_3_project, cnn_block_4_project)
        # cnn/block_5_expand_BN folded into cnn/block_5_expand's kernel
        # cnn/block_5_expand_relu fused into cnn/block_5_expand
        cnn_block_5_expand = cnn_block_5_expand_conv2d(
            cnn_block_4_add, *self.cnn_block_5_expand_conv2d
        )
        # cnn/block_5_depthwise_BN folded into cnn/block_5_depthwise's kernel
        # cnn/block_5_depthwise_relu fused into cnn/block_5_depthwise
        cnn_block_5_depthwise = cnn_block_5_depthwise_depthwise_conv(
            cnn_block_5_expand, *self.cnn_block_5_depthwise_depthwise_conv
        )
        # cnn/block_5_project_BN folded into cnn/block_5_project's kernel
        cnn_block_5_project = cnn_block_5_project_conv2d(
            cnn_block_5_depthwise, *self.cnn_block_5_project_conv2d
        )
        cnn_block_5_add = cnn_block_5_add_merge(cnn_block_4_add, cnn_block_5_project)
        # cnn/block_6_expand_BN folded into cnn/block_6_expand's kernel
        # cnn/block_6_expand_relu fused into cnn/block_6_expand
        cnn_block_6_expand = cnn_block_6_expand_conv2d(
            cnn_block_5_add, *self.cnn_block_6_expand_conv2d
        )
        # cnn/block_6_depthwise_BN folded into cnn/block_6_depthwise's kernel
        # cnn/block_6_pad fused into cnn/block_6_depthwise
        # cnn/block_6_depthwise_relu fused into cnn/block_6_depthwise
        cnn_block_6_depthwise = cnn_block_6_depthwise_depthwise_conv(
            cnn_block_6_expand, *self.cnn_block_6_depthwise_depthwise_conv
        )
        # cnn/block_6_project_BN folded into cnn/block_6_project's kernel
        cnn_block_6_project = cnn_block_6_project_conv2d(
            cnn_block_6_depthwise, *self.cnn_block_6_project_conv2d
        )
        # cnn/block_7_expand_BN folded into cnn/block_7_expand's kernel
        # cnn/block_7_expand_relu fused into cnn/block_7_expand
        cnn_block_7_expand = cnn_block_7_expand_conv2d(
            cnn_block_6_project, *self.cnn_block_7_expand_conv2d
        )
        # cnn/block_7_depthwise_BN folded into cnn/block_7_depthwise's kernel
        # cnn/block_7_depthwise_relu fused into cnn/block_7_depthwise
        cnn_block_7_depthwise = cnn_block_7_depthwise_depthwise_conv(
            cnn_block_7_expand, *self.cnn_block_7_depthwise_depthwise_conv
        )
        # cnn/block_7_project_BN folded into cnn/block_7_project's kernel
        cnn_block_7_project = cnn_block_7_project_conv2d(
            cnn_block_7_depthwise, *self.cnn_block_7_project_conv2d
        )
        cnn_block_7_add = cnn_block_7_add_merge(cnn_block_6_project, cnn_block_7_project)
        # cnn/block_8_expand_BN folded into cnn/block_8_expand's kernel
        # cnn/block_8_expand_relu fused into cnn/block_8_expand
        cnn_block_8_expand = cnn_block_8_expand_conv2d(
            cnn_block_7_add, *self.cnn_block_8_expand_conv2d
        )
        # cnn/block_8_depthwise_BN folded into cnn/block_8_depthwise's kernel
        # cnn/block_8_depthwise_relu fused into cnn/block_8_depthwise
        cnn_block_8_depthwise = cnn_block_8_depthwise_depthwise_conv(
            cnn_block_8_expand, *self.cnn_block_8_depthwise_depthwise_conv
        )
        # cnn/block_8_project_BN folded into cnn/block_8_project's kernel
        cnn_block_8_project = cnn_block_8_project_conv2d(
            cnn_block_8_depthwise, *self.cnn_block_8_project_conv2d
        )
        cnn_block_8_add = cnn_block_8_add_merge(cnn_block_7_add, cnn_block_8_project)
        # cnn/block_9_expand_BN folded into cnn/block_9_expand's kernel
        # cnn/block_9_expand_relu fused into cnn/block_9_expand
        cnn_block_9_expand = cnn_block_9_expand_conv2d(
            cnn_block_8_add, *self.cnn_block_9_expand_conv2d
        )
        # cnn/block_9_depthwise_BN folded into cnn/block_9_depthwise's kernel
        # cnn/block_9_depthwise_relu fused into cnn/block_9_depthwise
        cnn_block_9_depthwise = cnn_block_9_depthwise_depthwise_conv(
            cnn_block_9_expand, *self.cnn_block_9_depthwise_depthwise_conv
        )
        # cnn/block_9_project_BN folded into cnn/block_9_project's kernel
        cnn_block_9_project = cnn_block_9_project_conv2d(
            cnn_block_9_depthwise, *self.cnn_block_9_project_conv2d
        )
        cnn_block_9_add = cnn_block_9_add_merge(cnn_block_8_add, cnn_block_9_project)
        # cnn/block_10_expand_BN folded into cnn/block_10_expand's kernel
        # cnn/block_10_expand_relu fused into cnn/block_10_expand
        cnn_block_10_expand = cnn_block_10_expand_conv2d(
            cnn_block_9_add, *self.cnn_block_10_expand_conv2d
        )
        # cnn/block_10_depthwise_BN folded into cnn/block_10_depthwise's kernel
        # cnn/block_10_depthwise_relu fused into cnn/block_10_depthwise
        cnn_block_10_depthwise = cnn_block_10_depthwise_depthwise_conv(
            cnn_block_10_expand, *self.cnn_block_10_depthwise_depthwise_conv
        )
        # cnn/block_10_project_BN folded into cnn/block_10_project's kernel
        cnn_block_10_project = cnn_block_10_project_conv2d(
            cnn_block_10_depthwise, *self.cnn_block_10_project_conv2d
        )
        # cnn/block_11_expand_BN folded into cnn/block_11_expand's kernel
        # cnn/block_11_expand_relu fused into cnn/block_11_expand
        cnn_block_11_expand = cnn_block_11_expand_conv2d(
            cnn_block_10_project, *self.cnn_block_11_expand_conv2d
        )
        # cnn/block_11_depthwise_BN folded into cnn/block_11_depthwise's kernel
        # cnn/block_11_depthwise_relu fused into cnn/block_11_depthwise
        cnn_block_11_depthwise = cnn_block_11_depthwise_depthwise_conv(
            cnn_block_11_expand, *self.cnn_block_11_depthwise_depthwise_conv
        )
        # cnn/block_11_project_BN folded into cnn/block_11_project's kernel
        cnn_block_11_project = cnn_block_11_project_conv2d(
            cnn_block_11_depthwise, *self.cnn_block_11_project_conv2d
        )
        cnn_block_11_add = cnn_block_11_add_merge(cnn_block_10_project, cnn_block_11_project)
        # cnn/block_12_expand_BN folded into cnn/block_12_expand's kernel
        # cnn/block_12_expand_relu fused into cnn/block_12_expand
        cnn_block_12_expand = cnn_block_12_expand_conv2d(
            cnn_block_11_add, *self.cnn_block_12_expand_conv2d
        )
        # cnn/block_12_depthwise_BN folded into cnn/block_12_depthwise's kernel
        # cnn/block_12_depthwise_relu fused into cnn/block_12_depthwise
        cnn_block_12_depthwise = cnn_block_12_depthwise_depthwise_conv(
            cnn_block_12_expand, *self.cnn_block_12_depthwise_depthwise_conv
        )
        # cnn/block_12_project_BN folded into cnn/block_12_project's kernel
        cnn_block_12_project = cnn_block_12_project_conv2d(
            cnn_block_12_depthwise, *self.cnn_block_12_project_conv2d
        )
        cnn_block_12_add = cnn_block_12_add_merge(cnn_block_11_add, cnn_block_12_project)
        # cnn/block_13_expand_BN folded into cnn/block_13_expand's kernel
        # cnn/block_13_expand_relu fused into cnn/block_13_expand
        cnn_block_13_expand = cnn_block_13_expand_conv2d(
            cnn_block_12_add, *self.cnn_block_13_expand_conv2d
        )
        # cnn/block_13_depthwise_BN folded into cnn/block_13_depthwise's kernel
        # cnn/block_13_pad fused into cnn/block_13_depthwise
        # cnn/block_13_depthwise_relu fused into cnn/block_13_depthwise
        cnn_block_13_depthwise = cnn_block_13_depthwise_depthwise_conv(
            cnn_block_13_expand, *self.cnn_block_13_depthwise_depthwise_conv
        )
        # cnn/block_13_project_BN folded into cnn/block_13_project's kernel
        cnn_block_13_project = cnn_block_13_project_conv2d(
            cnn_block_13_depthwise, *self.cnn_block_13_project_conv2d
        )
        # cnn/block_14_expand_BN folded into cnn/block_14_expand's kernel
        # cnn/block_14_expand_relu fused into cnn/block_14_expand
        cnn_block_14_expand = cnn_block_14_expand_conv2d(
            cnn_block_13_project, *self.cnn_block_14_expand_conv2d
        )
        # cnn/block_14_depthwise_BN folded into cnn/block_14_depthwise's kernel
        # cnn/block_14_depthwise_relu fused into cnn/block_14_depthwise
        cnn_block_14_depthwise = cnn_block_14_depthwise_depthwise_conv(
            cnn_block_14_expand, *self.cnn_block_14_depthwise_depthwise_conv
        )
        # cnn/block_14_project_BN folded into cnn/block_14_project's kernel
        cnn_block_14_project = cnn_block_14_project_conv2d(
            cnn_block_14_depthwise, *self.cnn_block_14_project_conv2d
        )
        cnn_block_14_add = cnn_block_14_add_merge(cnn_block_13_project, cnn_block_14_project)
        # cnn/block_15_expand_BN folded into cnn/block_15_expand's kernel
        # cnn/block_15_expand_relu fused into cnn/block_15_expand
        cnn_block_15_expand = cnn_block_15_expand_conv2d(
            cnn_block_14_add, *self.cnn_block_15_expand_conv2d
        )
        # cnn/block_15_depthwise_BN folded into cnn/block_15_depthwise's kernel
        # cnn/block_15_depthwise_relu fused into cnn/block_15_depthwise
        cnn_block_15_depthwise = cnn_block_15_depthwise_depthwise_conv(
            cnn_block_15_expand, *self.cnn_block_15_depthwise_depthwise_conv
        )
        # cnn/block_15_project_BN folded into cnn/block_15_project's kernel
        cnn_block_15_project = cnn_block_15_project_conv2d(
            cnn_block_15_depthwise, *self.cnn_block_15_project_conv2d
        )
        cnn_block_15_add = cnn_block_15_add_merge(cnn_block_14_add, cnn_block_15_project)
        # cnn/block_16_expand_BN folded into cnn/block_16_expand's kernel
        # cnn/block_16_expand_relu fused into cnn/block_16_expand
        cnn_block_16_expand = cnn_block_16_expand_conv2d(
            cnn_block_15_add, *self.cnn_block_16_expand_conv2d
        )
        # cnn/block_16_depthwise_BN folded into cnn/block_16_depthwise's kernel
        # cnn/block_16_depthwise_relu fused into cnn/block_16_depthwise
        cnn_block_16_depthwise = cnn_block_16_depthwise_depthwise_conv(
            cnn_block_16_expand, *self.cnn_block_16_depthwise_depthwise_conv
        )
        # cnn/block_16_project_BN folded into cnn/block_16_project's kernel
        cnn_block_16_project = cnn_block_16_project_conv2d(
            cnn_block_16_depthwise, *self.cnn_block_16_project_conv2d
        )
        # cnn/Conv_1_bn folded into cnn/Conv_1's kernel
        # cnn/out_relu fused into cnn/Conv_1
        cnn_Conv_1 = cnn_Conv_1_conv2d(cnn_block_16_project, *self.cnn_Conv_1_conv2d)
        cnn_global_average_pooling2d = cnn_global_average_pooling2d_global_pool(cnn_Conv_1)
        cnn = cnn_unfold(cnn_global_average_pooling2d, frames)
        lstm = lstm_lstm(cnn, *self.lstm_lstm)
        probs = probs_dense(lstm, *self.probs_dense)
        return probs


def load(path=None):
    """The model with its weights (default: the ``.npz`` beside this file)."""
    with np.load(_weights_path() if path is None else path, allow_pickle=False) as z:
        return Model({k: z[k] for k in z.files})


def _weights_path():
    return __file__[: -len(".py")] + ".npz" if __file__.endswith(".py") else __file__ + ".npz"


def _main(argv):
    """``python THIS.py IN.npy [...] OUT``: 0 once OUT is written; 2, with one line on
    stderr and nothing written, for bad arguments or input files."""
    import sys

    try:
        _run(argv)
    except (ValueError, TypeError, OSError) as e:
        print("error: " + " ".join(str(e).split()), file=sys.stderr)
        return 2
    return 0


def _run(argv):
    """Read the inputs, predict, write OUT (.npy: the one output; .npz: by output name)."""
    if len(argv) != len(INPUTS) + 1:
        raise ValueError(
            f"usage: python THIS.py IN.npy [...] OUT.npy|OUT.npz: {len(INPUTS)} input(s) and "
            f"one output path, got {len(argv)} argument(s)"
        )
    *paths, out = argv
    if len(OUTPUTS) > 1 and not out.endswith(".npz"):
        raise ValueError(f"{out}: the model has {len(OUTPUTS)} outputs; give an .npz path")
    for kept in (_weights_path(), __file__, *paths):
        if _same_file(out, kept):
            raise ValueError(f"{out}: the output would overwrite {kept}")
    result = load().predict(*[_read(p) for p in paths])
    _write(out, result if isinstance(result, dict) else {OUTPUTS[0]: result})


def _read(path):
    """The array of a .npy file (never unpickled), or ValueError naming the file."""
    import zipfile

    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, MemoryError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path}: not a readable .npy array ({e})")
    if not isinstance(x, np.ndarray):
        x.close()
        raise TypeError(f"{path}: not a .npy array (an .npz archive)")
    return x


def _same_file(a, b):
    import os

    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return os.path.realpath(a) == os.path.realpath(b)


def _write(path, outputs):
    """``outputs`` saved at ``path`` whole or not at all: a temporary file beside it,
    renamed into place."""
    import os

    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    made = False
    try:
        with open(tmp, "xb") as f:
            made = True
            if path.endswith(".npz"):
                _save_npz(f, outputs)
            else:
                (y,) = outputs.values()
                np.save(f, y, allow_pickle=False)
        os.replace(tmp, path)
        made = False
    except OSError as e:
        raise OSError(f"cannot write {path}: {e.strerror or e}")
    finally:
        if made:
            os.unlink(tmp)


def _save_npz(f, outputs):
    """An .npz of ``outputs`` by name (any name: ``np.savez`` keywords could clash)."""
    import zipfile

    with zipfile.ZipFile(f, "w") as z:
        for key, y in outputs.items():
            with z.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(y), allow_pickle=False)


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
