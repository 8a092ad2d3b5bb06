"""The printer: parse(print_spec(x)) == x for every IR the parser can produce, in 100 columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kspec.syntax import ir
from kspec.syntax.parse import parse
from kspec.syntax.printer import WIDTH, print_expr, print_spec
from tests.conftest import EXAMPLES

KEYWORDS = {
    "model",
    "block",
    "import",
    "use",
    "as",
    "input",
    "output",
    "layer",
    "for",
    "in",
    "if",
    "else",
    "and",
    "or",
    "not",
    "true",
    "false",
    "none",
}
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,11}", fullmatch=True).filter(
    lambda n: n not in KEYWORDS
) | st.sampled_from(["data", "train", "x", "Dense", "relu"])
literals = st.builds(
    ir.Literal,
    st.none()
    | st.booleans()
    | st.integers(min_value=0, max_value=10**30)
    | st.floats(min_value=0, allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
)
BINARY_OPS = ["or", "and", "+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">="]


def _compound(children: st.SearchStrategy[ir.Expr]) -> st.SearchStrategy[ir.Expr]:
    args = st.builds(ir.Arg, st.none() | names, children)
    small = st.lists(children, max_size=4).map(tuple)
    return st.one_of(
        st.builds(ir.TupleExpr, small),
        st.builds(ir.ListExpr, small),
        st.builds(
            ir.DictExpr,
            st.lists(st.tuples(names | st.text(max_size=5), children), max_size=3).map(tuple),
        ),
        st.builds(ir.Call, names, st.lists(args, max_size=4).map(tuple)),
        st.builds(ir.Unary, st.sampled_from(["-", "+", "not"]), children),
        st.builds(ir.Binary, st.sampled_from(BINARY_OPS), children, children),
        st.builds(ir.Cond, children, children, children),
        st.builds(
            ir.Index,
            children,
            children | st.builds(ir.Slice, st.none() | children, st.none() | children),
        ),
        st.builds(ir.Attr, children, names),
        st.builds(ir.Chain, st.lists(children, min_size=2, max_size=5).map(tuple)),
    )


exprs = st.recursive(literals | st.builds(ir.Name, names), _compound, max_leaves=30)


def _stmts(children: st.SearchStrategy[tuple[ir.Stmt, ...]]) -> st.SearchStrategy[ir.Stmt]:
    targets = st.lists(names, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(ir.ForLoop, targets, exprs, children),
        st.builds(ir.IfElse, exprs, children, children),
    )


simple_stmts = st.one_of(
    st.builds(ir.Input, names, st.none() | exprs, st.none() | names),
    st.builds(ir.Bind, st.lists(names, min_size=1, max_size=3).map(tuple), exprs),
    st.builds(ir.Output, st.none() | names, exprs),
    st.builds(ir.ChainStmt, exprs),
    st.builds(ir.SharedLayer, names, exprs),
)
bodies = st.recursive(
    st.lists(simple_stmts, max_size=4).map(tuple),
    lambda inner: st.lists(simple_stmts | _stmts(inner), max_size=4).map(tuple),
    max_leaves=8,
)
items = st.one_of(
    st.builds(ir.Model, names, bodies),
    st.builds(
        ir.Block,
        names,
        st.lists(st.builds(ir.Param, names, st.none() | exprs), max_size=3).map(tuple),
        bodies,
    ),
    st.builds(
        ir.Section,
        st.sampled_from(["data", "train"]),
        st.lists(st.builds(ir.Field, names, exprs), max_size=4).map(tuple),
    ),
    st.builds(ir.Const, names, exprs),
    st.builds(ir.Import, st.text(max_size=10)),
    st.builds(ir.Use, st.text(max_size=10), st.none() | names),
)
specs = st.lists(items, max_size=4).map(lambda xs: ir.Spec(tuple(xs)))


@given(specs)
def test_print_then_parse_gives_the_same_ir(spec: ir.Spec) -> None:
    text = print_spec(spec)
    assert parse(text) == spec
    assert print_spec(parse(text)) == text  # the canonical form is a fixed point


@given(exprs)
def test_expressions_round_trip(expr: ir.Expr) -> None:
    text = print_spec(ir.Spec((ir.Const("x", expr),)))
    assert parse(text).items[0] == ir.Const("x", expr)
    assert parse(f"x = {print_expr(expr)}").items[0] == ir.Const("x", expr)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.kspec")), ids=lambda p: p.stem)
def test_examples_print_in_width(path: Path) -> None:
    spec = parse(path.read_text(), str(path))
    text = print_spec(spec)
    assert parse(text) == spec
    assert max(len(line) for line in text.splitlines()) <= WIDTH


def test_long_lines_break_before_arrows_then_inside_brackets() -> None:
    steps = " -> ".join(f"Dense({n * 100}, activation=relu)" for n in range(1, 6))
    text = print_spec(parse(f"model m {{\n    input x: (4,)\n    y = x -> {steps}\n}}\n"))
    assert text.splitlines()[3].startswith("    y = x -> Dense(100")
    assert text.splitlines()[4].startswith("          -> Dense(")  # aligned under the first arrow
    wide = ", ".join(f"name_{i}=value_{i}" for i in range(12))
    text = print_spec(parse(f"train {{\n    optimizer = Adam({wide})\n}}\n"))
    assert text.splitlines()[1:4] == [
        "    optimizer = Adam(",
        "        name_0=value_0,",
        "        name_1=value_1,",
    ]
    assert text.splitlines()[-2] == "    )"


def test_parentheses_only_where_needed() -> None:
    assert print_expr(parse("x = (a + b) * c").items[0].value) == "(a + b) * c"  # type: ignore[union-attr]
    assert print_expr(parse("x = a + (b * c)").items[0].value) == "a + b * c"  # type: ignore[union-attr]
    assert print_expr(parse("x = (-2) ** 2").items[0].value) == "(-2) ** 2"  # type: ignore[union-attr]
    assert print_expr(parse("x = a - (b - c)").items[0].value) == "a - (b - c)"  # type: ignore[union-attr]
    assert print_expr(parse("x = (a -> B()) -> C()").items[0].value) == "(a -> B()) -> C()"  # type: ignore[union-attr]


def test_strings_are_escaped() -> None:
    spec = ir.Spec((ir.Const("s", ir.Literal('a "quoted"\n\ttab \\ \x01')),))
    assert parse(print_spec(spec)) == spec


def test_values_with_no_spelling_are_refused() -> None:
    with pytest.raises(ValueError, match="inf"):
        print_spec(ir.Spec((ir.Const("x", ir.Literal(float("inf"))),)))
