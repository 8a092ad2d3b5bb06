"""Go to definition, find references, the outline, `kspec fmt` as a formatting edit, and the
checker's suggested fixes as code actions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lsprotocol import types as lsp

from kspec.diagnostics import Diagnostic, KspecError
from kspec.lsp.document import SUGGESTION, Analysis, span_range
from kspec.lsp.index import Def, Index, Position, build_index
from kspec.source import Span
from kspec.syntax import ir
from kspec.syntax.fmt import format_text
from kspec.syntax.parse import parse


def uri_of(path: str | Path) -> str:
    return Path(path).resolve().as_uri()


def definition(a: Analysis, pos: Position) -> list[lsp.Location]:
    if a.index is None:
        return []
    imported = a.index.import_at(pos)
    if imported is not None:
        return [lsp.Location(uri_of(imported), lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)))]
    hit = a.index.at(pos)
    if hit is None:
        return []
    target = a.index.resolve(hit.name, hit.scope)
    if target is not None:
        return [lsp.Location(a.uri, span_range(a.lines, target.span))]
    for _, path in a.index.imports:  # defined in an imported file
        found = _imported_def(str(path.resolve()), hit.name)
        if found is not None:
            d, lines = found
            return [lsp.Location(uri_of(path), span_range(lines, d.span))]
    return []


@lru_cache(maxsize=64)
def _imported_index(path: str, mtime: float) -> Index | None:
    try:
        text = Path(path).read_text(encoding="utf-8")
        return build_index(parse(text, path), text, path)
    except (OSError, UnicodeDecodeError, KspecError):
        return None


def _imported_def(path: str, name: str) -> tuple[Def, list[str]] | None:
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        return None
    index = _imported_index(path, mtime)
    if index is None:
        return None
    d = index.resolve(name, None)
    return (d, index.lines) if d is not None else None


def references(a: Analysis, pos: Position, include_declaration: bool) -> list[lsp.Location]:
    if a.index is None:
        return []
    hit = a.index.at(pos)
    if hit is None:
        return []
    target = a.index.resolve(hit.name, hit.scope)
    if target is None:
        return []
    spans = a.index.references(target)
    if not include_declaration:
        spans = spans[1:]
    return [lsp.Location(a.uri, span_range(a.lines, s)) for s in spans]


def document_symbols(a: Analysis) -> list[lsp.DocumentSymbol]:
    if a.index is None:
        return []
    lines = a.lines
    out = []
    for item in a.index.spec.items:
        kind, name, detail = _symbol(item)
        if name is None:
            continue
        children = [
            lsp.DocumentSymbol(
                d.name,
                lsp.SymbolKind.Variable,
                span_range(lines, d.node.span if d.node is not None else d.span),
                span_range(lines, d.span),
                detail=d.kind,
            )
            for d in a.index.defs
            if d.scope == name and isinstance(item, ir.Model | ir.Block)
        ]
        selection = getattr(item, "name_span", item.span)
        out.append(
            lsp.DocumentSymbol(
                name,
                kind,
                span_range(lines, item.span),
                span_range(lines, selection if selection.line else item.span),
                detail=detail,
                children=children or None,
            )
        )
    return out


def _symbol(item: ir.Item) -> tuple[lsp.SymbolKind, str | None, str]:
    match item:
        case ir.Model(name):
            return lsp.SymbolKind.Class, name, "model"
        case ir.Block(name):
            return lsp.SymbolKind.Function, name, "block"
        case ir.Section(kind):
            return lsp.SymbolKind.Namespace, kind, "section"
        case ir.Const(name):
            return lsp.SymbolKind.Constant, name, "constant"
        case ir.Import(path):
            return lsp.SymbolKind.File, path, "import"
        case ir.Use():
            return lsp.SymbolKind.Class, item.bound_name, "use"
    return lsp.SymbolKind.Null, None, ""


def formatting(a: Analysis) -> list[lsp.TextEdit] | None:
    """One edit replacing the whole text with `kspec fmt`'s output; none when it does not parse."""
    try:
        formatted = format_text(a.text, a.path)
    except (KspecError, RuntimeError, RecursionError):
        return None
    if formatted == a.text:
        return []
    lines = a.lines
    end = lsp.Position(len(lines), 0)
    return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), end), formatted)]


CALL_IT = re.compile(r"^write ([A-Za-z_]\w*)\(\)$")


def fixes(a: Analysis) -> list[tuple[Diagnostic, Span, str]]:
    """(diagnostic, span to replace, replacement) for each fix a help line spells out: `did you
    mean 'X'?` (replace the misspelled word) and `write X()` (call an uncalled layer)."""
    out = []
    for d in a.diagnostics:
        if d.help is None or d.span.path not in ("", a.path) or d.span.line == 0:
            continue
        wanted, call = SUGGESTION.search(d.help), CALL_IT.match(d.help)
        replacement = wanted.group(1) if wanted else f"{call.group(1)}()" if call else None
        wrong = _culprit(a, d)
        if replacement is not None and wrong is not None:
            out.append((d, wrong, replacement))
    return out


def _culprit(a: Analysis, d: Diagnostic) -> Span | None:
    """The misspelled word: the first quoted name of the message found inside the span."""
    s = d.span
    lines = a.lines
    if s.line > len(lines):
        return None
    text = lines[s.line - 1]
    end = s.end_column if s.end_line == s.line else len(text) + 1
    for quoted in re.findall(r"'([^']+)'", d.message):
        word = quoted.rsplit(".", 1)[-1]
        m = re.search(rf"(?<![\w.]){re.escape(word)}(?!\w)", text[s.column - 1 : end - 1])
        if m:
            col = s.column + m.start()
            return Span(s.line, col, s.line, col + len(word), s.path)
    return None


def code_actions(a: Analysis, rng: lsp.Range) -> list[lsp.CodeAction]:
    out = []
    lines = a.lines
    for d, where, replacement in fixes(a):
        r = span_range(lines, where)
        if (r.end.line, r.end.character) < (rng.start.line, rng.start.character) or (
            r.start.line,
            r.start.character,
        ) > (rng.end.line, rng.end.character):
            continue
        diag = lsp.Diagnostic(span_range(lines, d.span), d.message, code=d.code, source="kspec")
        out.append(
            lsp.CodeAction(
                f"Replace with '{replacement}'",
                kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[diag],
                is_preferred=True,
                edit=lsp.WorkspaceEdit(changes={a.uri: [lsp.TextEdit(r, replacement)]}),
            )
        )
    return out
