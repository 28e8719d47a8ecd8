"""The memory cap is counted in bytes and checked before anything is inflated: weights files
(from their headers), seeded weights, run inputs, and the sizes ``verify`` / ``bench`` would
draw. Each refusal is exit 2 in well under a second, naming the size and the cap."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cli_util import GOOD, good_weights, tdc
from compiler.frontend.arrays import write_npz
from compiler.limits import DEFAULT_MAX_BYTES, max_bytes, parse_size


def header_only(descr: str, shape: tuple) -> bytes:
    """A .npy header promising ``shape`` of ``descr``, followed by no data."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def npz_of(members: dict[str, bytes], compress: bool = False) -> bytes:
    buf = io.BytesIO()
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", mode) as zf:
        for name, data in members.items():
            zf.writestr(name + ".npy", data)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _refused(args: list, needles: list[str]) -> str:
    start = time.perf_counter()
    code, _, err = tdc(*args)
    took = time.perf_counter() - start
    assert code == 2 and err.count("\n") == 1, err
    assert "internal error" not in err and "MemoryError" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert took < 5, took  # refused from headers and shapes, nothing inflated
    return err


@pytest.mark.parametrize(
    "member,needle",
    [
        # 19 MB of zlib inflating to 1 GB per string: refused from the header (text)
        (header_only("|S1000000000", (20,)), "not numeric"),
        (header_only("<U100000000", (20,)), "not numeric"),
        # 10**9 float64 = 8 GB promised by a header of 128 bytes
        (header_only("<f8", (10**9,)), "memory cap"),
        (header_only("<f4", (2**29 + 1,)), "memory cap"),
    ],
)
def test_weights_file_refused_from_headers(tmp_path, member, needle):
    members = {k: _npy(v) for k, v in good_weights().items()}
    members["d1/kernel"] = member
    (tmp_path / "w.npz").write_bytes(npz_of(members))
    (tmp_path / "m.yaml").write_text(GOOD + "weights: w.npz\n")
    _refused(
        ["compile", tmp_path / "m.yaml", "--target", "onnx", "-o", tmp_path / "o.onnx"],
        [needle, "w.npz"],
    )
    assert not (tmp_path / "o.onnx").exists()


def test_weights_total_counts_every_array(tmp_path):
    """Arrays each under the cap but over it together are refused before any is read."""
    members = {k: _npy(v) for k, v in good_weights().items()}
    members |= {f"extra{i}/big": header_only("<f8", (2**27,)) for i in range(3)}
    (tmp_path / "w.npz").write_bytes(npz_of(members))
    (tmp_path / "m.yaml").write_text(GOOD + "weights: w.npz\n")
    _refused(["inspect", tmp_path / "m.yaml"], ["memory cap", "7 arrays"])


def test_unknown_keys_are_never_inflated(tmp_path):
    """An extra key whose data is missing is reported as unused, not read (and so not
    as truncated): its data is never touched."""
    members = {k: _npy(v) for k, v in good_weights().items()}
    members["typo/kernel"] = header_only("<f4", (1000, 1000))
    (tmp_path / "w.npz").write_bytes(npz_of(members, compress=True))
    (tmp_path / "m.yaml").write_text(GOOD + "weights: w.npz\n")
    err = _refused(["inspect", tmp_path / "m.yaml"], ["no layer uses: typo/kernel"])
    assert "truncated" not in err


def test_many_unknown_keys_give_one_short_message(tmp_path):
    arrays = good_weights() | {f"layer{i}/kernel": np.zeros(1, np.float32) for i in range(3000)}
    write_npz(tmp_path / "w.npz", arrays)
    (tmp_path / "m.yaml").write_text(GOOD + "weights: w.npz\n")
    err = _refused(
        ["inspect", tmp_path / "m.yaml"], ["keys no layer uses: layer0/kernel", "and 2990 more"]
    )
    assert len(err) < 1000, len(err)


def test_seeded_weights_over_the_cap(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text(
        "inputs:\n  x: {shape: [30000]}\nlayers:\n  - {name: big, type: Dense, units: 30000}\n"
    )
    err = _refused(
        ["compile", model, "--target", "onnx", "-o", tmp_path / "o.onnx"],
        ["layer 'big'", "line 4", "3600000000 bytes", "memory cap of 2.0 GiB"],
    )
    assert "--max-bytes" in err


def test_verify_sizes_over_the_cap(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text(GOOD)
    _refused(["verify", model, "--batch", "4096", "--time", "100000"], ["N=4096", "memory cap"])
    _refused(
        ["bench", model, "--batch", "4096", "--time", "100000", "--backend", "numpy"],
        ["memory cap"],
    )


def test_run_input_over_the_cap(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text(GOOD)
    (tmp_path / "x.npy").write_bytes(header_only("<f8", (4096, 100000, 6)))
    _refused(
        ["run", model, "-i", tmp_path / "x.npy", "-o", tmp_path / "y.npy"], ["x.npy", "memory cap"]
    )
    assert not (tmp_path / "y.npy").exists()


def test_the_cap_is_a_flag(tmp_path):
    """The same model is refused under a small cap and accepted under the default."""
    model = tmp_path / "m.yaml"
    model.write_text(GOOD)
    out = tmp_path / "o.onnx"
    _refused(
        ["compile", model, "--target", "onnx", "-o", out, "--max-bytes", "64"],
        ["memory cap of 64 bytes"],
    )
    assert tdc("compile", model, "--target", "onnx", "-o", out)[0] == 0
    code, _, err = tdc("verify", model, "--max-bytes", "1KiB", "--batch", "64", "--time", "64")
    assert code == 2 and "memory cap of 1.0 KiB" in err, err
    assert max_bytes() == DEFAULT_MAX_BYTES  # the flag held for that command only
    code, _, err = tdc("compile", model, "--target", "onnx", "-o", out, "--max-bytes", "lots")
    assert code == 2 and "--max-bytes" in err


@pytest.mark.parametrize(
    "text,size",
    [
        ("2GiB", 2 << 30),
        ("512MiB", 512 << 20),
        ("8G", 8 * 10**9),
        ("100", 100),
        ("1.5KiB", 1536),
        ("4gb", 4 * 10**9),
    ],
)
def test_sizes(text, size):
    assert parse_size(text) == size


def test_default_cap_is_documented():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert DEFAULT_MAX_BYTES == 2 << 30 and "--max-bytes" in readme and "2 GiB" in readme
