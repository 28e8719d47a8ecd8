"""Model 'seed_td_dense', compiled by tdc 0.1.0 from seed_td_dense.yaml.

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
    "x": ((None, 10, 16), np.float32),
}
# integer inputs: their ids index an Embedding, so lie in [0, limit)
ID_LIMITS = {}
OUTPUTS = ("td_dense",)
# one time step of each input (the time axis removed)
STEP_INPUTS = {
    "x": ((None, 16), np.float32),
}
# carried state: key -> (shape per sample, layer, which state); zeros before the first
# step, a None axis (the steps so far of an attention layer's key/value cache) empty
STATES = {
}


# ---------------------------------------------------------------- one function per op


# layer 'td_dense' (TimeDistributed(Dense)) -> (N, 10, 8)
# x @ kernel + bias
def td_dense_dense(x, kernel, bias):
    # the leading axes as one matrix: one GEMM instead of one per leading index
    y = np.matmul(x.reshape(-1, 16), kernel).reshape(x.shape[:-1] + (8,))
    y += bias
    return y


# ---------------------------------------------------------------- one time step


# layer 'td_dense' (TimeDistributed(Dense)) -> (N, 8)
# x @ kernel + bias
def step_td_dense_dense(x, kernel, bias):
    y = np.matmul(x, kernel)
    y += bias
    return y


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
        self.td_dense_dense = (w["td_dense_dense/kernel"], w["td_dense_dense/bias"])

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
        x = feed["x"]
        td_dense = step_td_dense_dense(x, *self.td_dense_dense)
        state = {
        }
        return td_dense, state

    def predict(self, /, *args, **kwargs):
        feed = self._bind(args, kwargs)
        x = feed["x"]
        td_dense = td_dense_dense(x, *self.td_dense_dense)
        return td_dense


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
