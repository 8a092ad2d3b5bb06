"""Runs of plain statement lines, read before Lark sees the text.

Lark's LALR loop reduces every step of `x -> Dense(4) -> Dense(4) ...` through a dozen
expression rules: a 10,000-step chain, or 10,000 lines of `Dense(4)`, took most of a second to
parse (bench/README.md). A line holding one statement made only of names, calls with plain
arguments (numbers, strings, names, true/false/none, `key=value`), `->` and an optional
`a, b =` is read here instead, with small regexes. When consecutive such lines hold at least
`MIN_STEPS` steps, the parser gets the text with those lines blanked to one placeholder name,
so every token after them keeps its line and column, and `ToIR` builds their statements with
its own rule methods where the placeholder stands as a statement.

This is only ever a faster route to Lark's IR: anything else on a line leaves it to Lark, and
when the placeholder does not end up as a body statement (the lines were inside a bracket, or
continued a statement), or the quick text has any error, `parse` parses the text as written
(tests/test_statement_runs.py compares the two, spans included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from kspec.syntax.literals import _FLOAT, _INT, _STRING

MIN_STEPS = 32  # fewer steps parse through Lark like any other statements
PLACEHOLDER = "_"

_WS = re.compile(r"[\t \f]*+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*+")
# The grammar's terminals in the order its lexer tries them: FLOAT before INT.
_VALUE = re.compile(
    f"(?P<FLOAT>{_FLOAT})|(?P<INT>{_INT})|(?P<STRING>{_STRING})|(?P<NAME>{_NAME.pattern})"
)
_END = re.compile(r"[\t \f]*+(?:#[^\n]*+)?\r?\Z")  # what may follow a statement on its line
_LITERAL_NAMES = {"true": "true_lit", "false": "false_lit", "none": "none_lit"}

# A value: (kind, text, column); kind is a terminal (INT, FLOAT, STRING, NAME) or a keyword
# literal's rule (true_lit, ...). An argument: (keyword name and its column, or None; value).
Value: TypeAlias = tuple[str, str, int]
Arg: TypeAlias = tuple[tuple[str, int] | None, Value, int]  # ..., end column (exclusive)


@dataclass(frozen=True, slots=True)
class Step:
    """A name (`args` None) or a call `name(args)`; columns are 1-based, `end` exclusive."""

    name: str
    column: int
    args: tuple[Arg, ...] | None
    end: int


@dataclass(frozen=True, slots=True)
class NameList:
    """`[a, b]`, the first item of a statement."""

    names: tuple[tuple[str, int], ...]
    column: int
    end: int


@dataclass(frozen=True, slots=True)
class Statement:
    line: int
    targets: tuple[tuple[str, int], ...]  # `a, b =`; () for a chain statement
    items: tuple[Step | NameList, ...]


@dataclass(frozen=True, slots=True)
class Run:
    statements: tuple[Statement, ...]


class NotHere(Exception):
    """The quick text's parse put a run where its lines would not be statements: parse as
    written."""


def find(text: str, keywords: frozenset[str]) -> tuple[str, dict[tuple[int, int], Run]]:
    """The text for the parser, and each run of statements by its placeholder's (line, column).

    `keywords` are the grammar's words (`if`, `model`, ...): a line using one is Lark's."""
    if len(text) < 4 * MIN_STEPS:
        return text, {}
    lines = text.split("\n")
    runs: dict[tuple[int, int], Run] = {}
    out = lines
    run: list[Statement] = []
    first = last = 0  # the run's first and last line (0-based)
    steps = 0

    def close() -> None:
        nonlocal out, run, steps
        if steps >= MIN_STEPS:
            if out is lines:
                out = list(lines)
            start = run[0]
            column = _first_column(lines[first])
            runs[(start.line, column)] = Run(tuple(run))
            for n in range(first, last + 1):
                out[n] = " " * len(lines[n])
            out[first] = " " * (column - 1) + PLACEHOLDER + " " * (len(lines[first]) - column)
        run, steps = [], 0

    for n, line in enumerate(lines):
        stripped = line.lstrip("\t \f")
        if not stripped.rstrip("\r") or stripped.startswith("#"):
            continue  # blank lines and comments may sit inside a run
        s = _statement(line, n + 1, keywords)
        if s is None:
            close()
            continue
        if not run:
            first = n
        run.append(s)
        last = n
        steps += len(s.items)
    close()
    return ("\n".join(out) if runs else text), runs


def _first_column(line: str) -> int:
    return len(line) - len(line.lstrip("\t \f")) + 1


def _statement(line: str, number: int, keywords: frozenset[str]) -> Statement | None:
    pos = _WS.match(line).end()  # type: ignore[union-attr]
    targets: list[tuple[str, int]] = []
    m = _NAME.match(line, pos)
    if m is not None:  # `a, b = ...`, or the statement's first step
        at = m.end()
        names = [(m.group(), m.start() + 1)]
        while True:
            at = _WS.match(line, at).end()  # type: ignore[union-attr]
            if line.startswith(",", at):
                nxt = _NAME.match(line, _WS.match(line, at + 1).end())  # type: ignore[union-attr]
                if nxt is None:
                    break
                names.append((nxt.group(), nxt.start() + 1))
                at = nxt.end()
                continue
            if line.startswith("=", at) and not line.startswith("==", at):
                if any(name in keywords for name, _ in names):
                    return None
                targets = names
                pos = _WS.match(line, at + 1).end()  # type: ignore[union-attr]
            break
    items: list[Step | NameList] = []
    item = _names(line, pos, keywords) if line.startswith("[", pos) else _step(line, pos, keywords)
    while item is not None:
        items.append(item)
        pos = _WS.match(line, item.end - 1).end()  # type: ignore[union-attr]
        if not line.startswith("->", pos):
            break
        item = _step(line, _WS.match(line, pos + 2).end(), keywords)  # type: ignore[union-attr]
        if item is None:
            return None
    if not items or _END.match(line, pos) is None:
        return None
    return Statement(number, tuple(targets), tuple(items))


def _step(line: str, pos: int, keywords: frozenset[str]) -> Step | None:
    m = _NAME.match(line, pos)
    if m is None or m.group() in keywords:
        return None
    at = m.end()
    if not line.startswith("(", at):  # a call's bracket touches its name (CALL_LPAR)
        return Step(m.group(), pos + 1, None, at + 1)
    args: list[Arg] = []
    at = _WS.match(line, at + 1).end()  # type: ignore[union-attr]
    while not line.startswith(")", at):
        key: tuple[str, int] | None = None
        k = _NAME.match(line, at)
        if k is not None:
            eq = _WS.match(line, k.end()).end()  # type: ignore[union-attr]
            if line.startswith("=", eq) and not line.startswith("==", eq):
                if k.group() in keywords:
                    return None
                key = (k.group(), k.start() + 1)
                at = _WS.match(line, eq + 1).end()  # type: ignore[union-attr]
        v = _VALUE.match(line, at)
        if v is None:
            return None
        kind, text = v.lastgroup or "", v.group()
        if kind == "NAME" and text in keywords:
            if text not in _LITERAL_NAMES:
                return None
            kind = _LITERAL_NAMES[text]
        args.append((key, (kind, text, at + 1), v.end() + 1))
        at = _WS.match(line, v.end()).end()  # type: ignore[union-attr]
        if line.startswith(",", at):
            at = _WS.match(line, at + 1).end()  # type: ignore[union-attr]
        elif not line.startswith(")", at):
            return None
    return Step(m.group(), pos + 1, tuple(args), at + 2)


def _names(line: str, pos: int, keywords: frozenset[str]) -> NameList | None:
    names = []
    at = pos + 1
    while True:
        m = _NAME.match(line, _WS.match(line, at).end())  # type: ignore[union-attr]
        if m is None or m.group() in keywords:
            return None
        names.append((m.group(), m.start() + 1))
        at = _WS.match(line, m.end()).end()  # type: ignore[union-attr]
        if line.startswith(",", at):
            at += 1
        elif line.startswith("]", at):
            return NameList(tuple(names), pos + 1, at + 2)
        else:
            return None
