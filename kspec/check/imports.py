"""Where `import "path"` lines find their files: on the disk relative to the importing file
(`kspec check`, `kspec.load`), in a base folder or through a resolver the caller passes
(`kspec.loads`), or nowhere (`kspec.loads` without either: an `import` is a diagnostic).

Files on the disk are read only when they are regular files of at most MAX_SPEC_BYTES
(kspec/limits.py; read by kspec/files.py): a FIFO, a device or a folder is refused at the
import line.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from kspec import files, limits
from kspec.codes import Code
from kspec.files import NotRegular, read_text
from kspec.syntax.layout import string_literal

Resolver = Callable[[str], str]  # an import's path (relative to the root text) -> its text


@dataclass(frozen=True)
class Refused:
    """Why an import cannot be read, said at the import line."""

    reason: str
    code: Code
    help: str | None = None


class ImportFiles(Protocol):
    def find(self, path: str, importer: str, root: bool) -> str | Refused:
        """The key (display path) of the file `importer` imports as `path`."""
        ...

    def read(self, key: str) -> str | Refused: ...


class DiskFiles:
    """Files on the disk, relative to the importing file (or to `base`, for the root text)."""

    def __init__(self, base: str | Path | None = None):
        self.base = Path(base) if base is not None else None
        self.targets: dict[str, Path] = {}

    def find(self, path: str, importer: str, root: bool) -> str | Refused:
        if "\0" in path:
            return Refused("the path holds a NUL byte, which no file name can", "import-refused")
        folder = self.base if root and self.base is not None else Path(importer).parent
        target = folder / path
        key = _display(target)
        self.targets[key] = target
        return key

    def read(self, key: str) -> str | Refused:
        target = self.targets.get(key, Path(key))
        try:
            return read_text(key)
        except NotRegular as e:
            return Refused(
                f"it {e}",
                "import-refused",
                help=f"an import names a .kspec file of at most {_limit()}",
            )
        except UnicodeDecodeError:
            return Refused("it is not UTF-8 text", "import-refused")
        except OSError as e:
            reason = str(e.strerror or e)
            return Refused(
                reason[:1].lower() + reason[1:],
                "import-missing",
                help=f"the path is relative to this file: {target}",
            )


class ResolvedFiles:
    """Texts a caller's function gives for paths (relative to the root text, `/`-separated)."""

    def __init__(self, resolver: Resolver):
        self.resolver = resolver

    def find(self, path: str, importer: str, root: bool) -> str | Refused:
        if "\0" in path:
            return Refused("the path holds a NUL byte", "import-refused")
        folder = "" if root else posixpath.dirname(importer)
        return posixpath.normpath(posixpath.join(folder, path))

    def read(self, key: str) -> str | Refused:
        try:
            text = self.resolver(key)
        except (LookupError, OSError) as e:
            return Refused(f"the resolver has no such file ({type(e).__name__})", "import-missing")
        if not isinstance(text, str):
            return Refused(f"the resolver gave {type(text).__name__}, not text", "import-refused")
        if len(text) > limits.MAX_SPEC_BYTES:
            return Refused(
                f"it is larger than {files.size_text(limits.MAX_SPEC_BYTES)}", "import-refused"
            )
        return text


class NoFiles:
    """`kspec.loads` without a base folder or a resolver, or an editor's unsaved buffer: nothing
    is read from anywhere; the reason and help say why to whoever passed the text."""

    def __init__(
        self,
        reason: str = "this spec was given as text, and kspec reads no files for it",
        help: str = "pass kspec.loads(text, base=FOLDER) to read imports from a folder, or "
        "resolver=FUNCTION to supply their text",
    ):
        self.reason, self.help = reason, help

    def find(self, path: str, importer: str, root: bool) -> str | Refused:
        return Refused(self.reason, "import-not-allowed", help=self.help)

    def read(self, key: str) -> str | Refused:
        refused = self.find(key, "", True)
        assert isinstance(refused, Refused)
        return refused


def _limit() -> str:
    return files.size_text(limits.MAX_SPEC_BYTES)


def shown_path(path: str) -> str:
    """An import's path as a diagnostic quotes it: on one line."""
    return path if path.isprintable() else string_literal(path)[1:-1]


def _display(p: Path) -> str:
    """Paths as the user would write them: relative to the working directory when possible."""
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p.resolve())
