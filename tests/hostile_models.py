"""Hostile model files for the code-generation safety tests: payload strings and models.

``NAMES`` (printable model names), ``FILES`` (file names: any character but ``/`` and
NUL) and layer, input and output names at the limits of what the loader accepts, in four
models (``MODELS``) that between them use every NumPy op template. The payloads aim at
the marker file ``MARK``. ``compiled_modules`` compiles them all, optimised and not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compiler.api import compile_spec
from compiler.backends.numpy import codegen as numpy_backend
from compiler.frontend.loader import load_model

MARK = "PWNED"
#: printable model names (what the loader accepts) that break out of a naive docstring
NAMES = [
    f'x"""+open("{MARK}","w").name+"""',
    f"x'''+open('{MARK}','w').name+'''\\",
    '\\N{x}\\x\\u"\\',
    f"# \"\"\";open('{MARK}','w')#\u00e9 {{{{ x }}}} {{% if %}}",
]
#: file names: everything but '/' and NUL
FILES = [
    f'a"""\nopen(\'{MARK}\',\'w\')\n""".yaml',
    f"b'''\r\nopen('{MARK}','w')#\u2028\u2029\x85\x0b\x0c\x1c.yaml",
    'c\\\\"\\.yaml',
    'd\x1e\x1d""""\\n\u202e.yaml',
]
#: layer names at the loader's limits: 128 characters, '.', '-', keywords, dunders and
#: the module's own names
LONG = "L" + "a-b." * 31 + "xyz"


def lay(kind: str, name: str, **kw: object) -> dict:
    return {"name": name, "type": kind, **kw}


def td(inner: dict, name: str) -> dict:
    return {"name": name, "type": "TimeDistributed", "layer": inner}


CONV = {
    "inputs": {"in.put-1": {"shape": [None, 8, 8, 3]}},
    "layers": [
        lay(
            "ConvLSTM2D",
            "init_state",
            filters=3,
            kernel_size=3,
            padding="same",
            return_sequences=True,
        ),
        td({"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}, LONG),
        td({"type": "BatchNormalization"}, "b.n-1"),
        td({"type": "DepthwiseConv2D", "kernel_size": 3}, "__init__"),
        td({"type": "Conv2DTranspose", "filters": 2, "kernel_size": 3}, "Model"),
        td({"type": "MaxPooling2D", "pool_size": 2}, "load"),
        td({"type": "ZeroPadding2D", "padding": 1}, "_check"),
        td({"type": "Cropping2D", "cropping": 1}, "_main"),
        td({"type": "UpSampling2D", "size": 2}, "INPUTS"),
        td({"type": "Resizing", "height": 5, "width": 7}, "resize"),
        td({"type": "Rescaling", "scale": 0.5, "offset": 1.0}, "__file__"),
        td({"type": "GlobalAveragePooling2D"}, "np"),
        lay("PReLU", "import", shared_axes=[1]),
        lay("LayerNormalization", "None"),
        lay("Activation", "w", activation="gelu"),
        lay("Conv1D", "self", filters=3, kernel_size=2, padding="causal"),
        lay("Identity", "x"),
    ],
}
STATIC = {
    "inputs": {"__class__": {"shape": [4, 4, 4, 2]}},
    "layers": [
        lay("Conv3D", "c3", filters=2, kernel_size=2),
        lay("Conv3DTranspose", "sys", filters=2, kernel_size=2, strides=[1, 1, 2]),
        lay("ZeroPadding3D", "__builtins__", padding=1),
        lay("Cropping3D", "__name__", cropping=[1, 1, 2]),
        lay("UpSampling3D", "predict", size=[1, 2, 1]),
        lay("GroupNormalization", "gamma", groups=-1),
        lay("UnitNormalization", "beta", axis=[1, -1]),
        lay("Permute", "os.system", dims=[3, 2, 1, 4]),
        lay("Reshape", "_", target_shape=[-1]),
        lay("RepeatVector", "state", n=2),
        lay("Dropout", "__", rate=0.5),
    ],
}
SEQ = {
    "inputs": {"ids": {"shape": [5], "dtype": "int32"}, "f-2.x": {"shape": [5, 4]}},
    "layers": [
        lay("Embedding", "e", input_dim=10, output_dim=4, mask_zero=True, inputs="ids"),
        lay("Masking", "m.k", mask_value=0.0, inputs="f-2.x"),
        lay("Maximum", "m-x", inputs=["e", "m.k"]),
        lay("Concatenate", "c.t", axis=1, inputs=["e", "f-2.x"]),
        lay("Concatenate", "c-c", inputs=["e", "f-2.x"]),
        lay("LSTM", "STATES", units=4, return_sequences=True, inputs="m-x"),
        lay("GRU", "gru", units=4, return_sequences=True, inputs="STATES"),
        lay("SimpleRNN", "rnn", units=4, return_sequences=True, inputs="gru"),
        lay(
            "Bidirectional",
            "b.i",
            layer={"type": "LSTM", "units": 3, "return_sequences": True},
            inputs="c-c",
        ),
        lay("Add", "a-d", inputs=["rnn", "e"]),
        lay("GlobalAveragePooling1D", "gap", inputs="a-d"),
        lay("Dot", "d.t", axes=2, inputs=["b.i", "b.i"]),
        lay("Dense", "out.1", units=2, activation="softmax", inputs="gap"),
        lay("LSTM", "l-2", units=2, inputs="c.t"),
        # Keras operations: every template of keras_*.py
        lay("ops.not_equal", "o.ne", inputs=["ids", 0]),
        lay("ops.where", "o-w", inputs=["o.ne", 1.0, 0.0]),
        lay("ops.getitem", "__class__", inputs=["f-2.x"], key="[:, ::-1, None, 1:]"),
        lay("ops.squeeze", "o.sq", inputs=["__class__"], axis=2),
        lay("ops.expand_dims", "o.ex", inputs=["o-w"], axis=-1),
        lay("ops.cast", "o.ca", inputs=["o.ne"], dtype="int32"),
        lay("ops.cumsum", "o.cs", inputs=["o.ca"], axis=1),
        lay("ops.full_like", "o.fl", inputs=["o.sq", 0.5]),
        lay("ops.split", "o.sp", inputs=["f-2.x"], indices_or_sections=[1, 3], axis=-1),
        lay("ops.matmul", "o.mm", inputs=["o.sq", [[1.0], [2.0], [3.0]]]),
        lay("ops.einsum", "o.es", inputs=["btf,bsf->bts", "f-2.x", "f-2.x"]),
        lay("ops.arange", "o.ar", start=3),
        lay("ops.add", "o.ad", inputs=["o.fl", "o.ar"]),
        lay("ops.multiply", "o.mu", inputs=["o.mm", "o.ex"]),
        lay("MultiHeadAttention", "m.h-a", num_heads=2, key_dim=2, inputs="e", dropout=0.5),
        lay("Attention", "at.t", inputs=["e", "m.h-a"]),
        lay("AdditiveAttention", "ad.d", inputs=["at.t", "f-2.x"]),
        lay("MultiHeadAttention", "x.a", num_heads=1, key_dim=3, inputs=["ad.d", "f-2.x"]),
    ],
    "outputs": ["out.1", "d.t", "b.i", "l-2", "o.mu", "o.cs", "o.sp:2", "o.es", "o.ad", "x.a"],
}
STREAM = {
    "inputs": {"in.put-1": {"shape": [None, 3]}, "self": {"shape": [None, 3]}},
    "layers": [
        lay("Add", "a.b-c", inputs=["in.put-1", "self"]),
        lay("LSTM", "__init__", units=4, return_sequences=True),
        lay("GRU", "STATES", units=3, return_sequences=True),
        lay("SimpleRNN", "NOT_CAUSAL", units=2),
        lay("Dense", LONG, units=2),
        lay("ops.multiply", "ops.x-1", inputs=["a.b-c", [1.0, -2.0, 3.5]]),
        lay("ops.clip", "None.y", inputs=["ops.x-1", -1.0, 1.0]),
        lay("ops.sum", "__import__", inputs=["None.y"], axis=-1, keepdims=True),
        lay("MultiHeadAttention", "s.elf", num_heads=1, key_dim=2, use_causal_mask=True),
    ],
    "outputs": [LONG, "a.b-c", "__import__", "s.elf"],
}
MODELS = [CONV, STATIC, SEQ, STREAM]


def compiled_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, set]:
    """(model name, file name, module text, weights) of every model, optimised and not,
    and the op templates rendered on the way (their paths under ``templates/``)."""
    seen: set[str] = set()
    real = numpy_backend.template_path

    def spy(op: str) -> str:
        seen.add(real(op))
        return real(op)

    monkeypatch.setattr(numpy_backend, "template_path", spy)
    out = []
    for k, (model, name, fname) in enumerate(zip(MODELS, NAMES, FILES, strict=True)):
        folder = tmp_path / f"m{k}"
        folder.mkdir()
        path = folder / fname
        path.write_text(yaml.safe_dump({"name": name, **model}, sort_keys=False))
        for optimize in (True, False):
            text, weights = compile_spec(load_model(path), optimize).numpy_source()
            out.append((name, fname, text, weights))
    return out, seen
