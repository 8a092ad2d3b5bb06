"""Reparse only the statement an edit fell in: while typing, most edits change one statement in a
model or block body (a line edited, a line added after it, a line removed), and parsing is most
of the cost of checking a big spec.

The lines the edit changed are found by comparing the texts (the same lines before and after
are kept); the statement that holds them is parsed alone, at its own line numbers, inside a
stand-in `model _ { ... }`, and the one or more statements that come out replace it in the old
IR. When the edit added or removed lines, every span after it moves by that many lines. Whenever
the edit could change how the statement joins its neighbours (a line now starts with `->`,
`else` or `}`, the statement shares a line with other code, the lines no longer parse as
statements, the edit reaches past one statement), the answer is None and the caller parses the
whole text: this path is only ever an equal, faster route to what `parse` returns
(tests/test_lsp_reparse.py compares the two, spans included).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kspec.diagnostics import KspecError
from kspec.source import Span
from kspec.syntax import ir
from kspec.syntax.parse import parse

Body = tuple[ir.Stmt, ...]


@dataclasses.dataclass(frozen=True)
class Edit:
    """Old lines first..last (1-based; last = first - 1 for lines only inserted) became
    new_lines[first - 1 : last + delta]."""

    first: int
    last: int
    delta: int
    old_lines: list[str]
    new_lines: list[str]
    path: str


def reparse(old: ir.Spec, old_text: str, new_text: str, path: str) -> ir.Spec | None:
    """`parse(new_text, path)`, from `old` (the IR of `old_text`), or None to parse in full."""
    old_lines, new_lines = old_text.split("\n"), new_text.split("\n")
    same = min(len(old_lines), len(new_lines))
    head = 0
    while head < same and old_lines[head] == new_lines[head]:
        head += 1
    if head == len(old_lines) == len(new_lines):
        return old
    tail = 0
    while tail < same - head and old_lines[-1 - tail] == new_lines[-1 - tail]:
        tail += 1
    edit = Edit(
        head + 1, len(old_lines) - tail, len(new_lines) - len(old_lines), old_lines, new_lines, path
    )
    for n, item in enumerate(old.items):
        if (
            isinstance(item, ir.Model | ir.Block)
            and item.span.line < edit.first
            and edit.last < item.span.end_line
        ):
            body = _replace(item.body, edit)
            if body is None:
                return None
            changed = dataclasses.replace(item, body=body, span=_moved(item.span, edit))
            later = tuple(_shift(i, edit) for i in old.items[n + 1 :])
            return ir.Spec((*old.items[:n], changed, *later), path=old.path)
    return None


def _replace(body: Body, edit: Edit) -> Body | None:
    for n, stmt in enumerate(body):
        s = stmt.span
        if not s.line <= edit.first or not edit.last <= s.end_line:
            continue
        later = tuple(_shift(t, edit) for t in body[n + 1 :])
        inner = _nested(stmt, edit)
        if inner is not None:
            return (*body[:n], inner, *later)
        new = _parse_alone(stmt, edit)
        if new is None or not (body[:n] or new or later):
            return None  # (an emptied body is left to the parser to judge)
        return (*body[:n], *new, *later)
    return None


def _nested(stmt: ir.Stmt, edit: Edit) -> ir.Stmt | None:
    """The edit replaced inside a loop's or conditional's body, when it lies within one."""
    for name in ("body", "orelse"):
        body: Any = getattr(stmt, name, None)
        if not body or body[0].span.line > edit.first or edit.last > body[-1].span.end_line:
            continue
        new = _replace(body, edit)
        if new is not None:
            moved: Any = _shift(stmt, edit)  # the header stays; what follows the edit moves
            changed: Any = dataclasses.replace  # the field name is data here, not code
            result: ir.Stmt = changed(moved, **{name: new})
            return result
    return None


def _parse_alone(stmt: ir.Stmt, edit: Edit) -> Body | None:
    s = stmt.span
    if s.line < 2 or not _alone_on_its_lines(s.line, s.column, s.end_line, s.end_column, edit):
        return None
    lines = edit.new_lines[s.line - 1 : s.end_line + edit.delta]
    after = edit.new_lines[s.end_line + edit.delta :]
    following = next((line.strip() for line in after if line.strip()), "")
    if following.startswith(("->", "else")):  # it would join what the edit wrote
        return None
    if not lines:  # the statement's lines were removed, and nothing else
        return ()
    if lines[0].lstrip().startswith(("->", "else", "}")) or not lines[0].strip():
        return None
    text = "\n" * (s.line - 2) + "model _ {\n" + "\n".join(lines) + "\n}\n"
    try:
        spec = parse(text, edit.path)
    except (KspecError, RecursionError):
        return None
    if len(spec.items) != 1 or not isinstance(spec.items[0], ir.Model):
        return None
    body = spec.items[0].body
    if not body or body[0].span.line != s.line:
        return None
    if body[-1].span.end_line > s.end_line + edit.delta:  # it reached the stand-in's brace
        return None
    return body


def _alone_on_its_lines(line: int, col: int, end_line: int, end_col: int, edit: Edit) -> bool:
    """Nothing but white space before the statement and white space or a comment after it."""
    lines = edit.old_lines
    if lines[line - 1][: col - 1].strip():
        return False
    rest = lines[end_line - 1][end_col - 1 :].strip()
    return not rest or rest.startswith("#")


# -- moving what follows an edit ------------------------------------------------------------
def _moved(span: Span, edit: Edit) -> Span:
    """A span's lines after the edit's old lines move by the lines it added or removed."""
    if edit.delta == 0 or span.end_line <= edit.last:
        return span
    line = span.line + edit.delta if span.line > edit.last else span.line
    return Span(line, span.column, span.end_line + edit.delta, span.end_column, span.path)


_FIELDS: dict[type, tuple[str, ...] | None] = {}  # a node class's fields; None: not a node
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _shift(node: Any, edit: Edit) -> Any:
    """`node` with every span after the edit moved (the same object when none is)."""
    if edit.delta == 0:
        return node
    cls = type(node)
    if cls in _LEAVES:  # most fields: checked first, as this runs for every node after an Enter
        return node
    if cls is Span:
        return _moved(node, edit)
    if isinstance(node, tuple):
        return tuple([_shift(n, edit) for n in node])
    if cls in _FIELDS:
        names = _FIELDS[cls]
    else:
        node_class = dataclasses.is_dataclass(cls) and not isinstance(node, type)
        names = _FIELDS[cls] = (
            tuple(f.name for f in dataclasses.fields(cls)) if node_class else None
        )
    if names is None:
        return node
    span = getattr(node, "span", None)
    if isinstance(span, Span) and span.line != 0 and span.end_line <= edit.last:
        return node  # wholly before the edit (a node's span holds its children's)
    new = object.__new__(cls)
    for name in names:
        object.__setattr__(new, name, _shift(getattr(node, name), edit))
    return new
