"""IR -> spec text in the one canonical layout that `kspec fmt`, `kspec import` and from_json write.

`parse(print_spec(x)) == x` for every IR the parser produces (spans are not compared). Layout:
four-space indents, one statement per line, lines of at most 100 columns where the grammar
allows (kspec/syntax/layout.py breaks long expressions). `kspec fmt` subclasses Printer to keep
comments, blank lines and the user's own breaks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias, assert_never

from kspec.syntax import ir
from kspec.syntax.layout import (
    INDENT,
    WIDTH,
    ExprLayout,
    Line,
    dict_ok,
    name_text,
    span_lines,
    string_literal,
)

__all__ = ["INDENT", "WIDTH", "Line", "Node", "Owner", "Printer", "print_expr", "print_spec"]

Node: TypeAlias = ir.Stmt | ir.Item | ir.Field | ir.Phase
Owner: TypeAlias = ir.Model | ir.Block | ir.Section | ir.Phase | ir.ForLoop | ir.IfElse | ir.Spec


def print_spec(spec: ir.Spec) -> str:
    """The canonical text of a spec."""
    return Printer().spec(spec)


def print_expr(expr: ir.Expr) -> str:
    """One expression on one line, parenthesized only where the grammar needs it."""
    return Printer().flat(expr)


class Printer(ExprLayout):
    """Lays out a whole spec; the hooks let `kspec fmt` keep what the IR does not record."""

    def blank_before(self, node: Node, prev: Node | None, owner: Owner) -> bool:
        """Whether a blank line separates `node` from the statement or item before it."""
        if prev is None:
            return False
        if isinstance(node, ir.Phase):
            return True
        if isinstance(owner, ir.Spec):
            one_liners = (ir.Const, ir.Import, ir.Use)
            return not (isinstance(node, one_liners) and isinstance(prev, one_liners))
        # a model's inputs stand apart from its layers
        return (
            isinstance(owner, ir.Model)
            and isinstance(prev, ir.Input)
            and not isinstance(node, ir.Input)
        )

    def leading(self, node: Node, indent: int) -> list[str]:
        """Lines printed before a statement or item (its comments, in kspec fmt)."""
        return []

    def emit(self, node: Node, lines: list[Line], indent: int) -> list[str]:
        """The finished lines of one simple statement, field or item."""
        return [line.text for line in lines]

    def header(self, owner: Owner, part: int, text: str) -> str:
        """A line that opens a body (part 0), continues an if with `} else {` (1) or closes (2)."""
        return text

    def closing(self, owner: Owner, part: int, indent: int) -> list[str]:
        """Lines printed at the end of a body (part 1: an if's else body) or of the file."""
        return []

    # -- files and bodies ---------------------------------------------------------------
    def spec(self, spec: ir.Spec) -> str:
        out = self.body(spec.items, 0, spec)
        out += self.closing(spec, 0, 0)
        while out and not out[0]:
            out.pop(0)
        return "\n".join(out) + "\n" if out else ""

    def body(self, nodes: Sequence[Node], indent: int, owner: Owner) -> list[str]:
        out: list[str] = []
        prev: Node | None = None
        for node in nodes:
            if self.blank_before(node, prev, owner):
                out.append("")
            out += self.leading(node, indent)
            out += self.node(node, indent)
            prev = node
        return out

    def node(self, node: Node, indent: int) -> list[str]:
        pad = INDENT * indent
        match node:
            case ir.Model(name, body):
                return self.compound(node, [Line(f"model {name_text(name)}")], body, 0)
            case ir.Block(name, params, body):
                parts = [self.param(p) for p in params]
                head = self.container(
                    f"block {name_text(name)}(", 0, parts, ")", 0, len(" {"), node
                )
                return self.compound(node, head, body, 0)
            case ir.Section(kind, fields, phases):
                return self.compound(node, [Line(kind)], (*fields, *phases), 0)
            case ir.Phase(name, fields):
                return self.compound(node, [Line(f"{pad}phase {name_text(name)}")], fields, indent)
            case ir.Const(name, value) | ir.Field(name, value):
                return self.emit(node, self.place(f"{pad}{name_text(name)} = ", value), indent)
            case ir.Import(path):
                return self.emit(
                    node, [Line(f"import {string_literal(path)}", *span_lines(node))], 0
                )
            case ir.Use(target, alias):
                text = f"use {string_literal(target)}" + (
                    f" as {name_text(alias)}" if alias else ""
                )
                return self.emit(node, [Line(text, *span_lines(node))], 0)
            case ir.Input(name, shape, dtype):
                name = name_text(name)
                tail = f" as {name_text(dtype)}" if dtype else ""
                if shape is None:
                    return self.emit(
                        node, [Line(f"{pad}input {name}{tail}", *span_lines(node))], indent
                    )
                lines = self.place(f"{pad}input {name}: ", shape, len(tail))
                lines[-1].text += tail
                return self.emit(node, lines, indent)
            case ir.Bind(targets, value):
                names = ", ".join(name_text(t) for t in targets)
                return self.emit(node, self.place(f"{pad}{names} = ", value), indent)
            case ir.Output(name, value):
                out = f"{pad}output {name_text(name)} = " if name is not None else f"{pad}output "
                return self.emit(node, self.place(out, value), indent)
            case ir.ChainStmt(value):
                return self.emit(node, self.place(pad, value), indent)
            case ir.SharedLayer(name, value):
                shared = f"{pad}layer {name_text(name)} = "
                return self.emit(node, self.place(shared, value), indent)
            case ir.ForLoop(targets, iterable, body):
                names = ", ".join(name_text(t) for t in targets)
                head = self.place(f"{pad}for {names} in ", iterable, len(" {"))
                return self.compound(node, head, body, indent)
            case ir.IfElse():
                return self.if_else(node, indent, f"{pad}if ")
            case _:
                assert_never(node)

    def param(self, p: ir.Param) -> list[Line]:
        if p.default is None:
            return [Line(INDENT + name_text(p.name), *span_lines(p))]
        head = f"{INDENT}{name_text(p.name)}="
        return self.layout(p.default, len(head), 1, 1, True, prefix=head)

    def compound(
        self, node: Owner, head: list[Line], body: Sequence[Node], indent: int, close: bool = True
    ) -> list[str]:
        """A header line, `{`, the body one level deeper, and `}` (unless `close` is false)."""
        pad = INDENT * indent
        if not head[0].text.startswith(pad):
            head[0].text = pad + head[0].text
        opening = head[-1].text + " {"
        lines = [line.text for line in head[:-1]] + [self.header(node, 0, opening)]
        inner = self.body(body, indent + 1, node) + self.closing(node, 0, indent + 1)
        if not close:
            return lines + inner
        if not inner and lines == [opening]:  # nothing inside, not even a comment: `{}`
            return [self.header(node, 2, opening + "}")]
        return [*lines, *inner, self.header(node, 2, pad + "}")]

    def if_else(self, s: ir.IfElse, indent: int, head: str) -> list[str]:
        pad = INDENT * indent
        test = self.place(head, s.test, len(" {"))
        if not s.orelse:
            return self.compound(s, test, s.body, indent)
        lines = self.compound(s, test, s.body, indent, close=False)
        if len(s.orelse) == 1 and isinstance(s.orelse[0], ir.IfElse):  # `} else if ... {`
            nested = s.orelse[0]
            lines += self.leading(nested, indent + 1)
            chained = self.if_else(nested, indent, f"{pad}}} else if ")
            chained[0] = self.header(s, 1, chained[0])
            chained[-1] = self.header(s, 2, chained[-1])
            return lines + chained
        inner = self.body(s.orelse, indent + 1, s) + self.closing(s, 1, indent + 1)
        middle = self.header(s, 1, f"{pad}}} else {{")
        return [*lines, middle, *inner, self.header(s, 2, pad + "}")]

    def place(self, head: str, value: ir.Expr, tail: int = 0) -> list[Line]:
        """`head` (from column 0) followed by `value`, broken over lines where it does not fit."""
        indent = (len(head) - len(head.lstrip(" "))) // len(INDENT)
        return self.layout(value, len(head), indent, tail, dict_ok(head), prefix=head)
