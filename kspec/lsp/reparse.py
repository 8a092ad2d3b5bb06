"""Reparse only the statement an edit fell in: while typing, most edits change one line of one
statement in a model or block body, and parsing is most of the cost of checking a big spec.

The statement's new lines are parsed alone, at their own line numbers, inside a stand-in
`model _ { ... }`, and the result replaces the old statement in the old IR. Whenever the edit
could change how the statement joins its neighbours (line count changed, a line now starts with
`->`, `else` or `}`, the statement shares a line with other code, the lines no longer parse as
one statement), the answer is None and the caller parses the whole text: this path is only ever
an equal, faster route to what `parse` returns (tests/test_lsp_reparse.py compares the two,
spans included).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kspec.diagnostics import KspecError
from kspec.syntax import ir
from kspec.syntax.parse import parse

Body = tuple[ir.Stmt, ...]


def reparse(old: ir.Spec, old_text: str, new_text: str, path: str) -> ir.Spec | None:
    """`parse(new_text, path)`, from `old` (the IR of `old_text`), or None to parse in full."""
    old_lines, new_lines = old_text.split("\n"), new_text.split("\n")
    if len(old_lines) != len(new_lines):
        return None
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    if not changed:
        return old
    first, last = changed[0] + 1, changed[-1] + 1
    for n, item in enumerate(old.items):
        if (
            isinstance(item, ir.Model | ir.Block)
            and item.span.line < first <= last < item.span.end_line
        ):
            body = _replace(item.body, first, last, old_lines, new_lines, path)
            if body is None:
                return None
            items = (*old.items[:n], dataclasses.replace(item, body=body), *old.items[n + 1 :])
            return ir.Spec(items, path=old.path)
    return None


def _replace(
    body: Body, first: int, last: int, old_lines: list[str], new_lines: list[str], path: str
) -> Body | None:
    for n, stmt in enumerate(body):
        s = stmt.span
        if not s.line <= first <= last <= s.end_line:
            continue
        inner = _nested(stmt, first, last, old_lines, new_lines, path)
        if inner is not None:
            return (*body[:n], inner, *body[n + 1 :])
        new = _parse_alone(stmt, old_lines, new_lines, path)
        return None if new is None else (*body[:n], new, *body[n + 1 :])
    return None


def _nested(
    stmt: ir.Stmt, first: int, last: int, old_lines: list[str], new_lines: list[str], path: str
) -> ir.Stmt | None:
    """The edit replaced inside a loop's or conditional's body, when it lies within one."""
    for field in ("body", "orelse"):
        body: Any = getattr(stmt, field, None)
        if not body or not body[0].span.line <= first <= last <= body[-1].span.end_line:
            continue
        new = _replace(body, first, last, old_lines, new_lines, path)
        if new is not None:
            changed: Any = dataclasses.replace  # the field name is data here, not code
            result: ir.Stmt = changed(stmt, **{field: new})
            return result
    return None


def _parse_alone(
    stmt: ir.Stmt, old_lines: list[str], new_lines: list[str], path: str
) -> ir.Stmt | None:
    s = stmt.span
    if s.line < 2 or not _alone_on_its_lines(s.line, s.column, s.end_line, s.end_column, old_lines):
        return None
    lines = new_lines[s.line - 1 : s.end_line]
    if lines[0].lstrip().startswith(("->", "else", "}")) or not lines[0].strip():
        return None
    text = "\n" * (s.line - 2) + "model _ {\n" + "\n".join(lines) + "\n}\n"
    try:
        spec = parse(text, path)
    except (KspecError, RecursionError):
        return None
    if len(spec.items) != 1 or not isinstance(spec.items[0], ir.Model):
        return None
    body = spec.items[0].body
    if len(body) != 1 or body[0].span.line != s.line:
        return None
    return body[0]


def _alone_on_its_lines(line: int, col: int, end_line: int, end_col: int, lines: list[str]) -> bool:
    """Nothing but white space before the statement and white space or a comment after it."""
    if lines[line - 1][: col - 1].strip():
        return False
    rest = lines[end_line - 1][end_col - 1 :].strip()
    return not rest or rest.startswith("#")
