"""Long tuples and lists of plain literals, found before Lark sees the text.

Lark reduces each item of `(0, 1, 2, ...)` through a dozen expression rules: 100,000 items (the
most `kspec/limits.py` allows) took seconds to parse, twice per `kspec fmt` (bench/README.md).
A bracket holding only numbers, strings, commas and white space is read here with one regex;
the parser gets the same text with that bracket's inside blanked out to a placeholder name, so
every token after it keeps its line and column, and `ToIR` puts the items back. Anything else
in the bracket (a comment, a name, a sign, a nested bracket) leaves it to Lark.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import TypeAlias

MIN_ITEMS = 64  # shorter literals parse through Lark like any other expression

# The grammar's FLOAT, INT and STRING terminals, in the order its lexer tries them.
_FLOAT = r"(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+"
_INT = r"0|[1-9][0-9]*(?:_[0-9]+)*"
_STRING = r'"(?:[^"\\\n]|\\.)*"'
_ITEM = f"{_FLOAT}|{_INT}|{_STRING}"
_WS = r"(?:[\t \f]|\r?\n)*"
# Each item is followed by a comma or the bracket, so a number is never split where the lexer
# would not split it (the characters a shorter match leaves are no comma or bracket).
_ITEMS = rf"{_WS}(?:{_ITEM})(?:{_WS},{_WS}(?:{_ITEM}))*{_WS},?{_WS}"
_BODY = {"(": re.compile(_ITEMS + r"\)"), "[": re.compile(_ITEMS + r"\]")}
_ONE = re.compile(f"(?P<FLOAT>{_FLOAT})|(?P<INT>{_INT})|(?P<STRING>{_STRING})")
# Strings and comments are skipped whole, so a bracket inside one is never taken; a `(` or `[`
# that touches a name (or `[` after a bracket) is a call or an index, not a literal.
_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|(?<![A-Za-z0-9_])\(|(?<![A-Za-z0-9_)\]])\[')
PLACEHOLDER = "_"


Item: TypeAlias = tuple[str, str, int, int]  # the grammar's terminal, text, line, column


@dataclass(frozen=True, slots=True)
class Run:
    """One bracketed literal: its kind, where it is, and its items' tokens as Lark lexes them."""

    bracket: str  # "(" or "["
    line: int
    column: int
    end_line: int
    end_column: int  # exclusive, as Lark's
    items: list[Item]


def find(text: str) -> tuple[str, dict[tuple[int, int], Run]]:
    """The text for the parser, and each literal run by its placeholder's (line, column)."""
    if len(text) < 4 * MIN_ITEMS:
        return text, {}
    runs: dict[tuple[int, int], Run] = {}
    pieces: list[str] = []
    kept = 0
    lines = [0] + [m.end() for m in re.finditer("\n", text)]
    pos = 0
    while (m := _SCAN.search(text, pos)) is not None:
        pos = m.end()
        bracket = m.group()
        if bracket not in _BODY:
            continue
        body = _BODY[bracket].match(text, pos)
        if body is None:
            continue
        inside = text[pos : body.end() - 1]
        if inside.count(",") + 1 < MIN_ITEMS:  # a cheap upper bound on the items
            continue
        items = _items(inside, pos, lines)
        if len(items) < MIN_ITEMS:
            continue
        line, column = _where(m.start(), lines)
        end_line, end_column = _where(body.end() - 1, lines)
        # The placeholder takes the place of the first character that is not a newline.
        at = len(inside) - len(inside.lstrip("\n"))
        key = _where(pos + at, lines)
        runs[key] = Run(bracket, line, column, end_line, end_column + 1, items)
        blank = "\n".join(" " * len(part) for part in inside.split("\n"))
        pieces += [text[kept : m.start()], "(", blank[:at], PLACEHOLDER, blank[at + 1 :], ")"]
        kept = pos = body.end()
    if not runs:
        return text, {}
    pieces.append(text[kept:])
    return "".join(pieces), runs


def _where(offset: int, lines: list[int]) -> tuple[int, int]:
    line = bisect_right(lines, offset)
    return line, offset - lines[line - 1] + 1


def _items(inside: str, offset: int, lines: list[int]) -> list[Item]:
    """The items of a bracket whose inside starts `offset` characters into the text."""
    line = bisect_right(lines, offset)
    if "\n" not in inside:  # one line: the column is the offset from the line's start
        base = offset - lines[line - 1] + 1
        return [
            (m.lastgroup or "", m.group(), line, base + m.start()) for m in _ONE.finditer(inside)
        ]
    return [
        (m.lastgroup or "", m.group(), n, at - lines[n - 1] + 1)
        for m in _ONE.finditer(inside)
        if (n := bisect_right(lines, at := m.start() + offset))
    ]
