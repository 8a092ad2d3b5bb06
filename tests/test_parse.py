"""The parser: layout rules, literals, precedence, statements, spans, and syntax errors."""

from __future__ import annotations

import pytest
from lark import Lark, Transformer

from kspec.diagnostics import KspecError
from kspec.resources import resource_dir
from kspec.syntax import ir
from kspec.syntax.parse import MAX_DEPTH, ToIR, parse


def items(text: str) -> tuple[ir.Item, ...]:
    return parse(text, "t.kspec").items


def const(text: str) -> ir.Expr:
    (item,) = items(f"x = {text}\n")
    assert isinstance(item, ir.Const)
    return item.value


def body(text: str) -> tuple[ir.Stmt, ...]:
    (model,) = items(f"model m {{\n{text}\n}}\n")
    assert isinstance(model, ir.Model)
    return model.body


def syntax_errors(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(KspecError) as e:
        parse(text, "t.kspec")
    assert all(d.code in ("syntax-error", "bad-escape") for d in e.value.diagnostics)
    return [(d.span.line, d.span.column, d.message) for d in e.value.diagnostics]


def lit(value: object) -> ir.Literal:
    return ir.Literal(value)  # type: ignore[arg-type]


# -- the grammar itself ----------------------------------------------------------------------
def test_grammar_builds_strict_and_every_rule_has_a_transformer_method() -> None:
    grammar = (resource_dir("grammars") / "kspec.lark").read_text(encoding="utf-8")
    lark = Lark(grammar, parser="lalr", strict=True, maybe_placeholders=True)
    names = {r.alias or r.origin.name for r in lark.rules}
    names = {str(n) for n in names if not str(n).startswith(("_", "__"))}
    missing = [n for n in names if not callable(getattr(ToIR, n, None)) or n in dir(Transformer)]
    # `?rule`s that always pass their single child through need no method
    inlined = {str(r.origin.name) for r in lark.rules if r.options.expand1}
    assert sorted(set(missing) - inlined) == []


# -- layout: new lines, continuations, comments ----------------------------------------------
CHAIN = ir.Chain(
    (
        ir.Name("x"),
        ir.Call("Dense", (ir.Arg(None, lit(3)),)),
        ir.Call("Dense", (ir.Arg(None, lit(2)),)),
    )
)


@pytest.mark.parametrize(
    "layout",
    [
        "y = x -> Dense(3) -> Dense(2)",
        "y = x\n    -> Dense(3)\n    -> Dense(2)",
        "y = x ->\n    Dense(3) ->\n    Dense(2)",
        "y = x  # the input\n    # a comment line inside the chain\n    -> Dense(3)  # first\n"
        "    -> Dense(2)",
        "y =\n    x -> Dense(\n        3,\n    ) -> Dense(2)",
        "y = x\n\n    -> Dense(3)\n\n\n    -> Dense(2)",
    ],
    ids=["one-line", "arrow-first", "arrow-last", "comments", "brackets", "blank-lines"],
)
def test_a_chain_may_continue_on_the_next_line(layout: str) -> None:
    (_, bind) = body(f"input x: (4,)\n{layout}")
    assert bind == ir.Bind(("y",), CHAIN)


def test_new_lines_end_statements() -> None:
    stmts = body("input x: (4,)\nDense(3)\nDense(2)")
    assert [type(s) for s in stmts] == [ir.Input, ir.ChainStmt, ir.ChainStmt]


def test_statements_on_one_line_with_braces() -> None:
    assert body("input x: (4,)\n Dense(3) ") == body("input x: (4,)\nDense(3)")
    (model,) = items("model m { input x: (4,)\n Dense(3) }")
    assert isinstance(model, ir.Model) and len(model.body) == 2


def test_comments_blank_lines_and_crlf_are_white_space() -> None:
    plain = items("a = 1\nb = [1, 2]\n")
    assert items("# top\n\na = 1  # one\r\n\r\nb = [  # open\n 1,\n # between\n 2]\n") == plain
    assert items("") == () and items("# only a comment") == () and items("\n\n") == ()


# -- literals and expressions ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1_000", 1000),
        ("0", 0),
        (".5", 0.5),
        ("1e-3", 1e-3),
        ("2.", 2.0),
        ("3E2", 300.0),
        ("true", True),
        ("false", False),
        ("none", None),
        ('"a\\tb\\n\\"q\\"\\\\"', 'a\tb\n"q"\\'),
        ('"\\x41\\u00e9"', "Aé"),
        ('""', ""),
    ],
)
def test_literals(text: str, value: object) -> None:
    got = const(text)
    assert isinstance(got, ir.Literal)
    assert got.value == value and type(got.value) is type(value)


def test_containers() -> None:
    assert const("()") == ir.TupleExpr(())
    assert const("(1,)") == ir.TupleExpr((lit(1),))
    assert const("(1)") == lit(1)  # parentheses group
    assert const("(1, 2,)") == ir.TupleExpr((lit(1), lit(2)))
    assert const("[]") == ir.ListExpr(())
    assert const('{a: 1, "b c": 2,}') == ir.DictExpr((("a", lit(1)), ("b c", lit(2))))


def test_precedence() -> None:
    assert const("-2 ** 2") == ir.Unary("-", ir.Binary("**", lit(2), lit(2)))
    assert const("1 + 2 * 3") == ir.Binary("+", lit(1), ir.Binary("*", lit(2), lit(3)))
    a, b, c = ir.Name("a"), ir.Name("b"), ir.Name("c")
    assert const("not a and b or c") == ir.Binary("or", ir.Binary("and", ir.Unary("not", a), b), c)
    assert const("a == b") == ir.Binary("==", a, b)
    assert const("t.shape[-1]") == ir.Index(ir.Attr(ir.Name("t"), "shape"), ir.Unary("-", lit(1)))
    assert const("a[1:]") == ir.Index(a, ir.Slice(lit(1), None))


def test_ternaries_chain_to_the_right() -> None:
    a, b = ir.Name("a"), ir.Name("b")
    assert const("1 if a else 2 if b else 3") == ir.Cond(lit(1), a, ir.Cond(lit(2), b, lit(3)))


def test_a_ternary_chooses_between_chains() -> None:
    (_, bind) = body("input x: (4,)\ny = x -> Dense(2) if wide else x")
    assert isinstance(bind, ir.Bind) and isinstance(bind.value, ir.Cond)
    assert isinstance(bind.value.body, ir.Chain) and bind.value.orelse == ir.Name("x")


def test_list_source_at_the_start_of_a_statement() -> None:
    (stmt,) = body("[a, b] -> Add()")
    assert stmt == ir.ChainStmt(
        ir.Chain((ir.ListExpr((ir.Name("a"), ir.Name("b"))), ir.Call("Add", ())))
    )


# -- keywords where a name is expected -------------------------------------------------------
def test_keywords_are_argument_names() -> None:
    (stmt,) = body("x -> Bidirectional(layer=LSTM(3), input=1, output=2, model=3, for=4, if=5)")
    assert isinstance(stmt, ir.ChainStmt) and isinstance(stmt.value, ir.Chain)
    call = stmt.value.items[1]
    assert isinstance(call, ir.Call)
    assert [a.name for a in call.args] == ["layer", "input", "output", "model", "for", "if"]


def test_keywords_and_section_names_are_field_names() -> None:
    (section,) = items("train {\n    model = encoder\n    data = 1\n}")
    assert section == ir.Section(
        "train", (ir.Field("model", ir.Name("encoder")), ir.Field("data", lit(1)))
    )
    (constant,) = items("data_dir = 1")  # `data` only starts a section before `{`
    assert constant == ir.Const("data_dir", lit(1))


# -- statements ------------------------------------------------------------------------------
def test_statement_forms() -> None:
    stmts = body(
        "input x: (none, 8) as int32\n"
        "layer proj = Dense(8)\n"
        "seq, h, c = x -> LSTM(4, return_state=true)\n"
        "output named = h\n"
        "output c\n"
        "output seq -> proj"
    )
    kinds = [type(s) for s in stmts]
    assert kinds == [ir.Input, ir.SharedLayer, ir.Bind, ir.Output, ir.Output, ir.Output]
    assert stmts[0] == ir.Input("x", ir.TupleExpr((lit(None), lit(8))), "int32")
    assert stmts[2] == ir.Bind(("seq", "h", "c"), stmts[2].value)  # type: ignore[union-attr]
    assert [s.name for s in stmts[3:]] == ["named", None, None]  # type: ignore[union-attr]


def test_loops_with_tuple_targets() -> None:
    (loop,) = body("for f, s in [(16, 1), (32, 2)] {\n    Conv2D(f, 3, strides=s)\n}")
    assert isinstance(loop, ir.ForLoop)
    assert loop.targets == ("f", "s") and len(loop.body) == 1


def test_if_else_if_else() -> None:
    (stmt,) = body("if a {\n  Dense(1)\n} else if b {\n  Dense(2)\n} else {\n  Dense(3)\n}")
    assert isinstance(stmt, ir.IfElse)
    (inner,) = stmt.orelse
    assert isinstance(inner, ir.IfElse) and len(inner.orelse) == 1
    (plain,) = body("if a {\n  Dense(1)\n}")
    assert isinstance(plain, ir.IfElse) and plain.orelse == ()


def test_file_level_items() -> None:
    got = items('import "blocks.kspec"\nuse "pkg.layers:Attn" as Attn\nblock b(f, s=1) {\n}\n')
    imp, use, block = got
    assert imp == ir.Import("blocks.kspec")
    assert use == ir.Use("pkg.layers:Attn", "Attn")
    assert isinstance(block, ir.Block)
    assert [(p.name, p.default) for p in block.params] == [("f", None), ("s", lit(1))]


# -- spans -----------------------------------------------------------------------------------
def test_spans_are_one_based_with_exclusive_ends() -> None:
    (_, stmt) = body("input x: (4,)\n    x -> Dense(10, activation=relu)")
    assert isinstance(stmt, ir.ChainStmt) and isinstance(stmt.value, ir.Chain)
    call = stmt.value.items[1]
    assert isinstance(call, ir.Call)
    assert (call.span.line, call.span.column, call.span.end_column) == (3, 10, 36)
    assert (call.func_span.column, call.func_span.end_column) == (10, 15)
    kwarg = call.args[1]
    assert (kwarg.span.column, kwarg.span.end_column) == (20, 35)
    assert call.span.path == "t.kspec"


def test_spans_do_not_take_part_in_equality() -> None:
    assert parse("x = [1,2]") == parse("\n\n  x   =   [ 1 ,\n 2 ]  # same\n")


# -- syntax errors ---------------------------------------------------------------------------
def test_first_syntax_error_of_each_top_level_item_is_reported() -> None:
    text = (
        "model a {\n    Dense(3\n}\n"  # unclosed (
        "model b {\n    input x: (4,)\n    x -> Dense(3) -> Dense(2) Dense(1)\n}\n"
        "data {\n    source = 'mnist'\n}\n"
        "train {\n    epochs = 2\n}\n"  # fine
    )
    assert syntax_errors(text) == [
        (2, 10, "'(' is never closed"),
        (6, 31, "unexpected 'Dense'"),
        (9, 14, "strings are written in double quotes"),
    ]


def test_errors_in_separate_statements_are_all_reported() -> None:
    text = (
        "model a {\n    Dense(3) Dense(2)\n    x = = 2\n"
        "    for i in [1, 2] {\n        Dense(i i)\n    }\n}\n"
    )
    assert syntax_errors(text) == [
        (2, 14, "unexpected 'Dense'"),
        (3, 9, "unexpected '='"),
        (5, 17, "unexpected 'i'"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "model m {\n    Dense(3,\n        4 5)\n    Dense(2) 3\n}\n",  # inside a call's brackets
        "model m {\n    if a == {\n        Dense(1)\n    }\n    Dense(2) 3\n}\n",  # inside a dict
        "model m {\n    y = x ->\n        Dense(2) 3\n    Dense(2) 3\n}\n",  # a continued line
        "model m {\n    Dense(2) )\n    Dense(2) 3\n}\n",  # unbalanced
    ],
    ids=["call", "dict", "continued", "unbalanced"],
)
def test_no_second_error_where_dropping_the_line_could_cause_it(text: str) -> None:
    """Recovery blanks a line only when it is a whole statement; otherwise one error is shown."""
    assert len(syntax_errors(text)) == 1


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "model",
        "model m {",
        "x = (",
        "x = }",
        '"',
        "x = 1\r",
        "\u2028x = 1",
        "x = 1\x0c2",
        "model m {\n x ->\n}",
        "[a, b] ->",
        "}}}}",
        "((((",
        "x = 1 if",
        "x = \\",
    ],
)
def test_any_broken_text_is_a_located_kspec_error(text: str) -> None:
    """Nothing but a KspecError comes out of the parser (some of these parse)."""
    try:
        parse(text, "t.kspec")
    except KspecError as e:
        assert e.diagnostics
        assert all(d.span.line >= 1 and d.span.column >= 1 for d in e.diagnostics)
        assert e.render()


@pytest.mark.parametrize(
    "text",
    [
        "x = " + "[" * 500 + "]" * 500,
        "x = " + "-" * 500 + "1",
        "x = " + " + ".join(["1"] * 500),
        "x = " + "f(" * 500 + ")" * 500,
        "model m {\n" + "if a {\n" * 300 + "}\n" * 300 + "}",
    ],
    ids=["lists", "signs", "sums", "calls", "bodies"],
)
def test_nesting_deeper_than_the_limit_is_a_diagnostic(text: str) -> None:
    """Not a RecursionError in the checker or printer later: the parser refuses it."""
    with pytest.raises(KspecError) as e:
        parse(text, "t.kspec")
    (d,) = e.value.diagnostics
    assert d.code == "too-deep" and d.message == f"this nests more than {MAX_DEPTH} levels deep"


def test_nesting_up_to_the_limit_parses() -> None:
    assert parse("x = " + "[" * 60 + "]" * 60) and parse("x = " + " + ".join(["1"] * 70))
