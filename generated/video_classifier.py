"""Model 'video_classifier', compiled by tdc 0.1.0 from video_classifier.yaml.

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
    "frames": ((None, None, 32, 32, 3), np.float32),
}
# integer inputs: their ids index an Embedding, so lie in [0, limit)
ID_LIMITS = {}
OUTPUTS = ("probs",)
# one time step of each input (the time axis removed)
STEP_INPUTS = {
    "frames": ((None, 32, 32, 3), np.float32),
}
# carried state: key -> (shape per sample, layer, which state); zeros before the first
# step, a None axis (the steps so far of an attention layer's key/value cache) empty
STATES = {
    "state_0": ((64,), "lstm", "h"),
    "state_1": ((64,), "lstm", "c"),
}


# ---------------------------------------------------------------- activations


def _relu(x, out=None):
    return np.maximum(x, np.float32(0), out=out)


def _tanh(x, out=None):
    return np.tanh(x, out=out)


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# ---------------------------------------------------------------- one function per op


# layer 'conv1' (TimeDistributed(Conv2D)) -> (N*T, 32, 32, 3)
# merge batch and time (N, T, 32, 32, 3)
def conv1_fold(x):
    return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])


# layer 'conv1' (TimeDistributed(Conv2D)) -> (N*T, 32, 32, 16)
# conv 3x3 window, pads ((1, 1), (1, 1))
def conv1_conv2d(x, kernel, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # im2col: every window as one row (one copy of the strided view), then one GEMM
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    cols = win.transpose((0, 1, 2, 4, 5, 3)).reshape(-1, 27)
    y = np.matmul(cols, kernel)
    y = y.reshape(win.shape[:3] + (16,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 16)
    rows += bias
    return _relu(y, out=y)


# the weights of conv1_conv2d as it takes them: made once, by Model.__init__
def conv1_conv2d_weights(kernel, bias):
    # the kernel as one (27, 16) matrix: a window's row times it
    kernel = kernel.reshape(27, 16)
    # the bias repeated along the last spatial axis (32): one long add per row
    bias = np.tile(bias, 32)
    return kernel, bias


# layer 'pool1' (TimeDistributed(MaxPooling2D)) -> (N*T, 16, 16, 16)
# max pooling 2x2 window, strides (2, 2)
def pool1_pool(x):
    # separable: each spatial axis in turn, one elementwise call per window tap
    y = np.maximum(x[:, 0:31:2], x[:, 1:32:2])
    y = np.maximum(y[:, :, 0:31:2], y[:, :, 1:32:2])
    return y


# layer 'conv2' (TimeDistributed(Conv2D)) -> (N*T, 16, 16, 32)
# bn2 folded into conv2's kernel
# relu2 fused into conv2
# conv 3x3 window, pads ((1, 1), (1, 1))
def conv2_conv2d(x, kernel, bias):
    xp = np.zeros((x.shape[0], x.shape[1] + 2, x.shape[2] + 2, x.shape[-1]), np.float32)
    xp[:, 1:1 + x.shape[1], 1:1 + x.shape[2]] = x
    x = xp
    # im2col: every window as one row (one copy of the strided view), then one GEMM
    win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
    cols = win.transpose((0, 1, 2, 4, 5, 3)).reshape(-1, 144)
    y = np.matmul(cols, kernel)
    y = y.reshape(win.shape[:3] + (32,))
    # the bias along whole rows: one long inner loop instead of many short ones
    rows = y.reshape(-1, y.shape[-2] * 32)
    rows += bias
    return _relu(y, out=y)


# the weights of conv2_conv2d as it takes them: made once, by Model.__init__
def conv2_conv2d_weights(kernel, bias):
    # the kernel as one (144, 32) matrix: a window's row times it
    kernel = kernel.reshape(144, 32)
    # the bias repeated along the last spatial axis (16): one long add per row
    bias = np.tile(bias, 16)
    return kernel, bias


# layer 'pool2' (TimeDistributed(MaxPooling2D)) -> (N*T, 8, 8, 32)
# max pooling 2x2 window, strides (2, 2)
def pool2_pool(x):
    # separable: each spatial axis in turn, one elementwise call per window tap
    y = np.maximum(x[:, 0:15:2], x[:, 1:16:2])
    y = np.maximum(y[:, :, 0:15:2], y[:, :, 1:16:2])
    return y


# layer 'flat' (TimeDistributed(Flatten)) -> (N*T, 2048)
# reshape
def flat_reshape(x):
    return x.reshape((x.shape[0], 2048))


# layer 'flat' (TimeDistributed(Flatten)) -> (N, T, 2048)
# split batch and time back (as in like)
def flat_unfold(x, like):
    return x.reshape(like.shape[:2] + x.shape[1:])


# layer 'lstm' (LSTM) -> (N, 64)
# LSTM, gates i, f, c, o over time
def lstm_lstm(x, kernel, recurrent_kernel, bias, half, shift):
    n, steps, features = x.shape
    # input projection of every time step in one GEMM
    xw = np.matmul(x.reshape(n * steps, features), kernel).reshape(n, steps, 256)
    xw += bias
    h = np.zeros((n, 64), np.float32)
    c = np.zeros((n, 64), np.float32)
    z = np.empty((n, 256), np.float32)
    ic = np.empty((n, 64), np.float32)
    for t in range(steps):
        np.matmul(h, recurrent_kernel, out=z)
        z += xw[:, t]
        # the gates: sigmoid as tanh of the halved columns (the weights came halved)
        np.tanh(z, out=z)
        z *= half
        z += shift
        c *= z[:, 64:128]
        np.multiply(z[:, 0:64], z[:, 128:192], out=ic)
        c += ic
        np.multiply(z[:, 192:256], np.tanh(c, out=ic), out=h)
    y = h
    return y


# the weights of lstm_lstm as it takes them: made once, by Model.__init__
def lstm_lstm_weights(kernel, recurrent_kernel, bias):
    # sigmoid(v) = tanh(v / 2) / 2 + 1 / 2: with the i, f and o columns halved (exact in
    # binary floating point) one tanh call per step serves all four gates
    half = np.repeat(np.float32([0.5, 0.5, 1, 0.5]), 64)
    shift = np.repeat(np.float32([0.5, 0.5, 0, 0.5]), 64)
    kernel = kernel * half
    recurrent_kernel = recurrent_kernel * half
    bias = bias * half
    return kernel, recurrent_kernel, bias, half, shift


# layer 'probs' (Dense) -> (N, 10)
# x @ kernel + bias
def probs_dense(x, kernel, bias):
    y = np.matmul(x, kernel)
    y += bias
    return _softmax(y, axis=-1)


# ---------------------------------------------------------------- one time step


# layer 'lstm' (LSTM) -> (N, 1, 2048)
# reshape
def step_lstm_reshape(x):
    return x.reshape((x.shape[0], 1, 2048))


# layer 'lstm' (LSTM) -> (N, 64)
# LSTM, gates i, f, c, o over time
def step_lstm_lstm(x, h0, c0, kernel, recurrent_kernel, bias, half, shift):
    n, steps, features = x.shape
    # input projection of every time step in one GEMM
    xw = np.matmul(x.reshape(n * steps, features), kernel).reshape(n, steps, 256)
    xw += bias
    h, c = np.array(h0, np.float32), np.array(c0, np.float32)
    z = np.empty((n, 256), np.float32)
    ic = np.empty((n, 64), np.float32)
    for t in range(steps):
        np.matmul(h, recurrent_kernel, out=z)
        z += xw[:, t]
        # the gates: sigmoid as tanh of the halved columns (the weights came halved)
        np.tanh(z, out=z)
        z *= half
        z += shift
        c *= z[:, 64:128]
        np.multiply(z[:, 0:64], z[:, 128:192], out=ic)
        c += ic
        np.multiply(z[:, 192:256], np.tanh(c, out=ic), out=h)
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
        self.conv1_conv2d = conv1_conv2d_weights(w["conv1_conv2d/kernel"], w["conv1_conv2d/bias"])
        self.conv2_conv2d = conv2_conv2d_weights(w["conv2_conv2d/kernel"], w["conv2_conv2d/bias"])
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
        conv1 = conv1_conv2d(frames, *self.conv1_conv2d)
        pool1 = pool1_pool(conv1)
        # bn2 folded into conv2's kernel
        # relu2 fused into conv2
        conv2 = conv2_conv2d(pool1, *self.conv2_conv2d)
        pool2 = pool2_pool(conv2)
        flat = flat_reshape(pool2)
        lstm_reshaped = step_lstm_reshape(flat)
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
        frames_folded = conv1_fold(frames)
        conv1 = conv1_conv2d(frames_folded, *self.conv1_conv2d)
        pool1 = pool1_pool(conv1)
        # bn2 folded into conv2's kernel
        # relu2 fused into conv2
        conv2 = conv2_conv2d(pool1, *self.conv2_conv2d)
        pool2 = pool2_pool(conv2)
        flat_folded = flat_reshape(pool2)
        flat = flat_unfold(flat_folded, frames)
        lstm = lstm_lstm(flat, *self.lstm_lstm)
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
