"""Atomic file writing, shared by weights files, checkpoints, pictures and reports.

A file is written to a temporary name in the same directory and then renamed over the
target with ``os.replace`` (atomic on POSIX and Windows), so a reader never sees half a
file and a crash never destroys the previous version.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator, Union

__all__ = ["atomic_write", "write_atomic"]


@contextlib.contextmanager
def atomic_write(path: Union[str, os.PathLike], mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on a clean exit it replaces ``path``,
    on an exception it is deleted and ``path`` is left as it was."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    except OSError as e:  # name the file the caller asked for, not our temporary name
        raise type(e)(e.errno, f"cannot write {path!r}: {e.strerror}") from None
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomic(path: Union[str, os.PathLike], data: Union[bytes, str]) -> None:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically."""
    with atomic_write(path, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
