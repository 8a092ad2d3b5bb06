"""The one way kspec writes a file: all of it or none of it, and a failure is a diagnostic.

The bytes go to a temporary file in the target's folder (so the rename stays on one file
system), are flushed to disk with fsync, and `os.replace` swaps them in: a reader, a resumed run
or a user whose disk filled up sees the old file or the new one, never half of either. A symlink
is written through (its target is replaced, the link stays), an existing file keeps its
permissions, and any OSError becomes a KspecError naming the path, so no command reports
`internal error: OSError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import Span

_HELP = {
    errno.ENOSPC: "the disk is full: free some space and run it again",
    errno.EDQUOT: "the disk quota is used up: free some space and run it again",
    errno.EROFS: "the file system is read-only: write somewhere else",
    errno.EACCES: "you may not write there: check the folder's permissions or write elsewhere",
    errno.EPERM: "you may not write there: check the folder's permissions or write elsewhere",
    errno.EISDIR: "that is a folder: give a file name",
    errno.ENOENT: "the folder does not exist: create it first",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "the file name is too long",
}


def write_error(path: str | Path, error: OSError, *, kept: bool = True) -> KspecError:
    """The diagnostic for a failed write of `path`: what the system said and what to do."""
    reason = error.strerror or str(error)
    help_ = _HELP.get(error.errno or 0, "check the path and the disk")
    if kept:
        help_ += "; any old file there is unchanged"
    span = Span(0, 0, 0, 0, str(path))
    return KspecError([Diagnostic("write-error", f"cannot write {path}: {reason}", span, help_)])


def target_of(path: str | Path) -> Path:
    """The file a write of `path` replaces: a symlink's final target, so the link survives."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def _create_temp(target: Path, suffix: str) -> tuple[int, Path]:
    folder = target.parent
    for _ in range(100):
        tmp = folder / f".{target.name}.{secrets.token_hex(4)}.tmp{suffix}"
        try:
            # 0o666 less the umask, as any new file; an existing target's mode is copied later.
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


@contextlib.contextmanager
def replacing(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside `path`; what the block writes there replaces `path` at the end.

    `suffix` keeps an extension a writer insists on (Keras saves only to `*.keras`). On any
    failure the temporary file is removed and `path` is left as it was; an OSError is raised
    as a `write-error` KspecError.
    """
    shown = path
    target = target_of(path)
    tmp: Path | None = None
    try:
        try:
            old = target.stat()
        except FileNotFoundError:
            old = None
        if old is not None and target.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        fd, tmp = _create_temp(target, suffix)
        os.close(fd)
        yield tmp
        _finish(tmp, target, old)
    except OSError as e:
        raise write_error(shown, e) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _finish(tmp: Path, target: Path, old: os.stat_result | None) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        if old is not None:
            os.fchmod(fd, old.st_mode & 0o7777)
            if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != _owner(fd):
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.fchown(fd, old.st_uid, old.st_gid)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    _sync_folder(target.parent)


def _owner(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_uid, st.st_gid


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable; some file systems refuse to fsync a folder, which is fine."""
    try:
        fd = os.open(folder if str(folder) else ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Replace `path` with `data` atomically (see the module docstring)."""
    with replacing(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)


def write_text(path: str | Path, text: str) -> None:
    """Replace `path` with `text` as UTF-8, newlines as given."""
    write_bytes(path, text.encode("utf-8"))


def save_with(path: str | Path, save: Callable[[Path], Any], suffix: str = "") -> None:
    """Run `save(tmp)` (e.g. Keras's `model.save`), then move the result onto `path`."""
    with replacing(path, suffix) as tmp:
        save(tmp)
