"""Reading files named by untrusted input (an `import` line, a model file): regular files only,
opened without blocking (a FIFO never hangs the reader) and read within a size limit (a device
such as /dev/zero never fills the memory)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from kspec import limits


class NotRegular(Exception):
    """The path names something that is not a readable regular file; the message says what."""


@contextmanager
def read_regular(path: str | Path) -> Iterator[BinaryIO]:
    """The open regular file at `path`; NotRegular for a NUL byte in the path, a folder, a FIFO,
    a device or a socket. OSError for what the OS refuses (missing, no permission)."""
    if "\0" in str(path):
        raise NotRegular("holds a NUL byte, which no file name can")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(f"is {_kind(mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_text(path: str | Path, limit: int | None = None) -> str:
    """A regular file's UTF-8 text; NotRegular when it is not one or exceeds `limit` bytes
    (kspec/limits.py's MAX_SPEC_BYTES by default)."""
    limit = limits.MAX_SPEC_BYTES if limit is None else limit
    with read_regular(path) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise NotRegular(f"is larger than {size_text(limit)}, the most kspec reads")
    return data.decode("utf-8")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def size_text(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 2**20 else f"{n:,} bytes"
