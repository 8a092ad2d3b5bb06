"""One open file, checked: kspec diagnostics as LSP diagnostics, the IR index and the graphs.

Checking is the same `check_text` that `kspec check` runs, so the editor shows exactly what the
command prints. Positions convert between kspec's 1-based code-point columns and LSP's 0-based
UTF-16 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lsprotocol import types as lsp

from kspec.check.graph import Checked
from kspec.check.imports import ImportFiles, NoFiles
from kspec.check.spec import check_text
from kspec.diagnostics import Diagnostic, KspecError
from kspec.lsp.index import Index, Position, build_index, imports_of
from kspec.lsp.reparse import reparse
from kspec.source import Span
from kspec.syntax import ir
from kspec.syntax.parse import parse

SOURCE = "kspec"


@dataclass
class Analysis:
    """What editor features read: the text, its diagnostics, and (when it parses) its meaning."""

    text: str
    path: str
    uri: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    spec: ir.Spec | None = None  # None when the text does not parse
    checked: Checked | None = None
    depends_on: set[str] = field(default_factory=set)  # resolved paths of imported files
    internal_error: str | None = None  # a checker bug, shown instead of crashing the server
    earlier: Index | None = field(default=None, repr=False)  # reused by the index, until built
    built: Index | None = field(default=None, repr=False)

    @cached_property  # read per diagnostic and per request; the text never changes
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @property
    def index(self) -> Index | None:
        """Names and positions, for the features that ask; None when the text does not parse.

        Built on first use, not with the diagnostics: an edit's diagnostics need only the check,
        and while typing most analyses are replaced before anything asks for their index."""
        if self.built is None and self.spec is not None:
            self.built = build_index(self.spec, self.text, self.path, self.earlier)
            self.earlier = None
        return self.built


UNSAVED = NoFiles(
    "this file is not saved, so its imports have no folder to be read from",
    help="save the file: imports are read relative to it",
)


def analyze(text: str, path: str, uri: str = "", previous: Analysis | None = None) -> Analysis:
    """Parse and check `text`; never raises (an internal error becomes a diagnostic).

    With `previous` (an analysis of this file that parsed), an edit inside one statement is
    parsed alone (kspec.lsp.reparse) and, when the index is built, only the statements it
    changed are indexed again. A document that is not a file (an editor's `untitled:` buffer)
    reads no imports.
    """
    out = Analysis(text, path, uri or _uri(path))
    imports: ImportFiles | None = None if out.uri.startswith("file:") else UNSAVED
    try:
        parsed = None
        if previous is not None and previous.spec is not None:
            parsed = reparse(previous.spec, previous.text, text, path)
            out.earlier = previous.built or previous.earlier
        checked, diags = check_text(text, path, raise_errors=False, parsed=parsed, imports=imports)
        out.diagnostics = list(diags.items)
        out.checked = checked
        out.spec = checked.spec if checked is not None else _parse_or_none(text, path)
        out.depends_on = {_resolved(p) for p in diags.sources if p != path and "--set" not in p}
    except Exception as e:  # a checker bug must not take the editor's server down
        out.internal_error = f"internal error in kspec: {type(e).__name__}: {e}"
    return out


def _parse_or_none(text: str, path: str) -> ir.Spec | None:
    try:
        return parse(text, path)
    except KspecError:
        return None


def _resolved(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return path


# -- positions ---------------------------------------------------------------------------------
def to_lsp(lines: list[str], line: int, column: int) -> lsp.Position:
    """kspec's (1-based line, 1-based code-point column) -> LSP's 0-based UTF-16 position."""
    text = lines[line - 1] if 1 <= line <= len(lines) else ""
    prefix = text[: max(0, column - 1)]
    return lsp.Position(max(0, line - 1), len(prefix.encode("utf-16-le")) // 2)


def from_lsp(lines: list[str], pos: lsp.Position) -> Position:
    text = lines[pos.line] if 0 <= pos.line < len(lines) else ""
    units = 0
    for i, ch in enumerate(text):
        if units >= pos.character:
            return pos.line + 1, i + 1
        units += 2 if ord(ch) > 0xFFFF else 1
    return pos.line + 1, len(text) + 1


def span_range(lines: list[str], span: Span) -> lsp.Range:
    if span.line == 0:  # a whole-file diagnostic: show it on the first line
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, len(lines[0]) if lines else 0))
    end = to_lsp(lines, span.end_line, span.end_column)
    start = to_lsp(lines, span.line, span.column)
    return lsp.Range(
        start, end if (end.line, end.character) > (start.line, start.character) else start
    )


# -- diagnostics -------------------------------------------------------------------------------
SUGGESTION = re.compile(r"did you mean '([^']+)'\?")


def lsp_diagnostics(a: Analysis) -> list[lsp.Diagnostic]:
    """kspec's diagnostics for this file; those in imported files are shown on their import."""
    lines = a.lines
    out = []
    for d in a.diagnostics:
        rng = _range_in_this_file(a, d)
        message = (
            d.message if rng[1] else f"{d.span.path}:{d.span.line}:{d.span.column}: {d.message}"
        )
        if d.help:
            message += f"\nhelp: {d.help}"
        related = [
            lsp.DiagnosticRelatedInformation(
                lsp.Location(a.uri, span_range(lines, d.span) if rng[1] else rng[0]), note
            )
            for note in d.notes
        ]
        out.append(
            lsp.Diagnostic(
                range=rng[0],
                message=message,
                severity=lsp.DiagnosticSeverity.Error
                if d.severity == "error"
                else lsp.DiagnosticSeverity.Warning,
                code=d.code,
                source=SOURCE,
                related_information=related or None,
            )
        )
    if a.internal_error is not None:
        first = span_range(lines, Span(0, 0, 0, 0))
        out.append(
            lsp.Diagnostic(first, a.internal_error, lsp.DiagnosticSeverity.Error, source=SOURCE)
        )
    return out


def _range_in_this_file(a: Analysis, d: Diagnostic) -> tuple[lsp.Range, bool]:
    lines = a.lines
    if d.span.path in ("", a.path):
        return span_range(lines, d.span), True
    if a.spec is not None:
        for item, target in imports_of(a.spec, a.path):
            if _resolved(str(target)) == _resolved(d.span.path):
                return span_range(lines, item.span), False
    return span_range(lines, Span(0, 0, 0, 0)), False


def _uri(path: str) -> str:
    try:
        return Path(path).resolve().as_uri()
    except ValueError:
        return path
