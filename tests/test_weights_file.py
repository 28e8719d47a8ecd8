"""Reading a weights file: the archive's directory is parsed once for the index and once for
all the arrays, not once per array (a backbone's ``.npz`` holds over a thousand arrays,
and reopening it per array made compiling NASNetMobile take 20 s)."""

import zipfile

import numpy as np

from compiler.frontend import weights
from oracle import compile_with_random_weights, model


def test_weights_archive_opened_twice_for_all_arrays(tmp_path, monkeypatch):
    layers = [{"type": "Dense", "units": 4, "name": f"d{i}"} for i in range(12)]
    opened: list[str] = []

    class Counting(zipfile.ZipFile):
        def __init__(self, file, *args, **kwargs):
            opened.append(str(file))
            super().__init__(file, *args, **kwargs)

    monkeypatch.setattr(weights.zipfile, "ZipFile", Counting)
    compiled = compile_with_random_weights(tmp_path, model([4], *layers))
    npz = [f for f in opened if f.endswith("model.npz")]
    assert len(compiled.weights) == 24 and len(npz) == 2, opened
    assert all(np.isfinite(w).all() for w in compiled.weights.values())
