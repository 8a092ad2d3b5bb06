"""The language server's partial reparse gives exactly what a full parse gives, spans included,
or declines; and it does not decline the everyday edit (one line of one statement).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kspec.diagnostics import KspecError
from kspec.lsp.document import analyze
from kspec.lsp.reparse import reparse
from kspec.syntax import ir
from kspec.syntax.parse import parse

ROOT = Path(__file__).resolve().parents[1]
TEXTS = [p.read_text() for p in sorted(ROOT.glob("examples/*.kspec"))]


def deep(node: Any) -> Any:
    """A node as nested tuples of every field, spans too (IR equality leaves spans out)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        fields = dataclasses.fields(node)
        return (type(node).__name__, *(deep(getattr(node, f.name)) for f in fields))
    if isinstance(node, tuple):
        return tuple(deep(n) for n in node)
    return node


def full(text: str) -> Any:
    try:
        return deep(parse(text, "f.kspec"))
    except KspecError:
        return None


@given(
    base=st.sampled_from(TEXTS),
    where=st.integers(0, 10_000),
    cut=st.integers(0, 8),
    insert=st.text(alphabet='abDense(0123)->,=[]{}"# .', max_size=8),
)
def test_partial_reparse_equals_a_full_parse(base: str, where: int, cut: int, insert: str) -> None:
    lines = base.split("\n")
    line = where * (len(lines) - 1) // 10_000
    text = lines[line]
    at = (where % 97) * len(text) // 97 if text else 0
    lines[line] = text[:at] + insert.replace("\n", "") + text[at + cut :]
    new = "\n".join(lines)
    got = reparse(parse(base, "f.kspec"), base, new, "f.kspec")
    if got is not None:
        assert deep(got) == full(new)


def body_lines(text: str) -> list[int]:
    """0-based indexes of the lines inside model and block bodies, where the edits are."""
    items = parse(text, "f.kspec").items
    spans = [i.span for i in items if isinstance(i, ir.Model | ir.Block)]
    return [n for s in spans for n in range(s.line, s.end_line - 1)]


BODIES = [(text, body_lines(text)) for text in TEXTS]


@settings(max_examples=200, deadline=None)
@given(
    base=st.sampled_from(BODIES),
    where=st.integers(0, 10_000),
    removed=st.integers(0, 3),
    added=st.lists(
        st.sampled_from(
            ["", "    Dense(4)", "    x = Dense(2)", "    -> ReLU()", "}", "    Dense(", "  )", "#"]
        ),
        max_size=3,
    ),
)
def test_edits_that_add_or_remove_lines_reparse_equal_a_full_parse(
    base: tuple[str, list[int]], where: int, removed: int, added: list[str]
) -> None:
    text, inside = base
    lines = text.split("\n")
    at = inside[where * (len(inside) - 1) // 10_000]
    new = "\n".join([*lines[:at], *added, *lines[at + removed :]])
    got = reparse(parse(text, "f.kspec"), text, new, "f.kspec")
    if got is not None:
        assert deep(got) == full(new)


def test_adding_and_removing_a_statement_line_take_the_partial_path() -> None:
    base = (ROOT / "examples" / "resnet_tiny.kspec").read_text()
    line = "    Conv2D(32, 3, padding=same)"
    assert line + "\n" in base
    cases = {
        "a statement added": base.replace(line, line + "\n    ReLU()", 1),
        "a statement added in a loop": base.replace("2)\n    }", "2)\n        ReLU()\n    }"),
        "a statement removed in a block": base.replace("    input x\n", "", 1),
        "a blank line added": base.replace(line, line + "\n", 1),
        "a statement removed": base.replace(line + "\n", "", 1),
        "a call split over two lines": base.replace(line, line.replace(", padding", ",\n pad"), 1),
    }
    old = parse(base, "f.kspec")
    for name, new in cases.items():
        got = reparse(old, base, new, "f.kspec")
        assert got is not None, name
        assert deep(got) == full(new), name


def test_one_line_edits_take_the_partial_path() -> None:
    base = (ROOT / "examples" / "resnet_tiny.kspec").read_text()
    new = base.replace("Conv2D(32, 3, padding=same)", "Conv2D(48, 3, padding=valid)")
    got = reparse(parse(base, "f.kspec"), base, new, "f.kspec")
    assert got is not None and deep(got) == full(new)
    in_block = base.replace("BatchNormalization() -> ReLU()", "LayerNormalization() -> ReLU()")
    got = reparse(parse(base, "f.kspec"), base, in_block, "f.kspec")
    assert got is not None and deep(got) == full(in_block)
    in_loop = base.replace("residual(32 * 2 ** i", "residual(16 * 2 ** i")
    assert reparse(parse(base, "f.kspec"), base, in_loop, "f.kspec") is not None
    assert reparse(parse(base, "f.kspec"), base, base + "\n", "f.kspec") is None  # a new line
    first = analyze(base, "f.kspec")
    for edited in (in_loop, in_block, base.replace("Dense(10", "Dense(20")):
        partial, fresh = analyze(edited, "f.kspec", previous=first), analyze(edited, "f.kspec")
        assert partial.diagnostics == fresh.diagnostics
        assert partial.checked is not None and fresh.checked is not None
        ours, theirs = partial.checked.models.values(), fresh.checked.models.values()
        assert [g.params for g in ours] == [g.params for g in theirs]
