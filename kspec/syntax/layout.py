"""Expressions laid out in lines: precedence, spellings, and where a long line may break.

The printer (kspec/syntax/printer.py) builds statements on this. A long chain breaks before `->`,
its continuations aligned under the first arrow while each step fits there; a long call,
list, tuple or dict opens up one item per line with a trailing comma; and a newline goes
only where the grammar reads it as white space (kspec/syntax/parse.py: Newlines).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import assert_never

from kspec.syntax import ir

WIDTH = 100
INDENT = "    "
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A `{` after one of these opens a dict whose inside may span lines; elsewhere (start of a
# statement, after `in`, `if`, `else`) the parser reads it as a body brace (kspec/syntax/parse.py).
_DICT_AFTER = re.compile(r"(?:[=(\[,:>+\-*/%<]|(?<![A-Za-z0-9_])(?:and|or|not))$")

# An index bracket must touch a name, number, `)` or `]` (INDEX_LSQB in grammars/kspec.lark).
_INDEXABLE_END = re.compile(r"[A-Za-z0-9_)\]]$")
# Binding strength of each expression form, loosest first (grammars/kspec.lark).
COND, CHAIN, OR, AND, NOT, COMPARE, ARITH, TERM, FACTOR, POWER, POSTFIX, ATOM = range(12)
_BINARY = {
    "or": OR,
    "and": AND,
    "+": ARITH,
    "-": ARITH,
    "*": TERM,
    "/": TERM,
    "//": TERM,
    "%": TERM,
    "**": POWER,
    "==": COMPARE,
    "!=": COMPARE,
    "<": COMPARE,
    "<=": COMPARE,
    ">": COMPARE,
    ">=": COMPARE,
}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


@dataclass
class Line:
    """One output line and the source lines (first, last) of what it holds; 0 when unknown."""

    text: str
    first: int = 0
    last: int = 0

    def join(self, other: Line) -> Line:
        firsts = [n for n in (self.first, other.first) if n]
        return Line(self.text + other.text, min(firsts, default=0), max(self.last, other.last))


def string_literal(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            out.append(f"\\x{ord(ch):02x}")
        elif ch in "\u2028\u2029" or 0xD800 <= ord(ch) <= 0xDFFF:  # line breaks; not UTF-8
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def precedence(e: ir.Expr) -> int:
    match e:
        case ir.Cond():
            return COND
        case ir.Chain():
            return CHAIN
        case ir.Binary(op=op):
            return _BINARY[op]
        case ir.Unary(op=op):
            return NOT if op == "not" else FACTOR
        case ir.Index() | ir.Attr():
            return POSTFIX
        case ir.Literal(value=value) if isinstance(value, int | float) and value < 0:
            return FACTOR  # only made by tools (from_keras); prints as `-1`
        case ir.Slice():
            return COND
        case _:
            return ATOM


class ExprLayout:
    """One expression on one line, or broken over lines; the hooks let kspec fmt keep what the
    user chose where the grammar leaves a choice.

    Every Line's text starts at column 0, except the first line a layout() returns when its
    prefix does not: that line starts at `col - len(prefix)`.
    """

    def __init__(self, width: int = WIDTH):
        self.width = width

    # -- hooks (kspec/syntax/fmt.py overrides them) --------------------------------------------
    def literal_text(self, lit: ir.Literal) -> str | None:
        """The literal as the user spelled it (`1e-3`, `1_000`), when known."""
        return None

    def keep_break(self, chain: ir.Chain, index: int) -> bool:
        """Whether chain item `index` must start a new line."""
        return False

    def keep_exploded(self, node: ir.Expr) -> bool:
        """Whether a call, list, tuple or dict must keep one item per line."""
        return False

    # -- expressions on one line ---------------------------------------------------------
    def flat(self, e: ir.Expr, level: int = COND) -> str:
        if type(e) is ir.Literal and level <= FACTOR:  # an atom, or `-1` where it needs no ()
            return self.literal(e)
        text = self._flat(e)
        return f"({text})" if precedence(e) < level else text

    def _flat(self, e: ir.Expr) -> str:
        match e:
            case ir.Literal():
                return self.literal(e)
            case ir.Name(id):
                return id
            case ir.TupleExpr(items):
                inner = ", ".join(self.flat(i) for i in items)
                return f"({inner},)" if len(items) == 1 else f"({inner})"
            case ir.ListExpr(items):
                return "[" + ", ".join(self.flat(i) for i in items) + "]"
            case ir.DictExpr(items):
                return "{" + ", ".join(f"{dict_key(k)}: {self.flat(v)}" for k, v in items) + "}"
            case ir.Call(func, args):
                return (
                    name_text(func, dotted=True) + "(" + ", ".join(self.arg(a) for a in args) + ")"
                )
            case ir.Unary(op, operand):
                if op == "not":
                    return "not " + self.flat(operand, NOT)
                return op + self.flat(operand, FACTOR)
            case ir.Binary("**", left, right):
                return f"{self.flat(left, POSTFIX)} ** {self.flat(right, FACTOR)}"
            case ir.Binary(op, left, right):
                low, high = _operand_levels(op)
                return f"{self.flat(left, low)} {op} {self.flat(right, high)}"
            case ir.Cond(body, test, orelse):
                return (
                    f"{self.flat(body, CHAIN)} if {self.flat(test, CHAIN)} else {self.flat(orelse)}"
                )
            case ir.Index(obj, index):
                inner = self._flat(index) if isinstance(index, ir.Slice) else self.flat(index)
                obj_text = self.postfix_obj(obj)
                if not _INDEXABLE_END.search(obj_text):  # `"s"[0]` would read as a list
                    obj_text = f"({obj_text})"
                return f"{obj_text}[{inner}]"
            case ir.Slice(lower, upper):
                low_text = "" if lower is None else self.flat(lower)
                return low_text + ":" + ("" if upper is None else self.flat(upper))
            case ir.Attr(obj, name):
                return f"{self.postfix_obj(obj)}.{name_text(name)}"
            case ir.Chain(items):
                if len(items) < 2:
                    raise ValueError("a chain has at least two items")
                return " -> ".join(self.flat(i, OR) for i in items)
            case _:
                assert_never(e)

    def postfix_obj(self, obj: ir.Expr) -> str:
        if isinstance(obj, ir.Literal) and isinstance(obj.value, int | float):
            return f"({self.literal(obj)})"  # `1.x` would read as the number `1.`
        return self.flat(obj, POSTFIX)

    def arg(self, a: ir.Arg) -> str:
        if a.name is None:
            return self.flat(a.value)
        return f"{name_text(a.name)}={self.flat(a.value)}"

    def literal(self, lit: ir.Literal) -> str:
        written = self.literal_text(lit)
        if written is not None:
            return written
        value = lit.value
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value} has no spelling in a spec")
            return repr(value)
        return string_literal(value)

    # -- line breaking ---------------------------------------------------------------------
    def forced(self, e: ir.Expr) -> bool:
        """Whether a hook forces a line break somewhere inside `e`."""
        match e:
            case ir.Chain(items):
                return any(self.keep_break(e, i) for i in range(1, len(items))) or any(
                    self.forced(i) for i in items
                )
            case ir.Call() | ir.ListExpr() | ir.TupleExpr() | ir.DictExpr() if self.keep_exploded(
                e
            ):
                return True
            case ir.Call(args=args):
                return any(self.forced(a.value) for a in args)
            case ir.ListExpr(items) | ir.TupleExpr(items):
                return any(self.forced(i) for i in items if type(i) is not ir.Literal)
            case ir.DictExpr(items):
                return any(self.forced(v) for _, v in items)
            case ir.Cond(body, test, orelse):
                return self.forced(body) or self.forced(test) or self.forced(orelse)
            case ir.Binary(op, left, right) if op != "**":
                return self.forced(left) or self.forced(right)
            case _:  # laid out on one line whatever the hooks say
                return False

    def layout(
        self,
        e: ir.Expr,
        col: int,
        indent: int,
        tail: int,
        dict_ok: bool,
        level: int = COND,
        prefix: str = "",
    ) -> list[Line]:
        """`prefix` + `e`, where `e` starts at column `col` and `tail` characters follow it."""
        if type(e) is ir.Literal and level <= FACTOR:  # nothing to break (a long tuple's items)
            return [Line(prefix + self.literal(e), *span_lines(e))]
        text = self.flat(e, level)
        if not self.forced(e) and col + len(text) + tail <= self.width:
            return [Line(prefix + text, *span_lines(e))]
        if precedence(e) < level:
            inner = self.layout(e, col + 1, indent, tail + 1, True, COND, prefix + "(")
            inner[-1].text += ")"
            return inner
        start = col - len(prefix)
        inner_pad = INDENT * (indent + 1)
        match e:
            case ir.Chain(items):
                return self.chain(e, items, col, indent, tail, dict_ok, prefix)
            case ir.Call(func, args) if args:
                parts = [self.argspan_lines(a, indent + 1) for a in args]
                head = prefix + name_text(func, dotted=True) + "("
                return self.container(head, start, parts, ")", indent, tail, e)
            case ir.ListExpr(items) | ir.TupleExpr(items) if items:
                opening, closing = ("[", "]") if isinstance(e, ir.ListExpr) else ("(", ")")
                parts = [
                    self.layout(i, len(inner_pad), indent + 1, 1, True, prefix=inner_pad)
                    for i in items
                ]
                return self.container(prefix + opening, start, parts, closing, indent, tail, e)
            case ir.DictExpr(items) if items and dict_ok:
                parts = []
                for key, value in items:
                    head = f"{inner_pad}{dict_key(key)}: "
                    parts.append(self.layout(value, len(head), indent + 1, 1, True, prefix=head))
                return self.container(prefix + "{", start, parts, "}", indent, tail, e)
            case ir.Cond(body, test, orelse):
                rest = len(f" if {self.flat(test, CHAIN)} else {self.flat(orelse)}")
                lines = self.layout(body, col, indent, tail + rest, dict_ok, CHAIN, prefix)
                lines = self.append(
                    lines,
                    start,
                    " if ",
                    test,
                    indent,
                    tail + len(f" else {self.flat(orelse)}"),
                    CHAIN,
                )
                return self.append(lines, start, " else ", orelse, indent, tail, COND)
            case ir.Binary(op, left, right) if op != "**":
                low, high = _operand_levels(op)
                rest = len(f" {op} {self.flat(right, high)}")
                lines = self.layout(left, col, indent, tail + rest, dict_ok, low, prefix)
                return self.append(lines, start, f" {op} ", right, indent, tail, high)
            case _:
                return [Line(prefix + text, *span_lines(e))]

    def append(
        self,
        lines: list[Line],
        start: int,
        sep: str,
        e: ir.Expr,
        indent: int,
        tail: int,
        level: int,
    ) -> list[Line]:
        """Continue the last line (which starts at `start` if it is the only one) with sep + e."""
        last = lines.pop()
        col = (start if not lines else 0) + len(last.text) + len(sep)
        more = self.layout(e, col, indent, tail, True, level)
        return [*lines, last.join(Line(sep)).join(more[0]), *more[1:]]

    def chain(
        self,
        e: ir.Chain,
        items: tuple[ir.Expr, ...],
        col: int,
        indent: int,
        tail: int,
        dict_ok: bool,
        prefix: str,
    ) -> list[Line]:
        """Break before `->` where a line is full or the source broke.

        Continuations align under the first arrow while every step fits there on one line;
        otherwise they start one indent deeper, where a step too long for a line can open up.
        """
        start = col - len(prefix)
        first = self.layout(items[0], col, indent, len(" ->"), dict_ok, OR, prefix)
        align = _end_column(first, start) + 1
        if align <= self.width // 2:
            lines = self.steps(e, items, _copy(first), start, align, indent, tail, strict=True)
            if lines is not None:
                return lines
        lines = self.steps(e, items, first, start, len(INDENT) * (indent + 1), indent, tail, False)
        assert lines is not None
        return lines

    def steps(
        self,
        e: ir.Chain,
        items: tuple[ir.Expr, ...],
        lines: list[Line],
        start: int,
        align: int,
        indent: int,
        tail: int,
        strict: bool,
    ) -> list[Line] | None:
        """The chain's steps after its first item; None if `strict` and a step needs to open up."""
        end = _end_column(lines, start)
        opened = False  # the step before opened up over lines: this one starts a new line
        for k, item in enumerate(items[1:], 1):
            item_tail = tail if k == len(items) - 1 else 0
            text = self.flat(item, OR)
            forced = self.forced(item)
            if (
                not opened
                and not self.keep_break(e, k)
                and (forced or end + len(" -> ") + len(text) + item_tail <= self.width)
            ):
                lines = self.append(lines, start, " -> ", item, indent, item_tail, OR)
                end = _end_column(lines, start)
                continue
            head = " " * align + "-> "
            if strict and (forced or len(head) + len(text) + item_tail > self.width):
                return None
            more = self.layout(item, len(head), indent + 1, item_tail, True, OR, head)
            lines += more
            end = _end_column(more, 0)
            opened = len(more) > 1
        return lines

    def argspan_lines(self, a: ir.Arg, indent: int) -> list[Line]:
        head = INDENT * indent + (f"{name_text(a.name)}=" if a.name is not None else "")
        lines = self.layout(a.value, len(head), indent, 1, True, prefix=head)
        if a.span.line:
            lines[0].first = min(lines[0].first or a.span.line, a.span.line)
        return lines

    def container(
        self,
        opening: str,
        start: int,
        parts: list[list[Line]],
        closing: str,
        indent: int,
        tail: int,
        node: ir.Expr | ir.Block,
    ) -> list[Line]:
        """`opening` items `closing` on one line if it fits, else one item per line."""
        explode = isinstance(node, ir.Block) or self.keep_exploded(node)
        if all(len(p) == 1 for p in parts) and not (explode and isinstance(node, ir.Expr)):
            one_tuple = isinstance(node, ir.TupleExpr) and len(parts) == 1
            text = opening + ", ".join(p[0].text.lstrip(" ") for p in parts)
            text += ("," if one_tuple else "") + closing
            if start + len(text) + tail <= self.width:
                line = Line(text)
                for p in parts:
                    line = line.join(Line("", p[0].first, p[0].last))
                return [line]
        out = [Line(opening)]
        for p in parts:
            p[-1].text += ","
            out += p
        span = node.span
        out.append(Line(INDENT * indent + closing, span.end_line, span.end_line))
        return out


def _operand_levels(op: str) -> tuple[int, int]:
    """Levels a binary operator's left and right operands need; comparisons do not chain."""
    level = _BINARY[op]
    if level == COMPARE:
        return ARITH, ARITH
    return level, level + 1


def _copy(lines: list[Line]) -> list[Line]:
    return [Line(line.text, line.first, line.last) for line in lines]


def _end_column(lines: list[Line], start: int) -> int:
    return start + len(lines[0].text) if len(lines) == 1 else len(lines[-1].text)


def name_text(text: str, dotted: bool = False) -> str:
    """A name as the printer writes it, refusing anything the grammar's NAME does not match:
    text from a tool (`kspec import` reads untrusted model files) can never become syntax."""
    parts = text.split(".") if dotted else [text]
    if not all(_NAME.fullmatch(p) for p in parts):
        raise ValueError(f"{text!r} is not a name a spec can hold")
    return text


def dict_key(key: str) -> str:
    return key if _NAME.fullmatch(key) else string_literal(key)


def dict_ok(head: str) -> bool:
    """Whether a `{` right after `head` opens a dict that may span lines."""
    return bool(_DICT_AFTER.search(head.rstrip()))


def span_lines(node: object) -> tuple[int, int]:
    span = getattr(node, "span", None)
    return (span.line, span.end_line) if span is not None else (0, 0)
