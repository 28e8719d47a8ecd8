"""Writing outputs: whole or not at all, never over an input, never replacing a device.

- ``refuse_overwrite``: an output that is one of the command's inputs (the model file, its
  weights file, an input array), by resolved path or as the same file on disk (a hard link,
  another spelling on a case-insensitive disk), is refused before anything is written.
- ``write_atomic``: each file is written to a hidden temporary beside it and renamed into
  place once all are complete. A symbolic link is written through (the link stays, its target
  gets the data); an existing file keeps its permissions; a read-only one is refused, as
  ``cp`` refuses it for a user who may not write it. A character device or a FIFO
  (``/dev/null``, ``/dev/stdout``, a named pipe) is written through, never replaced; a folder,
  a block device or a socket is refused. SIGTERM and SIGHUP during the write remove the
  temporaries (as SIGINT does) before the process ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import TdcError

Writer = Callable[[Path], None]


class Interrupted(BaseException):
    """SIGTERM or SIGHUP arrived: temporaries are removed, then the process ends."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


def same_file(a: Path, b: Path) -> bool:
    """One file under two names: the same resolved path, or the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_overwrite(outputs: Iterable[Path], inputs: Iterable[tuple[str, Path]]) -> None:
    """Refuse (exit 2) an output that is one of the inputs, each named by what it is."""
    inputs = list(inputs)
    for out in outputs:
        for what, src in inputs:
            if same_file(out, src):
                raise TdcError(
                    f"the output would overwrite {what} {src}: a command never overwrites "
                    "one of its own inputs",
                    file=str(out),
                    accepted="an output path that is none of the command's input files",
                )


def is_stream(path: Path) -> bool:
    """Written through, never replaced: a character device or a FIFO, and anything named
    through ``/dev`` or ``/proc`` (``/dev/stdout`` redirected to a file writes that file)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    special = str(Path(os.path.abspath(path))).startswith(("/dev/", "/proc/"))
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or special


def _refuse(target: Path, why: str) -> TdcError:
    return TdcError(
        f"cannot write the output: {why}",
        file=str(target),
        accepted="a writable regular file path (missing folders are created), a character "
        "device or a FIFO",
    )


def _writable(st: os.stat_result) -> bool:
    if os.geteuid() == 0:  # root may write anything: refuse as cp does for other users
        return bool(st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return True  # os.access below decides for everyone else


@dataclass
class Destination:
    """Where the bytes go (symbolic links resolved), what is there now (None: nothing), and
    whether it is written through (a stream) rather than replaced."""

    path: Path
    st: os.stat_result | None = None
    stream: bool = False


def _destination(target: Path) -> Destination:
    if is_stream(target):
        return Destination(target, stream=True)
    real = Path(os.path.realpath(target))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return Destination(real)
    except NotADirectoryError:
        folder = next(p for p in real.parents if p.exists() and not p.is_dir())
        raise _refuse(target, f"{folder} is not a folder") from None
    except OSError as e:
        raise _refuse(target, e.strerror or str(e)) from None
    if stat.S_ISDIR(st.st_mode):
        raise _refuse(target, "it is a folder")
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(target, "it is a block device or a socket, not a file")
    if not _writable(st) or (os.geteuid() != 0 and not os.access(real, os.W_OK)):
        raise _refuse(target, "it is read-only")
    return Destination(real, st)


@contextlib.contextmanager
def _signals_clean_up() -> Iterator[None]:
    """SIGTERM / SIGHUP raise ``Interrupted`` so that ``finally`` blocks run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    saved = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


def write_atomic(pairs: list[tuple[Path, Writer]]) -> None:
    """Write every file to a temporary, then move them all into place (or stream them)."""
    temps: list[Path] = []
    current = pairs[0][0] if pairs else Path()
    try:
        with _signals_clean_up(), tempfile.TemporaryDirectory(prefix="tdc-out-") as scratch:
            staged = []
            for k, (target, writer) in enumerate(pairs):
                current = target
                dest = _destination(target)
                tmp = _temporary(dest, Path(scratch) / f"stream-{k}", temps)
                writer(tmp)
                staged.append((tmp, dest))
            for tmp, dest in staged:
                _place(tmp, dest)
    except OSError as e:
        raise _refuse(current, e.strerror or str(e)) from None
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def _temporary(dest: Destination, scratch: Path, temps: list[Path]) -> Path:
    """A fresh file to write, listed in ``temps`` the moment it exists: beside a regular
    file; ``scratch`` (in a folder removed anyway) for a stream."""
    if dest.stream:
        return scratch
    folder = dest.path.parent
    folder.mkdir(parents=True, exist_ok=True)
    with _signals_held():  # no signal between creating the file and listing it
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.path.name}.", dir=folder)
        temps.append(Path(tmp))
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGTERM, SIGHUP and SIGINT wait until the block is done, then arrive as usual."""
    held = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _place(tmp: Path, dest: Destination) -> None:
    st = dest.st
    if dest.stream:
        with open(tmp, "rb") as src, open(dest.path, "wb") as out:
            shutil.copyfileobj(src, out)
        return
    if st is None:
        os.chmod(tmp, 0o666 & ~_umask())
    else:
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0):
            os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, dest.path)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
