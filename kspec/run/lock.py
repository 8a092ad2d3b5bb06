"""One writer per run folder: an OS lock (fcntl.flock) on `DIR/.lock` while a run or resume
writes it.

The kernel drops the lock when its holder dies, however it dies (SIGKILL included), so a stale
lock file never blocks a resume; the file holds the holder's pid only to name it in the
diagnostic a second writer gets.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import Span

LOCK_FILE = ".lock"


class RunFolderLocked(KspecError):
    """Another process holds the folder's lock."""


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold `run_dir`'s lock for the block; a folder already locked is a KspecError at once."""
    import fcntl

    path = run_dir / LOCK_FILE
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise _locked_error(run_dir, holder) from None
        except BaseException:
            os.close(fd)
            raise
        # The holder before us may have removed the file after we opened it: a lock on an
        # unlinked file guards nothing, so take the lock on the file that is there now.
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)  # while still held, so no one locks the file being removed
        os.close(fd)


def check_free(run_dir: Path) -> None:
    """A KspecError if another process holds `run_dir`'s lock; creates and changes nothing."""
    import fcntl

    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return  # no lock file: no holder
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _locked_error(run_dir, _read_pid(fd)) from None
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _locked_error(run_dir: Path, pid: int | None) -> RunFolderLocked:
    holder = f"process {pid}" if pid is not None else "another process"
    return RunFolderLocked(
        [
            Diagnostic(
                "run-locked",
                f"{run_dir} is being written by another kspec run ({holder})",
                Span(0, 0, 0, 0, str(run_dir)),
                "wait for it to end, or give this run another --output folder",
            )
        ]
    )
