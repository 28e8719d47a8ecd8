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
    'x': ((None, 10, 16), np.float32),
}
OUTPUTS = ('td_dense',)
# one time step of each input (the time axis removed)
STEP_INPUTS = {
    'x': ((None, 16), np.float32),
}
# carried state: key -> (units, recurrent layer, which state); zeros before the first step
STATES = {
}


# ---------------------------------------------------------------- one function per op


# layer 'td_dense' (TimeDistributed(Dense)): x @ kernel + bias -> (N, 10, 8)
def td_dense_dense(x, kernel, bias):
    # the leading axes as one matrix: one GEMM instead of one per leading index
    y = np.matmul(x.reshape(-1, 16), kernel).reshape(x.shape[:-1] + (8,))
    y += bias
    return y


# ---------------------------------------------------------------- one time step


# layer 'td_dense' (TimeDistributed(Dense)): x @ kernel + bias -> (N, 8)
def step_td_dense_dense(x, kernel, bias):
    y = np.matmul(x, kernel)
    y += bias
    return y


# ---------------------------------------------------------------- the model


def _check(name, x, table=INPUTS):
    shape, dtype = table[name]
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

    def init_state(self, batch):
        """The state before the first step: zeros, (batch, units) per entry of ``STATES``."""
        return {key: np.zeros((batch, units), np.float32) for key, (units, _, _) in STATES.items()}

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
        if sorted(state) != sorted(STATES):
            raise TypeError(f"state: expected keys {list(STATES)}, got {sorted(state)}")
        x = {n: _check(n, x[n], STEP_INPUTS) for n in names}
        w = self.w
        v_x = x['x']
        v_td_dense_Dense = step_td_dense_dense(v_x, w["td_dense_dense/kernel"], w["td_dense_dense/bias"])
        state = {
        }
        return v_td_dense_Dense, state

    def predict(self, *args, **kwargs):
        x = self._bind(args, kwargs)
        w = self.w
        v_x = x['x']
        v_td_dense_1_1 = td_dense_dense(v_x, w["td_dense_dense/kernel"], w["td_dense_dense/bias"])
        return v_td_dense_1_1


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
