"""`kspec lsp`: the Language Server Protocol over stdio (pygls), wiring editor requests to the
checker, the catalog and `kspec fmt`.

Every change is checked again, but a burst of changes is checked once: the check runs after the
queued messages, and only for the newest version. A file that stops parsing keeps its last good
inlay hints. Saving a file re-checks the open files that import it. No handler lets an exception
out: a bug shows as a log message, never as a dead server.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from importlib.metadata import version
from typing import Any, TypeVar

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from kspec.lsp.complete import completions
from kspec.lsp.document import Analysis, analyze, from_lsp, lsp_diagnostics, span_range, to_lsp
from kspec.lsp.hover import hover_text
from kspec.lsp.memory import Collector, release
from kspec.lsp.navigate import code_actions, definition, document_symbols, formatting, references
from kspec.lsp.shapes import focus_at, line_hints
from kspec.syntax.parse import paused_gc

log = logging.getLogger("kspec.lsp")
F = TypeVar("F", bound=Callable[..., Any])


class KspecServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("kspec", version("kspec"))  # not kspec.__version__: that loads the API
        self.current: dict[str, Analysis] = {}
        self.good: dict[str, Analysis] = {}  # the last analysis of each file that parsed
        self.versions: dict[str, int] = {}
        self.focus: dict[str, tuple[str, ...]] = {}  # the block instance the cursor was last on
        self.collector = Collector()  # garbage is collected between edits (kspec.lsp.memory)

    def follow_cursor(self, uri: str, pos: lsp.Position) -> None:
        """Inside a block body, hints show the instance whose call the cursor was last on."""
        a = self.good.get(uri)
        if a is None or a.checked is None:
            return
        line, col = from_lsp(a.lines, pos)
        focus = focus_at(a.checked, a.path, line, col)
        if focus is None or focus == self.focus.get(uri, ()):
            return
        self.focus[uri] = focus
        caps = self.client_capabilities.workspace
        hints = caps.inlay_hint if caps is not None else None
        if hints is not None and hints.refresh_support:
            self.workspace_inlay_hint_refresh(None)

    def update(self, uri: str) -> Analysis:
        doc = self.workspace.get_text_document(uri)
        path = to_fs_path(uri) or uri
        with paused_gc():
            a = analyze(doc.source, path, uri, previous=self.good.get(uri))
            self.forget(uri, current=a, good=a if a.spec is not None else self.good.get(uri))
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri, lsp_diagnostics(a), version=doc.version)
            )
        self.collector.analysed()
        return a

    def forget(self, uri: str, current: Analysis | None, good: Analysis | None) -> None:
        """Keep these analyses of `uri`; the ones they replace are released (kspec.lsp.memory)."""
        dropped = [self.current.get(uri), self.good.get(uri)]
        for table, keep in ((self.current, current), (self.good, good)):
            if keep is None:
                table.pop(uri, None)
            else:
                table[uri] = keep
        for old in dropped:
            if old is not None and old is not current and old is not good:
                release(old.checked)

    def analysis(self, uri: str) -> Analysis | None:
        """The newest analysis that parsed, for features that need names and positions."""
        a = self.current.get(uri)
        if a is None or a.text != self.workspace.get_text_document(uri).source:
            a = self.update(uri)
        return a if a.spec is not None else self.good.get(uri)

    def dependents(self, uri: str) -> list[str]:
        path = to_fs_path(uri)
        return [u for u, a in self.current.items() if u != uri and path and _same(path, a)]


def _same(path: str, a: Analysis) -> bool:
    from pathlib import Path

    return str(Path(path).resolve()) in a.depends_on


server = KspecServer()


def safe(default: Any = None) -> Callable[[F], F]:
    """Log an exception from a handler and answer `default`: the server must outlive bugs."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def inner(*args: Any) -> Any:
            try:
                return fn(*args)
            except Exception as e:
                log.exception("kspec lsp: %s failed", fn.__name__)
                message = f"kspec lsp: internal error in {fn.__name__}: {type(e).__name__}: {e}"
                server.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, message))
                return default

        return inner  # type: ignore[return-value]

    return wrap


# -- document sync -----------------------------------------------------------------------------
@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@safe()
def did_open(ls: KspecServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.update(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: KspecServer, params: lsp.DidChangeTextDocumentParams) -> None:
    uri, version = params.text_document.uri, params.text_document.version
    ls.versions[uri] = version
    await asyncio.sleep(0)  # let queued changes arrive; only the newest version is checked
    if ls.versions.get(uri) == version:
        safe()(ls.update)(uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
@safe()
def did_save(ls: KspecServer, params: lsp.DidSaveTextDocumentParams) -> None:
    for uri in ls.dependents(params.text_document.uri):  # they read this file from disk
        ls.update(uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
@safe()
def did_close(ls: KspecServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.forget(uri, current=None, good=None)
    for table in (ls.versions, ls.focus):
        table.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))


# -- features ----------------------------------------------------------------------------------
@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@safe()
def hover(ls: KspecServer, params: lsp.HoverParams) -> lsp.Hover | None:
    a = ls.analysis(params.text_document.uri)
    if a is None:
        return None
    ls.follow_cursor(params.text_document.uri, params.position)
    found = hover_text(a, from_lsp(a.lines, params.position))
    if found is None:
        return None
    text, span = found
    content = lsp.MarkupContent(lsp.MarkupKind.Markdown, text)
    return lsp.Hover(content, span_range(a.lines, span))


@server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
@safe(default=[])
def inlay_hints(ls: KspecServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
    uri = params.text_document.uri
    ls.analysis(uri)
    a = ls.good.get(uri)
    if a is None or a.checked is None:
        return []
    lines = ls.workspace.get_text_document(uri).source.split("\n")  # the text as it is now
    first, last = params.range.start.line + 1, params.range.end.line + 1
    out = []
    focus = ls.focus.get(uri, ())
    for line, label in sorted(line_hints(a.checked, a.path, focus).items()):
        if first <= line <= last and line <= len(lines):
            out.append(
                lsp.InlayHint(
                    to_lsp(lines, line, len(lines[line - 1]) + 1),
                    f"  {label}",
                    kind=lsp.InlayHintKind.Type,
                    padding_left=True,
                )
            )
    return out


@server.feature(
    lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(trigger_characters=["(", ",", "=", ">"])
)
@safe()
def complete(ls: KspecServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    uri = params.text_document.uri
    lines = ls.workspace.get_text_document(uri).source.split("\n")
    a = ls.analysis(uri)
    items = completions(lines, from_lsp(lines, params.position), a.index if a else None)
    return lsp.CompletionList(is_incomplete=False, items=items)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@safe(default=[])
def goto_definition(ls: KspecServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    a = ls.analysis(params.text_document.uri)
    return definition(a, from_lsp(a.lines, params.position)) if a else []


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@safe(default=[])
def find_references(ls: KspecServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    a = ls.analysis(params.text_document.uri)
    if a is None:
        return []
    pos = from_lsp(a.lines, params.position)
    return references(a, pos, params.context.include_declaration)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@safe(default=[])
def symbols(ls: KspecServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    a = ls.analysis(params.text_document.uri)
    return document_symbols(a) if a else []


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
@safe()
def format_document(
    ls: KspecServer, params: lsp.DocumentFormattingParams
) -> list[lsp.TextEdit] | None:
    uri = params.text_document.uri
    a = ls.current.get(uri)
    if a is None or a.text != ls.workspace.get_text_document(uri).source:
        a = ls.update(uri)
    return formatting(a)


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
)
@safe(default=[])
def actions(ls: KspecServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    uri = params.text_document.uri
    a = ls.current.get(uri)
    if a is None or a.text != ls.workspace.get_text_document(uri).source:
        a = ls.update(uri)
    ls.follow_cursor(uri, params.range.start)  # editors ask for code actions as the cursor moves
    return code_actions(a, params.range)


def main() -> None:
    server.start_io()
