"""Text -> IR: the Lark LALR parser, newline handling, and syntax errors as diagnostics."""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput
from lark.parse_tree_builder import PropagatePositions
from lark.tree import Meta

from kspec.diagnostics import Diagnostic, KspecError
from kspec.limits import MAX_DEPTH, MAX_DIGITS
from kspec.resources import resource_dir
from kspec.source import Source, Span
from kspec.syntax import ir, literals, statements
from kspec.syntax.errors import syntax_diagnostics

# A newline ends a statement unless a bracket is open or the line plainly continues.
_OPEN = {"LPAR", "CALL_LPAR", "LSQB", "INDEX_LSQB"}
_CLOSE = {"RPAR", "RSQB", "RBRACE"}
_CONTINUE_AFTER = {
    "ARROW",
    "EQUAL",
    "COMMA",
    "COLON",
    "ADD_OP",
    "MUL_OP",
    "POW",
    "COMP_OP",
    "AND",
    "OR",
    "NOT",
    "IF",
    "ELSE",
    "IN",
    "LBRACE",
}
# `{` after these opens a dict; after anything else it opens a body (model, block, for, if).
_DICT_AFTER = {
    "EQUAL",
    "LPAR",
    "CALL_LPAR",
    "LSQB",
    "INDEX_LSQB",
    "COMMA",
    "COLON",
    "ARROW",
    "ADD_OP",
    "MUL_OP",
    "POW",
    "COMP_OP",
    "AND",
    "OR",
    "NOT",
}


class Newlines:
    """Lark postlexer: drops newlines inside brackets and after a token that needs more.

    Newlines before `->`, `else` and `}` are already white space (the `_NL` regex looks ahead),
    so this never needs to look at the next token, which Lark's contextual lexer would lex in
    the wrong parser state.
    """

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        brackets: list[bool] = []  # True for (), [] and dict braces: newlines inside are ignored
        prev: Token | None = None
        for tok in stream:
            if tok.type == "_NL":
                if (brackets and brackets[-1]) or prev is None or prev.type in _CONTINUE_AFTER:
                    continue
                if prev.type == "_NL":
                    continue
            elif tok.type in _OPEN:
                brackets.append(True)
            elif tok.type == "LBRACE":
                brackets.append(prev is not None and prev.type in _DICT_AFTER)
            elif tok.type in _CLOSE and brackets:
                brackets.pop()
            yield tok
            prev = tok


@lru_cache(maxsize=1)
def parser() -> Lark:
    grammar = (resource_dir("grammars") / "kspec.lark").read_text(encoding="utf-8")
    lark = Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        postlex=Newlines(),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_cache_file(),
    )
    for callback in getattr(lark, "_callbacks", {}).values():  # absent: Lark's own, only slower
        if type(callback) is PropagatePositions:
            callback.__class__ = PassThroughPositions
    return lark


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """The grammar's words (`model`, `if`, `true`, ...), and the section names."""
    words = {
        t.pattern.value
        for t in parser().terminals
        if t.pattern.type == "str" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t.pattern.value)
    }
    return frozenset(words | {"data", "train"})


def _cache_file() -> str | bool:
    """Where Lark keeps its analysis of the grammar between runs, or False if nowhere.

    Building the LALR tables takes a quarter of a second, most of a `kspec check` start-up;
    loading them takes a few milliseconds. Lark checks that the cached tables belong to this
    grammar, these options and this Lark version, and rebuilds them otherwise.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "kspec")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.path.join(folder, "grammar.lark-cache")


class PassThroughPositions(PropagatePositions):
    """Lark's position propagation, minus the work for a `?rule` that passes its child on.

    Every atom is reduced through a dozen such rules (expr, chain, or_test, ... postfix); the
    child already carries its positions, and recomputing them at each level was half the
    parse time of a 10,000-layer spec (bench/README.md). The result is the same tree.
    """

    def __call__(self, children: list[Any]) -> Any:
        if len(children) != 1:
            return super().__call__(children)  # type: ignore[no-untyped-call]
        node = self.node_builder(children)
        if node is children[0]:
            return node
        whole = PropagatePositions(lambda _: node, self.node_filter)  # type: ignore[no-untyped-call]
        return whole(children)


def span_of(meta: Meta | Token, path: str) -> Span:
    if isinstance(meta, Token):
        return Span(
            meta.line or 0, meta.column or 0, meta.end_line or 0, meta.end_column or 0, path
        )
    if getattr(meta, "empty", False):
        return Span(0, 0, 0, 0, path)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column, path)


_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def printable(text: str) -> str:
    """`text` with each lone surrogate shown as U+FFFD, so a diagnostic can print its line."""
    return _SURROGATE.sub("\ufffd", text)


def decode_string(token: Token, path: str) -> str:
    """The value of a double-quoted string token; unknown escapes are errors, not warnings."""
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        esc = body[i + 1]
        if esc in _ESCAPES:
            out.append(_ESCAPES[esc])
            i += 2
        elif esc in "xu" and _is_hex(
            body[i + 2 : i + (4 if esc == "x" else 6)], 2 if esc == "x" else 4
        ):
            width = 2 if esc == "x" else 4
            code = int(body[i + 2 : i + 2 + width], 16)
            if 0xD800 <= code <= 0xDFFF:  # no file, script or terminal can encode it
                col = (token.column or 1) + 1 + i
                span = Span(token.line or 0, col, token.line or 0, col + 2 + width, path)
                raise KspecError(
                    [
                        Diagnostic(
                            "bad-escape",
                            f"'\\{esc}{code:04x}' is half of a surrogate pair, not a character",
                            span,
                            help="write the character itself, or its \\uHHHH outside D800-DFFF",
                        )
                    ]
                )
            out.append(chr(code))
            i += 2 + width
        else:
            col = (token.column or 1) + 1 + i
            span = Span(token.line or 0, col, token.line or 0, col + 2, path)
            raise KspecError(
                [
                    Diagnostic(
                        "bad-escape",
                        f"unknown escape '\\{esc}' in string",
                        span,
                        help='escapes are \\n \\t \\r \\0 \\\\ \\" \\xHH \\uHHHH',
                    )
                ]
            )
    return "".join(out)


def _is_hex(text: str, width: int) -> bool:
    return len(text) == width and all(c in "0123456789abcdefABCDEF" for c in text)


class ToIR:
    """One method per grammar rule or alias, taking (meta, children): no Lark Tree reaches the IR.

    `transform` walks the tree with its own stack rather than Lark's recursive Transformer, so a
    deeply nested input is a diagnostic instead of a RecursionError (and the walk is faster).
    """

    def __init__(
        self,
        path: str,
        runs: dict[tuple[int, int], literals.Run] | None = None,
        lines: dict[tuple[int, int], statements.Run] | None = None,
    ):
        self.path = path
        self.runs = runs or {}  # literal runs read by kspec/syntax/literals.py, by placeholder
        self.lines = lines or {}  # statement runs read by kspec/syntax/statements.py, likewise
        self.placed: set[tuple[int, int]] = set()  # the statement runs built, where they stand

    def transform(self, tree: Tree[Token]) -> ir.Spec:
        todo: list[tuple[Any, int, bool]] = [(tree, 1, False)]  # (node, depth, children done)
        done: list[Any] = []
        while todo:
            node, depth, ready = todo.pop()
            if not isinstance(node, Tree):
                done.append(node)  # a token, or None for an absent optional part
            elif ready:
                n = len(node.children)
                children = done[len(done) - n :]
                del done[len(done) - n :]
                done.append(getattr(self, str(node.data))(node.meta, children))
            else:
                if (
                    self.lines
                    and depth > MAX_DEPTH - 8
                    and node.data == "name"
                    and _start(node.children[0]) in self.lines
                ):
                    raise statements.NotHere()  # near the limit: Lark's parse judges the depth
                where = None  # the node itself, unless a literal run's first item
                if self.runs and depth == MAX_DEPTH and node.data == "name":
                    run = self.runs.get(_start(node.children[0]))
                    if run is not None:  # its items are one level deeper, as Lark parses them
                        _, text, line, col = run.items[0]
                        depth, where = depth + 1, Span(line, col, line, col + len(text), self.path)
                if depth > MAX_DEPTH:
                    message = f"this nests more than {MAX_DEPTH} levels deep"
                    fix = "name the inner parts: x = ..., then use x"
                    raise KspecError(
                        [Diagnostic("too-deep", message, where or self.sp(node.meta), fix)]
                    )
                todo.append((node, depth, True))
                todo.extend((c, depth + 1, False) for c in reversed(node.children))
        if len(self.placed) != len(self.lines):  # a run's placeholder was no body statement
            raise statements.NotHere()
        result: ir.Spec = done[0]
        return result

    def sp(self, meta: Meta) -> Span:
        return span_of(meta, self.path)

    # top level
    def start(self, meta: Meta, items: list[Any]) -> ir.Spec:
        return ir.Spec(tuple(i for i in items if i is not None), path=self.path)

    def model(self, meta: Meta, c: list[Any]) -> ir.Model:
        return ir.Model(str(c[0]), c[1], span=self.sp(meta), name_span=span_of(c[0], self.path))

    def block(self, meta: Meta, c: list[Any]) -> ir.Block:
        name, *params, body = c
        return ir.Block(
            str(name),
            tuple(p for p in params if p is not None),
            body,
            span=self.sp(meta),
            name_span=span_of(name, self.path),
        )

    def param(self, meta: Meta, c: list[Any]) -> ir.Param:
        return ir.Param(str(c[0]), c[1], span=self.sp(meta))

    def section(self, meta: Meta, c: list[Any]) -> ir.Section:
        fields = tuple(f for f in c[1:] if isinstance(f, ir.Field))
        phases = tuple(f for f in c[1:] if isinstance(f, ir.Phase))
        return ir.Section(str(c[0]), fields, phases, span=self.sp(meta))

    def phase(self, meta: Meta, c: list[Any]) -> ir.Phase:
        fields = tuple(f for f in c[1:] if f is not None)
        return ir.Phase(str(c[0]), fields, span=self.sp(meta), name_span=span_of(c[0], self.path))

    def field(self, meta: Meta, c: list[Any]) -> ir.Field:
        return ir.Field(str(c[0]), c[1], span=self.sp(meta))

    def const(self, meta: Meta, c: list[Any]) -> ir.Const:
        return ir.Const(str(c[0]), c[1], span=self.sp(meta))

    def import_stmt(self, meta: Meta, c: list[Any]) -> ir.Import:
        return ir.Import(decode_string(c[0], self.path), span=self.sp(meta))

    def use_stmt(self, meta: Meta, c: list[Any]) -> ir.Use:
        alias = str(c[1]) if c[1] is not None else None
        return ir.Use(decode_string(c[0], self.path), alias, span=self.sp(meta))

    def body(self, meta: Meta, c: list[Any]) -> tuple[ir.Stmt, ...]:
        out: list[ir.Stmt] = []
        for s in c:
            if isinstance(s, _Statements):
                out.extend(s.statements)
            elif s is not None:
                out.append(s)
        return tuple(out)

    # statements
    def input_stmt(self, meta: Meta, c: list[Any]) -> ir.Input:
        dtype = str(c[2]) if c[2] is not None else None
        return ir.Input(str(c[0]), c[1], dtype, span=self.sp(meta))

    def output_named(self, meta: Meta, c: list[Any]) -> ir.Output:
        return ir.Output(str(c[0]), c[1], span=self.sp(meta))

    def output_expr(self, meta: Meta, c: list[Any]) -> ir.Output:
        return ir.Output(None, c[0], span=self.sp(meta))

    def shared_layer(self, meta: Meta, c: list[Any]) -> ir.SharedLayer:
        return ir.SharedLayer(str(c[0]), c[1], span=self.sp(meta))

    def for_loop(self, meta: Meta, c: list[Any]) -> ir.ForLoop:
        return ir.ForLoop(c[0], c[1], c[2], span=self.sp(meta))

    def if_else(self, meta: Meta, c: list[Any]) -> ir.IfElse:
        test, body, orelse = c
        if isinstance(orelse, ir.IfElse):
            orelse = (orelse,)
        return ir.IfElse(test, body, orelse or (), span=self.sp(meta))

    def bind(self, meta: Meta, c: list[Any]) -> ir.Bind:
        return ir.Bind(c[0], c[1], span=self.sp(meta))

    def targets(self, meta: Meta, c: list[Any]) -> tuple[str, ...]:
        return tuple(str(t) for t in c)

    def chain_stmt(self, meta: Meta, c: list[Any]) -> ir.ChainStmt | _Statements:
        value = c[0]
        if self.lines and isinstance(value, ir.Name) and value.id == statements.PLACEHOLDER:
            key = (value.span.line, value.span.column)
            run = self.lines.get(key)
            if run is not None:
                self.placed.add(key)
                return _Statements(tuple(self.statement(s) for s in run.statements))
        return ir.ChainStmt(value, span=self.sp(meta))

    # a run of plain statements (kspec/syntax/statements.py), built by the rules' own methods
    def statement(self, s: statements.Statement) -> ir.Stmt:
        line = s.line
        items = [self.item(line, item) for item in s.items]
        first, last = s.items[0], s.items[-1]
        value = items[0]
        if len(items) > 1:
            value = self.chain_expr(_where(line, first.column, last.end), items)
        if not s.targets:
            return ir.ChainStmt(value, span=self.sp(_where(line, first.column, last.end)))
        names = [str(name) for name, _ in s.targets]
        return self.bind(_where(line, s.targets[0][1], last.end), [tuple(names), value])

    def item(self, line: int, item: statements.Step | statements.NameList) -> ir.Expr:
        if isinstance(item, statements.NameList):
            tokens = [_token("NAME", n, line, col) for n, col in item.names]
            names = [self.name(t, [t]) for t in tokens]
            return self.list_lit(_where(line, item.column, item.end), names)
        name = _token("NAME", item.name, line, item.column)
        if item.args is None:
            return self.name(name, [name])
        args: list[Any] = [name, None]
        for key, (kind, text, col), end in item.args:
            token = _token(kind, text, line, col)
            rule = _VALUE_RULES[kind]
            value = getattr(self, rule)(token, [token])
            if key is None:
                args.append(self.posarg(token, [value]))
            else:
                args.append(self.kwarg(_where(line, key[1], end), [key[0], value]))
        return self.call(_where(line, item.column, item.end), args)

    # expressions
    def cond_expr(self, meta: Meta, c: list[Any]) -> ir.Cond:
        return ir.Cond(c[0], c[1], c[2], span=self.sp(meta))

    def chain_expr(self, meta: Meta, c: list[Any]) -> ir.Chain:
        return ir.Chain(tuple(x for x in c if not isinstance(x, Token)), span=self.sp(meta))

    def or_expr(self, meta: Meta, c: list[Any]) -> ir.Binary:
        return ir.Binary("or", c[0], c[1], span=self.sp(meta))

    def and_expr(self, meta: Meta, c: list[Any]) -> ir.Binary:
        return ir.Binary("and", c[0], c[1], span=self.sp(meta))

    def not_expr(self, meta: Meta, c: list[Any]) -> ir.Unary:
        return ir.Unary("not", c[0], span=self.sp(meta))

    def compare(self, meta: Meta, c: list[Any]) -> ir.Binary:
        return ir.Binary(str(c[1]), c[0], c[2], span=self.sp(meta))

    def binary(self, meta: Meta, c: list[Any]) -> ir.Binary:
        return ir.Binary(str(c[1]), c[0], c[2], span=self.sp(meta))

    def unary(self, meta: Meta, c: list[Any]) -> ir.Unary:
        return ir.Unary(str(c[0]), c[1], span=self.sp(meta))

    def power_expr(self, meta: Meta, c: list[Any]) -> ir.Binary:
        return ir.Binary("**", c[0], c[2], span=self.sp(meta))

    def index(self, meta: Meta, c: list[Any]) -> ir.Index:
        return ir.Index(c[0], c[2], span=self.sp(meta))

    def slice(self, meta: Meta, c: list[Any]) -> ir.Slice:
        return ir.Slice(c[0], c[1], span=self.sp(meta))

    def attr(self, meta: Meta, c: list[Any]) -> ir.Attr:
        return ir.Attr(c[0], str(c[1]), span=self.sp(meta))

    def method_call(self, meta: Meta, c: list[Any]) -> ir.Call:
        """`ops.sum(x)`, `ops.nn.relu6(x)`: a call of a dotted name (the checker resolves it)."""
        obj, name, _lpar, *args = c
        parts = [str(name)]
        while isinstance(obj, ir.Attr):
            parts.append(obj.name)
            obj = obj.obj
        dotted = isinstance(obj, ir.Name)
        func = ".".join([obj.id, *reversed(parts)]) if isinstance(obj, ir.Name) else "." + str(name)
        start = obj.span if dotted else span_of(name, self.path)
        end = span_of(name, self.path)
        return ir.Call(
            func,
            tuple(a for a in args if a is not None),
            span=self.sp(meta),
            func_span=Span(start.line, start.column, end.end_line, end.end_column, self.path),
        )

    def name(self, meta: Meta, c: list[Any]) -> ir.Expr:
        if self.runs:
            run = self.runs.get(_start(c[0]))
            if run is not None:
                return self.literal_run(run)
        return ir.Name(str(c[0]), span=self.sp(meta))

    def literal_run(self, run: literals.Run) -> ir.TupleExpr | ir.ListExpr:
        """A tuple or list `literals.find` read, built as the rules below would build it."""
        path, items = self.path, []
        for kind, text, line, col in run.items:
            span = Span(line, col, line, col + len(text), path)
            if kind == "INT" and len(text) <= MAX_DIGITS and "_" not in text:
                items.append(ir.Literal(int(text), span=span))
            elif kind == "FLOAT":
                items.append(ir.Literal(float(text), span=span))
            else:  # a string's escapes, an integer's underscores and digit limit
                token = Token(kind, text, 0, line, col, line, col + len(text))
                rule = self.string_lit if kind == "STRING" else self.int_lit
                items.append(rule(token, [token]))  # type: ignore[arg-type]
        span = Span(run.line, run.column, run.end_line, run.end_column, self.path)
        if run.bracket == "(":
            return ir.TupleExpr(tuple(items), span=span)
        return ir.ListExpr(tuple(items), span=span)

    def call(self, meta: Meta, c: list[Any]) -> ir.Call:
        name, _lpar, *args = c
        return ir.Call(
            str(name),
            tuple(a for a in args if a is not None),
            span=self.sp(meta),
            func_span=span_of(name, self.path),
        )

    def kwarg(self, meta: Meta, c: list[Any]) -> ir.Arg:
        return ir.Arg(str(c[0]), c[1], span=self.sp(meta))

    def posarg(self, meta: Meta, c: list[Any]) -> ir.Arg:
        return ir.Arg(None, c[0], span=self.sp(meta))

    def int_lit(self, meta: Meta, c: list[Any]) -> ir.Literal:
        digits = str(c[0]).replace("_", "")
        if len(digits.lstrip("0")) > MAX_DIGITS:  # before int(), which is quadratic in digits
            raise KspecError(
                [
                    Diagnostic(
                        "out-of-range",
                        f"this number has more than {MAX_DIGITS} digits",
                        self.sp(meta),
                    )
                ]
            )
        return ir.Literal(int(digits), span=self.sp(meta))

    def float_lit(self, meta: Meta, c: list[Any]) -> ir.Literal:
        return ir.Literal(float(c[0]), span=self.sp(meta))

    def string_lit(self, meta: Meta, c: list[Any]) -> ir.Literal:
        return ir.Literal(decode_string(c[0], self.path), span=self.sp(meta))

    def true_lit(self, meta: Meta, c: list[Any]) -> ir.Literal:
        return ir.Literal(True, span=self.sp(meta))

    def false_lit(self, meta: Meta, c: list[Any]) -> ir.Literal:
        return ir.Literal(False, span=self.sp(meta))

    def none_lit(self, meta: Meta, c: list[Any]) -> ir.Literal:
        return ir.Literal(None, span=self.sp(meta))

    def tuple_lit(self, meta: Meta, c: list[Any]) -> ir.TupleExpr:
        return ir.TupleExpr(tuple(x for x in c if x is not None), span=self.sp(meta))

    def list_lit(self, meta: Meta, c: list[Any]) -> ir.ListExpr:
        return ir.ListExpr(tuple(x for x in c if x is not None), span=self.sp(meta))

    def dict_lit(self, meta: Meta, c: list[Any]) -> ir.DictExpr:
        return ir.DictExpr(tuple(e for e in c if e is not None), span=self.sp(meta))

    def entry(self, meta: Meta, c: list[Any]) -> tuple[str, ir.Expr]:
        key = c[0]
        text = decode_string(key, self.path) if key.type == "STRING" else str(key)
        return (text, c[1])


_VALUE_RULES = {
    "INT": "int_lit",
    "FLOAT": "float_lit",
    "STRING": "string_lit",
    "NAME": "name",
    "true_lit": "true_lit",
    "false_lit": "false_lit",
    "none_lit": "none_lit",
}


@dataclass(frozen=True, slots=True)
class _Statements:
    """A run's statements, in the place of its placeholder until `body` takes them in."""

    statements: tuple[ir.Stmt, ...]


@dataclass(frozen=True, slots=True)
class _Where:
    """Positions as Lark's Meta gives them, on one line (`end_column` exclusive)."""

    line: int
    column: int
    end_column: int
    empty = False

    @property
    def end_line(self) -> int:
        return self.line


def _where(line: int, column: int, end_column: int) -> Any:
    """A Meta for the rule methods (they read only its positions)."""
    return _Where(line, column, end_column)


def _token(kind: str, text: str, line: int, column: int) -> Any:  # a Token, passed as a Meta
    return Token(kind, text, 0, line, column, line, column + len(text))


def _start(token: Any) -> tuple[int, int]:
    return (token.line or 0, token.column or 0)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: the parse tree and the checked graph are many
    young objects that would make each collection walk more, quadratic in the spec's size
    (PERF-NOTES.md). The little cyclic garbage made meanwhile is collected afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(text: str, path: str = "<string>") -> ir.Spec:
    """Parse spec text into IR; raise KspecError with a located diagnostic on a syntax error."""
    source = Source(path, text)
    bad = _SURROGATE.search(text)
    if bad is not None:  # from a non-UTF-8 --set argument or a str given to kspec.loads
        i = bad.start()
        line, col = text.count("\n", 0, i) + 1, i - text.rfind("\n", 0, i)
        d = Diagnostic(
            "bad-character",
            f"a lone surrogate U+{ord(text[i]):04X} is not a character",
            Span(line, col, line, col + 1, path),
            help="the text is not valid Unicode: save it as UTF-8",
        )
        raise KspecError([d], {path: Source(path, printable(text))})
    try:
        with paused_gc():
            quick, runs = literals.find(text)
            fast, lines = statements.find(quick, keywords())
            if lines:
                try:
                    return ToIR(path, runs, lines).transform(parser().parse(fast))
                except (UnexpectedInput, KspecError, statements.NotHere):
                    pass  # Lark reads those lines as written, below
            if runs:
                try:
                    return ToIR(path, runs).transform(parser().parse(quick))
                except UnexpectedInput:
                    pass  # the diagnostics below come from the text as written
            return ToIR(path).transform(parser().parse(text))
    except UnexpectedInput as e:
        diags = syntax_diagnostics(e, source, parser().parse)
        raise KspecError(diags, {path: source}) from None
    except KspecError as e:
        raise KspecError(e.diagnostics, {path: source}) from None
