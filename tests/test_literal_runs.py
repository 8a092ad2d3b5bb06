"""Long tuples and lists of literals, read beside Lark (kspec/syntax/literals.py), give the IR,
the spans and the diagnostics Lark gives: a differential test of the two paths.

`MIN_ITEMS` is lowered so that small generated inputs take the quick path; with it raised past
any input, every bracket goes through Lark, which is the reference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import EXAMPLES, GOLDEN
from hypothesis import given, settings
from hypothesis import strategies as st

from kspec.diagnostics import KspecError
from kspec.limits import MAX_DEPTH
from kspec.syntax import literals
from kspec.syntax.fmt import format_text
from kspec.syntax.parse import parse

SEEDS = sorted(EXAMPLES.glob("*.kspec")) + sorted((GOLDEN / "errors").glob("*.kspec"))


def dump(x: Any) -> Any:
    """The IR with every span, which `==` on the IR leaves out."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (
            type(x).__name__,
            *((f.name, dump(getattr(x, f.name))) for f in dataclasses.fields(x)),
        )
    if isinstance(x, tuple):
        return tuple(dump(i) for i in x)
    return x


@contextmanager
def min_items(n: int) -> Iterator[None]:
    old = literals.MIN_ITEMS
    literals.MIN_ITEMS = n
    try:
        yield
    finally:
        literals.MIN_ITEMS = old


def outcome(text: str) -> Any:
    try:
        return ("ok", dump(parse(text, "f.kspec")))
    except KspecError as e:
        return ("error", [(d.code, d.message, d.span, d.help) for d in e.diagnostics])


def both(text: str, n: int = 2) -> tuple[Any, Any, int]:
    with min_items(n):
        quick, runs = outcome(text), len(literals.find(text)[1])
    with min_items(10**9):
        slow = outcome(text)
    return quick, slow, runs


ITEMS = ", ".join(str(i) for i in range(100))
CASES = {
    "tuple": f"a = ({ITEMS})\n",
    "list, trailing comma": f"a = [{ITEMS},]\nb = 1\n",
    "strings, one per line": "a = (\n"
    + ",\n".join(f'    "s{i}\\n\\u00e9"' for i in range(80))
    + ",\n)\nmodel m {\n    input x: (4,)\n    Dense(2)\n}\n",
    "two runs in one line": f"a = ({ITEMS}) + [{ITEMS}]\n",
    "number spellings": f"a = ({ITEMS}, 1.5e3, .5, 2., 1_000, 1e-3, 0)\n",
    "crlf": f"a = ({ITEMS})\r\nb = [\r\n{ITEMS}\r\n]\r\n",
    "inside a call": f"model m {{\n  input x: (4,)\n  Reshape(({ITEMS}))\n}}\n",
    "at the nesting limit": "a = " + "(" * (MAX_DEPTH - 2) + f"({ITEMS})" + ")" * (MAX_DEPTH - 2),
    "past the nesting limit": "a = " + "[" * MAX_DEPTH + f"[{ITEMS}]" + "]" * MAX_DEPTH,
    "too many digits": f"a = ({ITEMS}, {'9' * 400})\n",
    "bad escape": f'a = ({ITEMS}, "bad\\q")\n',
    "syntax error after": f"a = ({ITEMS}) b\n",
    "leading zero": f"a = ({ITEMS}, 007)\n",
    "call arguments": f"a = f({ITEMS})\n",
    "index": f"a = x[{ITEMS}]\n",
    "in a comment and a string": f'# ({ITEMS})\na = "({ITEMS})"\n',
    "with a comment": f"a = ({ITEMS}  # c\n)\n",
    "with a name": f"a = ({ITEMS}, b)\n",
}


@pytest.mark.parametrize("name", CASES)
def test_quick_path_matches_lark(name: str) -> None:
    quick, slow, _ = both(CASES[name], n=64)
    assert quick == slow


def test_quick_path_is_taken() -> None:
    """The cases above exercise the quick path where they should, and Lark where they should."""
    taken = {name for name, text in CASES.items() if literals.find(text)[1]}
    assert taken == set(CASES) - {
        "leading zero",
        "call arguments",
        "index",
        "in a comment and a string",
        "with a comment",
        "with a name",
    }


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_examples_and_error_specs_agree(path: Any) -> None:
    """Every example and error spec, with every bracket of two literals or more read quickly."""
    quick, slow, _ = both(path.read_text(encoding="utf-8"))
    assert quick == slow


_NUMBER = st.one_of(
    st.integers(0, 10**6).map(str),
    st.sampled_from(["0", "1_000", "1.5", ".5", "2.", "1e3", "1.5E-2", "007", "1..2", "9" * 310]),
)
_STRING = st.text(st.sampled_from('ab "\\nqu0x'), max_size=6).map(lambda s: f'"{s}"')
_SPACE = st.sampled_from(["", " ", "\n", "\r\n", "  \n    ", "\t", " # c\n"])


@st.composite
def bracketed(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.one_of(_NUMBER, _STRING, st.just("x")), min_size=0, max_size=8))
    opening, closing = draw(st.sampled_from([("(", ")"), ("[", "]")]))
    out = opening + draw(_SPACE)
    for item in items:
        out += item + draw(_SPACE) + "," + draw(_SPACE)
    if items and draw(st.booleans()):
        out = out.rstrip(" \t\n\r,")  # no trailing comma
    return out + draw(_SPACE) + closing


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["a = {}\n", "a = f({})\n", "a = ({}, {})\n", "a = {} + {}\n", "a = x{}\n"]),
    st.lists(bracketed(), min_size=2, max_size=2),
)
def test_generated_literals_agree(template: str, parts: list[str]) -> None:
    text = template.format(*parts)
    quick, slow, _ = both(text)
    assert quick == slow


def test_fmt_of_a_long_tuple_is_unchanged_by_the_quick_path() -> None:
    text = (
        f"a = ({ITEMS}, {ITEMS})\nb = [{ITEMS}]\nmodel m {{\n    input x: (4,)\n    Dense(2)\n}}\n"
    )
    with min_items(10**9):
        slow = format_text(text)
    quick = format_text(text)
    assert quick == slow
    assert format_text(quick) == quick
    assert literals.find(quick)[1]  # the formatted text (one item per line) is read quickly too
