"""Model 'video_classifier', compiled by tdc 0.1.0 from video_classifier.yaml.

Standalone: NumPy is the only dependency. Weights live beside this file in a
``.npz`` of the same stem.

    python THIS.py IN.npy [IN2.npy ...] OUT.npy|OUT.npz
    import THIS; THIS.load().predict(x)
"""

import numpy as np

INPUTS = {
    'frames': ((None, None, 32, 32, 3), np.float32),
}
OUTPUTS = ('probs',)


# ---------------------------------------------------------------- activations


def _sigmoid(x):
    return np.exp(-np.logaddexp(np.float32(0), -x))


def _relu(x):
    return np.maximum(x, np.float32(0))


def _tanh(x):
    return np.tanh(x)


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)



# ---------------------------------------------------------------- one function per op


# layer 'conv1' (TimeDistributed(Conv2D)): merge batch and time (N, T, 32, 32, 3) -> (N*T, 32, 32, 3)
def conv1_fold(x):
    return x.reshape((-1,) + x.shape[2:])


# layer 'conv1' (TimeDistributed(Conv2D)): conv 3x3 window, pads ((1, 1), (1, 1)) -> (N*T, 32, 32, 16)
def conv1_conv2d(x, kernel, bias):
    x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    cols = win.transpose((0, 1, 2, 4, 5, 3)).reshape(-1, 27)
    y = np.matmul(cols, kernel.reshape(27, 16))
    y = y.reshape(win.shape[:3] + (16,))
    y += bias
    return _relu(y)


# layer 'pool1' (TimeDistributed(MaxPooling2D)): max pooling 2x2 window, strides (2, 2) -> (N*T, 16, 16, 16)
def pool1_pool(x):
    y = x[:, :32, :32].reshape((-1, 16, 2, 16, 2, 16)).max(axis=(2, 4))
    return y


# layer 'conv2' (TimeDistributed(Conv2D)): conv 3x3 window, pads ((1, 1), (1, 1)) -> (N*T, 16, 16, 32)
def conv2_conv2d(x, kernel, bias):
    x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    cols = win.transpose((0, 1, 2, 4, 5, 3)).reshape(-1, 144)
    y = np.matmul(cols, kernel.reshape(144, 32))
    y = y.reshape(win.shape[:3] + (32,))
    y += bias
    return _relu(y)


# layer 'pool2' (TimeDistributed(MaxPooling2D)): max pooling 2x2 window, strides (2, 2) -> (N*T, 8, 8, 32)
def pool2_pool(x):
    y = x[:, :16, :16].reshape((-1, 8, 2, 8, 2, 32)).max(axis=(2, 4))
    return y


# layer 'flat' (TimeDistributed(Flatten)): reshape -> (N*T, 2048)
def flat_reshape(x):
    return x.reshape((x.shape[0], 2048))


# layer 'flat' (TimeDistributed(Flatten)): split batch and time back -> (N, T, 2048)
def flat_unfold(x0, x1):
    return x0.reshape(x1.shape[:2] + x0.shape[1:])


# layer 'lstm' (LSTM): LSTM, gates i, f, c, o over time -> (N, 64)
def lstm_lstm(x, kernel, recurrent_kernel, bias):
    n, steps, features = x.shape
    # input projection of every time step in one GEMM
    xw = np.matmul(x.reshape(n * steps, features), kernel).reshape(n, steps, 256)
    xw += bias
    h = np.zeros((n, 64), np.float32)
    c = np.zeros((n, 64), np.float32)
    for t in range(steps):
        z = xw[:, t] + np.matmul(h, recurrent_kernel)
        i = _sigmoid(z[:, 0:64])
        f = _sigmoid(z[:, 64:128])
        c = f * c + i * _tanh(z[:, 128:192])
        o = _sigmoid(z[:, 192:256])
        h = o * _tanh(c)
    y = h
    return y


# layer 'probs' (Dense): x @ kernel + bias -> (N, 10)
def probs_dense(x, kernel, bias):
    y = np.matmul(x, kernel)
    y += bias
    return _softmax(y, axis=-1)


# ---------------------------------------------------------------- the model


def _check(name, x):
    shape, dtype = INPUTS[name]
    x = np.asarray(x)
    if np.issubdtype(dtype, np.floating):
        x = x.astype(dtype, copy=False)
    elif not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"input {name!r}: expected integers, got {x.dtype}")
    else:
        x = x.astype(dtype, copy=False)
    ok = x.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, x.shape))
    if not ok:
        want = tuple("any" if s is None else s for s in shape)
        raise ValueError(f"input {name!r}: expected shape {want}, got {x.shape}")
    return x


class Model:
    """Call ``predict`` with the inputs positionally (model-file order) or by name."""

    def __init__(self, weights):
        self.w = {k: np.asarray(v) for k, v in weights.items()}

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

    def predict(self, *args, **kwargs):
        x = self._bind(args, kwargs)
        w = self.w
        v_frames = x['frames']
        v_conv1 = conv1_fold(v_frames)
        v_conv1_1 = conv1_conv2d(v_conv1, w["conv1_conv2d/kernel"], w["conv1_conv2d/bias"])
        v_pool1_1 = pool1_pool(v_conv1_1)
        v_conv2_1 = conv2_conv2d(v_pool1_1, w["conv2_conv2d/kernel"], w["conv2_conv2d/bias"])
        v_pool2_1 = pool2_pool(v_conv2_1)
        v_flat_1 = flat_reshape(v_pool2_1)
        v_flat_2 = flat_unfold(v_flat_1, v_frames)
        v_lstm = lstm_lstm(v_flat_2, w["lstm_lstm/kernel"], w["lstm_lstm/recurrent_kernel"], w["lstm_lstm/bias"])
        v_probs = probs_dense(v_lstm, w["probs_dense/kernel"], w["probs_dense/bias"])
        return v_probs


def load(path=None):
    """The model with its weights (default: the ``.npz`` beside this file)."""
    if path is None:
        path = __file__[: -len(".py")] + ".npz" if __file__.endswith(".py") else __file__ + ".npz"
    with np.load(path, allow_pickle=False) as z:
        return Model({k: z[k] for k in z.files})


def _main(argv):
    if len(argv) < 2 or len(argv) - 1 != len(INPUTS):
        raise SystemExit(f"usage: python {__file__} IN.npy [...] OUT.npy|OUT.npz ({len(INPUTS)} inputs)")
    arrays = [np.load(p, allow_pickle=False) for p in argv[:-1]]
    result = load().predict(*arrays)
    if isinstance(result, dict):
        np.savez(argv[-1], **result)
    else:
        np.save(argv[-1], result)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
