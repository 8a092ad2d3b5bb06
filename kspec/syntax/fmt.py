"""`kspec fmt`: the printer's canonical layout, keeping comments, blank lines and chosen breaks.

The IR holds no comments, so they are found in the source by position and hung on the IR node
they sit in or before: a comment line before a statement leads it, a comment at the end of a
line follows the output line that holds the same code, comments before a `}` stay at the end
of the body. What the user chose is kept where the grammar leaves a choice: a chain broken
before `->`, a call, list or dict exploded with a trailing comma, a blank line (one at most),
the spelling of numbers and strings. The result is checked: it must parse to the same IR and
hold the same comments, or fmt refuses to write it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from kspec.output import write_text
from kspec.syntax import ir
from kspec.syntax.parse import parse
from kspec.syntax.printer import INDENT, Line, Node, Owner, Printer

Key: TypeAlias = tuple[int, int]  # (id of an IR node, part)
Compound: TypeAlias = ir.Model | ir.Block | ir.Section | ir.Phase | ir.ForLoop | ir.IfElse


@dataclass(frozen=True)
class Comment:
    line: int
    column: int
    text: str  # from `#` to the end of the line, trailing white space removed
    full_line: bool  # nothing but white space before it


def find_comments(lines: list[str]) -> list[Comment]:
    """Every `#` comment outside a string (strings never span lines)."""
    out = []
    for number, text in enumerate(lines, 1):
        if "#" not in text:  # most lines: no need to walk their strings
            continue
        in_string = escaped = False
        for col, ch in enumerate(text):
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch == "#":
                out.append(Comment(number, col + 1, text[col:].rstrip(), not text[:col].strip()))
                break
    return out


@dataclass
class Placement:
    """Where each comment goes, keyed by IR node identity."""

    leading: dict[int, list[Comment]] = field(default_factory=dict)
    inner: dict[int, list[Comment]] = field(default_factory=dict)  # inside a simple statement
    header: dict[Key, list[Comment]] = field(default_factory=dict)  # end of an `{`/`}` line
    closing: dict[Key, list[Comment]] = field(default_factory=dict)  # before a body's `}`


class Text:
    """The text being formatted, with the scanner that finds braces the IR does not record."""

    def __init__(self, text: str):
        # Lines as the parser counts them: only "\n" ends one (str.splitlines also splits at
        # \x85 or \u2028, which a string literal may hold).
        self.lines = [line.removesuffix("\r") for line in text.split("\n")]
        self.comment_at = {c.line: c for c in find_comments(self.lines)}

    def next_char(self, line: int, col: int, wanted: str) -> tuple[int, int]:
        """The first `wanted` character at or after (line, col), skipping comments."""
        while line <= len(self.lines):
            text = self.lines[line - 1]
            comment = self.comment_at.get(line)
            stop = comment.column - 1 if comment else len(text)
            found = text.find(wanted, col - 1, stop)
            if found >= 0:
                return line, found + 1
            line, col = line + 1, 1
        return len(self.lines), 1

    def blank_between(self, after: int, before: int) -> bool:
        """Whether a blank line lies strictly between two source lines."""
        return any(not self.lines[n - 1].strip() for n in range(after + 1, before))


def _body_of(node: Owner) -> tuple[ir.Stmt | ir.Field | ir.Phase | ir.Item, ...]:
    match node:
        case ir.Spec(items):
            return items
        case ir.Model(body=body) | ir.Block(body=body) | ir.ForLoop(body=body):
            return body
        case ir.Section(fields=fields, phases=phases):
            return (*fields, *phases)
        case ir.Phase(fields=fields):
            return fields
        case ir.IfElse(body=body, orelse=orelse):
            return body + orelse
    return ()


class Placer:
    """Finds the owner of each comment by walking the IR with the source at hand."""

    def __init__(self, source: Text):
        self.source = source
        self.out = Placement()

    def open_brace(self, node: Compound) -> tuple[int, int]:
        """Line and column of the `{` that opens a node's body."""
        match node:
            case ir.Block(params=params, name_span=s):
                end = params[-1].span if params else s
                return self.source.next_char(
                    *self.source.next_char(end.end_line, end.end_column, ")"), "{"
                )
            case ir.Model(name_span=s):
                return self.source.next_char(s.end_line, s.end_column, "{")
            case ir.ForLoop(iterable=e) | ir.IfElse(test=e):
                return self.source.next_char(e.span.end_line, e.span.end_column, "{")
            case ir.Section(span=s) | ir.Phase(span=s):
                return self.source.next_char(s.line, s.column, "{")
        raise AssertionError(f"{type(node).__name__} has no body")

    def place_all(self, spec: ir.Spec, comments: list[Comment]) -> Placement:
        for c in comments:
            self.place(c, spec, spec.items, 0)
        return self.out

    def place(self, c: Comment, owner: Owner, nodes: tuple[Node, ...], part: int) -> None:
        """Hang `c` in the body `nodes` of `owner`, the innermost body that holds it."""
        for n in nodes:
            if n.span.line <= c.line <= n.span.end_line:
                if isinstance(
                    n, ir.Model | ir.Block | ir.Section | ir.Phase | ir.ForLoop | ir.IfElse
                ):
                    self.place_in(c, n)
                else:
                    self.add(self.out.inner, id(n), c)
                return
        for n in nodes:
            if n.span.line > c.line:
                self.add(self.out.leading, id(n), c)
                return
        self.add(self.out.closing, (id(owner), part), c)

    def place_in(self, c: Comment, node: Compound) -> None:
        brace_line, brace_col = self.open_brace(node)
        if c.line < brace_line:  # inside a header spread over lines: it leads the node instead
            self.add(self.out.leading, id(node), c)
        elif _holds(body := node.body if isinstance(node, ir.IfElse) else _body_of(node), c):
            self.place(c, node, body, 0)
        elif isinstance(node, ir.IfElse) and node.orelse:
            if c.line == brace_line and not c.full_line:
                self.add(self.out.header, (id(node), 0), c)
            else:
                self.place_in_else(c, node, (brace_line, brace_col + 1))
        elif c.line == node.span.end_line and not c.full_line:  # `}  # c`, or `{}  # c`
            self.add(self.out.header, (id(node), 2), c)
        elif c.line == brace_line and not c.full_line:
            self.add(self.out.header, (id(node), 0), c)
        else:
            self.place(c, node, _body_of(node), 0)

    def place_in_else(self, c: Comment, node: ir.IfElse, after_brace: tuple[int, int]) -> None:
        end = node.body[-1].span if node.body else None
        start = (end.end_line, end.end_column) if end else after_brace
        close_line, close_col = self.source.next_char(*start, "}")
        else_line, _ = self.source.next_char(close_line, close_col + 1, "e")
        nested = node.orelse[0] if len(node.orelse) == 1 else None
        if c.line < close_line:
            self.place(c, node, node.body, 0)
        elif c.line <= else_line:
            if c.full_line:
                self.add(self.out.closing, (id(node), 0), c)
            else:
                self.add(self.out.header, (id(node), 1), c)
        elif isinstance(nested, ir.IfElse):  # `else if`
            if c.line < nested.span.line:
                self.add(self.out.leading, id(nested), c)
            else:
                self.place_in(c, nested)
        elif c.line == node.span.end_line and not c.full_line and not _holds(node.orelse, c):
            self.add(self.out.header, (id(node), 2), c)
        else:
            self.place(c, node, node.orelse, 1)

    @staticmethod
    def add(table: dict[Any, list[Comment]], key: Any, c: Comment) -> None:
        table.setdefault(key, []).append(c)


def _holds(nodes: tuple[Node, ...], c: Comment) -> bool:
    return any(n.span.line <= c.line <= n.span.end_line for n in nodes)


class FmtPrinter(Printer):
    """The printer with the source at hand: comments, blank lines and the user's breaks kept."""

    def __init__(self, text: Text, placement: Placement):
        super().__init__()
        self.text = text
        self.placed = placement

    def literal_text(self, lit: ir.Literal) -> str | None:
        s = lit.span
        if not s.line or s.line != s.end_line or isinstance(lit.value, bool) or lit.value is None:
            return None
        return self.text.lines[s.line - 1][s.column - 1 : s.end_column - 1]

    def keep_break(self, chain: ir.Chain, index: int) -> bool:
        before, after = chain.items[index - 1].span, chain.items[index].span
        return bool(before.end_line and after.line > before.end_line)

    def keep_exploded(self, node: ir.Expr) -> bool:
        match node:
            case ir.Call(args=items) | ir.ListExpr(items) | ir.TupleExpr(items) if items:
                last = items[-1].span
            case ir.DictExpr(items) if items:
                last = items[-1][1].span
            case _:
                return False
        s = node.span
        if not last.line or s.line == s.end_line:
            return False
        comma = self.text.next_char(last.end_line, last.end_column, ",")
        return comma < (s.end_line, s.end_column - 1)

    def blank_before(self, node: Node, prev: Node | None, owner: Owner) -> bool:
        if prev is None:
            return False
        top = min([node.span.line] + [c.line for c in self.placed.leading.get(id(node), [])])
        blank = self.text.blank_between(prev.span.end_line, top)
        return blank or (isinstance(owner, ir.Spec) and super().blank_before(node, prev, owner))

    def leading(self, node: Node, indent: int) -> list[str]:
        comments = self.placed.leading.get(id(node), [])
        return self.comment_lines(comments, INDENT * indent, node.span.line)

    def comment_lines(self, comments: list[Comment], pad: str, next_line: int = 0) -> list[str]:
        """Comment lines with the blank lines the source had between them (one at most)."""
        out: list[str] = []
        for i, c in enumerate(comments):
            if i and self.text.blank_between(comments[i - 1].line, c.line):
                out.append("")
            out.append(pad + c.text)
        if comments and next_line and self.text.blank_between(comments[-1].line, next_line):
            out.append("")
        return out

    def emit(self, node: Node, lines: list[Line], indent: int) -> list[str]:
        before: list[Comment] = []
        inserted: dict[int, list[Comment]] = {}
        ends: dict[int, list[Comment]] = {}
        for c in self.placed.inner.get(id(node), []):
            if not c.full_line:
                i = next((i for i, ln in enumerate(lines) if ln.last >= c.line), len(lines) - 1)
                ends.setdefault(i, []).append(c)
                continue
            i = next(
                (
                    i
                    for i, ln in enumerate(lines)
                    if i and ln.first > c.line and lines[i - 1].last <= c.line
                ),
                0,
            )
            (inserted.setdefault(i, []) if i else before).append(c)
        for i, cs in ends.items():  # one comment ends a line; the others go on lines above it
            (inserted.setdefault(i, []) if i else before).extend(cs[:-1])
            lines[i].text = self.trailing(lines[i].text, cs[-1])
        out = [INDENT * indent + c.text for c in sorted(before, key=lambda c: c.line)]
        if not inserted:
            return out + [line.text for line in lines]
        for i, line in enumerate(lines):
            pad = line.text[: len(line.text) - len(line.text.lstrip(" "))]
            out += [pad + c.text for c in sorted(inserted.get(i, []), key=lambda c: c.line)]
            out.append(line.text)
        return out

    def header(self, owner: Owner, part: int, text: str) -> str:
        keys = [(id(owner), part)]
        if part == 2 and text.endswith("{}"):
            keys.insert(0, (id(owner), 0))
        comments = [c for key in keys for c in self.placed.header.get(key, [])]
        if not comments:
            return text
        pad = text[: len(text) - len(text.lstrip(" "))]
        above = "".join(f"{pad}{c.text}\n" for c in comments[:-1])  # one comment per line
        return above + self.trailing(text, comments[-1])

    def trailing(self, text: str, c: Comment) -> str:
        """`text  # c`, at the comment's old column when the line's code is unchanged."""
        code = self.text.lines[c.line - 1][: c.column - 1]
        if code.rstrip() == text:
            return code + c.text
        return f"{text}  {c.text}"

    def closing(self, owner: Owner, part: int, indent: int) -> list[str]:
        comments = self.placed.closing.get((id(owner), part), [])
        if not comments:
            return []
        body = _body_of(owner)
        if isinstance(owner, ir.IfElse):
            body = owner.orelse if part else owner.body
        blank = bool(body) and self.text.blank_between(body[-1].span.end_line, comments[0].line)
        return [""] * blank + self.comment_lines(comments, INDENT * indent)


def format_text(text: str, path: str = "<string>") -> str:
    """The formatted spec; KspecError when it does not parse."""
    spec = parse(text, path)
    source = Text(text)
    comments = find_comments(source.lines)
    placement = Placer(source).place_all(spec, comments)
    out = FmtPrinter(source, placement).spec(spec)
    if out == text:  # already formatted: nothing to verify, and half the time of a big file
        return out
    # Never change meaning or drop a comment: a bug here must not reach the user's file.
    if parse(out, path) != spec:
        raise RuntimeError(f"kspec fmt would change the meaning of {path}")
    kept = Counter(c.text for c in find_comments(out.split("\n")))
    if kept != Counter(c.text for c in comments):
        raise RuntimeError(f"kspec fmt would lose or duplicate a comment in {path}")
    return out


def write_atomically(path: str | Path, text: str) -> None:
    """Replace a file's text in one step (through a symlink), so fmt never leaves half a file."""
    write_text(path, text)
