"""Runs of plain statement lines, read beside Lark (kspec/syntax/statements.py), give the IR,
the spans and the diagnostics Lark gives: a differential test of the two paths.

`MIN_STEPS` is lowered so that small inputs take the quick path; with it raised past any
input, every line goes through Lark, which is the reference.
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
from kspec.syntax import literals, statements
from kspec.syntax.fmt import format_text
from kspec.syntax.parse import ToIR, keywords, parse, parser

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
def min_steps(n: int) -> Iterator[None]:
    old = statements.MIN_STEPS
    statements.MIN_STEPS = n
    try:
        yield
    finally:
        statements.MIN_STEPS = old


def outcome(text: str) -> Any:
    try:
        return ("ok", dump(parse(text, "f.kspec")))
    except KspecError as e:
        return ("error", [(d.code, d.message, d.span, d.help) for d in e.diagnostics])


def both(text: str, n: int = 1) -> tuple[Any, Any]:
    with min_steps(n):
        quick = outcome(text)
    with min_steps(10**9):
        slow = outcome(text)
    return quick, slow


def quick_only(text: str, n: int = 1) -> bool:
    """True when the quick path alone gives the IR (no fall back to Lark on the whole text)."""
    with min_steps(n):
        fast, lines = statements.find(literals.find(text)[0], keywords())
        if not lines:
            return False
        try:
            ToIR("f.kspec", {}, lines).transform(parser().parse(fast))
        except (statements.NotHere, KspecError, Exception):
            return False
    return True


def body(lines: str) -> str:
    return "model m {\n    input x: (8,)\n" + lines + "}\n"


CHAIN = "    x" + " -> Dense(4)" * 50 + "\n"
LINES = "".join(f"    a{i} = Dense({i + 1}, activation=relu)\n" for i in range(40))
CASES = {
    "one long chain": body(CHAIN),
    "statement lines": body(LINES),
    "binds and chains": body(
        "    a = x -> Dense(4)\n    b, c = a -> Split(2)\n    [b, c] -> Add() -> Dense(2)\n"
    ),
    "arguments of every kind": body(
        '    Dense(4, activation="re\\u00e9lu", use_bias=false, name=none, x=true)\n'
        "    Dropout(0.5) -> Dropout(.5) -> Dropout(1e-3) -> Dense(1_000,)\n"
        "    Flatten() -> Dense(units = 3 , activation = relu) -> Identity\n"
    ),
    "comments and blank lines inside": body(
        "    a = Dense(4)  # first\n\n    # between\n    b = a -> Dense(2)   \n"
    ),
    "crlf": body("    a = Dense(4)\n    b = a -> Dense(2)\n").replace("\n", "\r\n"),
    "tabs": body("\ta = Dense(4)\n\t\tb = a\t->\tDense(2)\n"),
    "in a for loop and a block": "block b(n) {\n    Dense(n) -> Dense(n)\n}\n"
    + body("    for i in range(3) {\n        Dense(4) -> Dense(4)\n    }\n    b(4)\n"),
    "a line continued": body("    a = x -> Dense(4)\n    -> Dense(2)\n    Dense(3)\n"),
    "after a continuation": body("    a = x ->\n    Dense(4) -> Dense(2)\n    Dense(3)\n"),
    "inside brackets": body("    a = Concatenate()([\n        x\n        x\n    ])\n"),
    "inside call brackets": body("    y = f(\n        a = b\n    )\n"),
    "top level and sections": "a = b\nc = d -> e\n"
    + body("    Dense(2)\n")
    + "train {\n    epochs = e\n    batch_size = b\n}\n",
    "keywords": body("    x -> in\n    Dense(if=1)\n    Dense(4, activation=not)\n    x -> true\n"),
    "a placeholder's own name": body("    _ = Dense(4)\n    _ -> Dense(2)\n    Dense(2)\n"),
    "syntax error elsewhere": body("    a = Dense(4)\n    b = a -> Dense(2)\n    c = = 3\n"),
    "syntax error in a run's neighbour": body("    a = Dense(4) )\n    b = a -> Dense(2)\n"),
    "bad escape": body('    a = Dense(4, name="x\\q")\n    b = a -> Dense(2)\n'),
    "too many digits": body(f"    a = Dense({'9' * 400})\n    b = a -> Dense(2)\n"),
    "leading zero": body("    a = Dense(04)\n    b = a -> Dense(2)\n"),
    "call arguments": body("    a = Dense(4, kernel_initializer=HeNormal())\n    b = a\n"),
    "negative number": body("    a = Dense(-4)\n    b = a -> Dense(2)\n"),
    "space before the bracket": body("    a = Dense (4)\n    b = a -> Dense(2)\n"),
    "index and attribute": body("    a = x[0] -> Dense(2)\n    b = a.shape\n    c = a\n"),
    "comparison is no bind": body("    a == b\n    c = d\n"),
    "empty name list and trailing comma": body("    [] -> Add()\n    [a, b,] -> Add()\n"),
    "a brace on the line": body("    a = Dense(4) }\n    Dense(2)\n"),
    "literal run beside": body("    r = Reshape((" + ", ".join(["1"] * 70) + "))\n    Dense(2)\n"),
}


@pytest.mark.parametrize("name", CASES)
def test_quick_path_matches_lark(name: str) -> None:
    quick, slow = both(CASES[name])
    assert quick == slow


def test_quick_path_is_taken() -> None:
    """The cases above exercise the quick path where they should. The rest are Lark's whole:
    a line that no run may stand for (continued, inside brackets, top level, a section), a
    syntax error anywhere in the file, an error the quick path would raise, or no plain line."""
    taken = {name for name, text in CASES.items() if quick_only(text)}
    assert taken == {
        "one long chain",
        "statement lines",
        "binds and chains",
        "arguments of every kind",
        "comments and blank lines inside",
        "crlf",
        "tabs",
        "in a for loop and a block",
        "a placeholder's own name",
        "call arguments",  # the line after it
        "negative number",  # likewise
        "index and attribute",  # the last line
        "comparison is no bind",  # the second line
        "literal run beside",  # the Dense(2) line
    }


def test_the_default_threshold_takes_long_runs_only() -> None:
    assert quick_only(CASES["one long chain"], n=statements.MIN_STEPS)
    assert quick_only(CASES["statement lines"], n=statements.MIN_STEPS)
    assert not statements.find(CASES["binds and chains"], keywords())[1]


@pytest.mark.parametrize("depth", range(MAX_DEPTH // 2 - 6, MAX_DEPTH // 2 + 2))
def test_nesting_near_the_limit_agrees(depth: int) -> None:
    loops = "".join("    " * i + f"for i{i} in range(1) {{\n" for i in range(depth))
    inner = "    " * depth + "a = Dense(4) -> Dense(4)\n" + "    " * depth + "Dense(2)\n"
    closing = "".join("    " * i + "}\n" for i in reversed(range(depth)))
    quick, slow = both(body(loops + inner + closing))
    assert quick == slow


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_examples_and_error_specs_agree(path: Any) -> None:
    """Every example and error spec, with every plain statement line read quickly."""
    quick, slow = both(path.read_text(encoding="utf-8"))
    assert quick == slow


_WORD = st.sampled_from(["x", "a", "b1", "_", "Dense", "relu", "in", "true", "none", "if", "data"])
_VALUE = st.one_of(
    _WORD,
    st.sampled_from(["0", "4", "1_000", "1.5", ".5", "2.", "1e3", "007", "-1", "9" * 310]),
    st.text(st.sampled_from('ab "\\nq'), max_size=4).map(lambda s: f'"{s}"'),
    st.sampled_from(["(1, 2)", "f(1)", "x[0]", "a.b", "[a]"]),
)
_GAP = st.sampled_from(["", " ", "  ", "\t"])


@st.composite
def step(draw: st.DrawFn) -> str:
    name = draw(_WORD)
    if draw(st.booleans()):
        return name
    args = []
    for _ in range(draw(st.integers(0, 3))):
        value = draw(_VALUE)
        if draw(st.booleans()):
            value = draw(_WORD) + draw(_GAP) + draw(st.sampled_from(["=", "=="])) + " " + value
        args.append(value)
    trailing = "," if args and draw(st.booleans()) else ""
    return f"{name}{draw(st.sampled_from(['', ' ']))}(" + ", ".join(args) + trailing + ")"


@st.composite
def line(draw: st.DrawFn) -> str:
    first = draw(st.one_of(step(), st.sampled_from(["[a, b]", "[a]", "[]", "[a,]"])))
    items = [first, *draw(st.lists(step(), max_size=3))]
    text = (draw(_GAP) + "->" + draw(_GAP)).join(items)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["a", "a, b", "in", "a,b"])) + draw(_GAP) + "= " + text
    end = draw(st.sampled_from(["", "", "  # c", " ->", " }", " )", ","]))
    return "    " + text + end


_PLAIN_WORD = st.sampled_from(["x", "a", "b1", "_", "Dense", "relu", "true_", "ifs"])
_PLAIN_VALUE = st.one_of(
    _PLAIN_WORD,
    st.sampled_from(["0", "4", "1_000", "1.5", ".5", "2.", "1e3", "true", "false", "none"]),
    st.text(st.sampled_from('ab "\\nq'), max_size=4).map(lambda s: f'"{s}"'),
)


@st.composite
def plain_line(draw: st.DrawFn) -> str:
    """A line the quick path reads (the strings may still hold a bad escape)."""
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(_PLAIN_WORD)
        if draw(st.booleans()):
            args = [
                (draw(_PLAIN_WORD) + draw(_GAP) + "=" + draw(_GAP) if draw(st.booleans()) else "")
                + draw(_PLAIN_VALUE)
                for _ in range(draw(st.integers(0, 3)))
            ]
            trailing = "," if args and draw(st.booleans()) else ""
            name += "(" + draw(_GAP) + ", ".join(args) + trailing + draw(_GAP) + ")"
        steps.append(name)
    if draw(st.booleans()):
        steps[0] = draw(st.sampled_from(["[a, b]", "[a]", "[ a ,b ]"]))
    text = (draw(_GAP) + "->" + draw(_GAP)).join(steps)
    if draw(st.booleans()):
        text = draw(st.sampled_from(["a", "a, b", "a,b"])) + draw(_GAP) + "=" + draw(_GAP) + text
    return draw(st.sampled_from(["    ", "\t", "  "])) + text + draw(st.sampled_from(["", " # c"]))


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(
        [
            body("@"),
            "block b(n) {\n@}\n",
            body("    for i in range(2) {\n@    }\n"),
            body("    y = f(\n@    )\n"),
            body("    y = x ->\n@"),
            "@model m {\n    input x: (4,)\n    Dense(2)\n}\n",
            "train {\n@}\n",
        ]
    ),
    st.lists(
        st.one_of(plain_line(), plain_line(), line(), st.sampled_from(["", "    # c", "  \t"])),
        min_size=1,
        max_size=6,
    ),
)
def test_generated_lines_agree(template: str, lines: list[str]) -> None:
    text = template.replace("@", "".join(f"{li}\n" for li in lines))
    quick, slow = both(text)
    assert quick == slow


def test_fmt_is_unchanged_by_the_quick_path() -> None:
    text = body(LINES + CHAIN)
    with min_steps(10**9):
        slow = format_text(text)
    quick = format_text(text)
    assert quick == slow
    assert format_text(quick) == quick


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([body("@"), "block b(n) {\n@}\n", body("    for i in range(2) {\n@    }\n")]),
    st.lists(plain_line(), min_size=1, max_size=8),
)
def test_generated_plain_bodies_agree(template: str, lines: list[str]) -> None:
    """Bodies of plain lines only: these take the quick path (unless a string is bad)."""
    text = template.replace("@", "".join(f"{li}\n" for li in lines))
    quick, slow = both(text)
    assert quick == slow
