"""Where each name of a file is defined and used, read from the IR: definition, references,
outline and "what is under the cursor" for the editor.

Scopes follow the checker: a model or block body sees its own inputs, tensors, shared layers,
loop variables and parameters, then the file's constants, blocks and models, then what
`import`ed files define. The IR records statement spans, so a bound name's own span is found
in the statement's text.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kspec.source import Span
from kspec.syntax import ir

Position = tuple[int, int]  # 1-based line and column, as kspec spans count


@dataclass(frozen=True)
class Def:
    """A definition: the name's own span, its kind, and the body it belongs to (None: file)."""

    name: str
    kind: str  # model, block, constant, input, tensor, shared layer, parameter, loop variable
    span: Span
    scope: str | None
    node: Any = field(compare=False, default=None)  # the IR statement or item


@dataclass(frozen=True)
class Ref:
    """A use of a name: a bare name or the name of a call (`Dense(...)`, `residual(...)`)."""

    name: str
    span: Span
    scope: str | None
    call: ir.Call | None = field(compare=False, default=None)


@dataclass(frozen=True)
class Indexed:
    """One body statement's definitions and uses, and everything they were read from: the
    statement itself (spans included), its scope and the text of its lines."""

    stmt: ir.Stmt
    scope: str
    lines: tuple[str, ...]
    defs: tuple[Def, ...]
    refs: tuple[Ref, ...]


@dataclass
class Index:
    path: str
    lines: list[str]
    spec: ir.Spec
    defs: list[Def] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)
    imports: list[tuple[ir.Import, Path]] = field(default_factory=list)
    # What each body statement contributed, for the next build after an edit (see _body).
    memo: dict[int, Indexed] = field(default_factory=dict, repr=False)

    def scope_at(self, pos: Position) -> str | None:
        for item in self.spec.items:
            if isinstance(item, ir.Model | ir.Block) and contains(item.span, pos):
                return item.name
        return None

    def item_at(self, pos: Position) -> ir.Item | None:
        return next((i for i in self.spec.items if contains(i.span, pos)), None)

    def visible(self, scope: str | None) -> dict[str, Def]:
        """Names visible in a body: its own first, then the file's."""
        out = {d.name: d for d in self.defs if d.scope is None}
        out.update({d.name: d for d in self.defs if d.scope == scope and scope is not None})
        return out

    def resolve(self, name: str, scope: str | None) -> Def | None:
        if scope is not None:
            local = next((d for d in self.defs if d.scope == scope and d.name == name), None)
            if local is not None:
                return local
        return next((d for d in self.defs if d.scope is None and d.name == name), None)

    def at(self, pos: Position) -> Def | Ref | None:
        """The definition or use under the cursor (the narrowest span that holds it)."""
        hits: list[Def | Ref] = [d for d in self.defs if contains(d.span, pos)]
        hits += [r for r in self.refs if contains(r.span, pos)]
        return min(hits, key=lambda h: _width(h.span), default=None)

    def references(self, target: Def) -> list[Span]:
        """Every use of `target` in this file, the definition first."""
        out = [target.span]
        for r in self.refs:
            if self.resolve(r.name, r.scope) == target:
                out.append(r.span)
        return out

    def import_at(self, pos: Position) -> Path | None:
        return next((p for item, p in self.imports if contains(item.span, pos)), None)


def contains(span: Span, pos: Position) -> bool:
    """True when pos is in span or just after its end (where the cursor sits after typing)."""
    line, col = pos
    if span.line == 0 or not span.line <= line <= span.end_line:
        return False
    if line == span.line and col < span.column:
        return False
    return not (line == span.end_line and col > span.end_column)


def _width(span: Span) -> tuple[int, int]:
    return (span.end_line - span.line, span.end_column - span.column)


def build_index(spec: ir.Spec, text: str, path: str, previous: Index | None = None) -> Index:
    """The index of `spec` (parsed from `text`). With `previous`, the index of an earlier text,
    a body statement that is the same object, in the same scope, on the same lines of text as
    then is not walked again: after an edit that reparsed one statement, only it is."""
    index = Index(path, text.split("\n"), spec)
    if previous is not None:
        index.memo = previous.memo  # read only; it keeps its statements, so their id()s hold
    seen: dict[int, Indexed] = {}
    for item in spec.items:
        match item:
            case ir.Model(name) | ir.Block(name):
                kind = "model" if isinstance(item, ir.Model) else "block"
                index.defs.append(Def(name, kind, item.name_span, None, item))
                if isinstance(item, ir.Block):
                    for p in item.params:
                        index.defs.append(
                            Def(p.name, "parameter", _named(index, p.span, p.name), name, p)
                        )
                        _walk(index, p.default, name)
                _body(index, item.body, name, seen)
            case ir.Const(name, value):
                index.defs.append(Def(name, "constant", _named(index, item.span, name), None, item))
                _walk(index, value, None)
            case ir.Section():
                for f in item.fields:
                    _walk(index, f.value, None)
            case ir.Use():
                where = _named(index, item.span, item.bound_name, last=True)
                index.defs.append(Def(item.bound_name, "layer class", where, None, item))
    index.memo = seen
    index.imports = imports_of(spec, path)
    return index


def imports_of(spec: ir.Spec, path: str) -> list[tuple[ir.Import, Path]]:
    """Each `import` line and the file it names, relative to this one."""
    return [(i, Path(path).parent / i.path) for i in spec.items if isinstance(i, ir.Import)]


def _body(
    index: Index, body: tuple[ir.Stmt, ...], scope: str, seen: dict[int, Indexed] | None = None
) -> None:
    for s in body:
        if seen is None:  # inside a loop or conditional: the enclosing statement is memoized
            _statement(index, s, scope)
            continue
        lines = tuple(index.lines[s.span.line - 1 : s.span.end_line])
        done = index.memo.get(id(s))
        if done is None or done.stmt is not s or done.scope != scope or done.lines != lines:
            n_defs, n_refs = len(index.defs), len(index.refs)
            _statement(index, s, scope)
            defs, refs = tuple(index.defs[n_defs:]), tuple(index.refs[n_refs:])
            done = Indexed(s, scope, lines, defs, refs)
        else:
            index.defs.extend(done.defs)
            index.refs.extend(done.refs)
        seen[id(s)] = done  # keeps s alive, so its id() names no other statement meanwhile


def _statement(index: Index, s: ir.Stmt, scope: str) -> None:
    match s:
        case ir.Input(name, shape):
            index.defs.append(Def(name, "input", _named(index, s.span, name, skip=5), scope, s))
            _walk(index, shape, scope)
        case ir.Bind(targets, value):
            for t in targets:
                index.defs.append(Def(t, "tensor", _named(index, s.span, t), scope, s))
            _walk(index, value, scope)
        case ir.Output(name, value):
            if name is not None:
                index.defs.append(
                    Def(name, "output", _named(index, s.span, name, skip=6), scope, s)
                )
            _walk(index, value, scope)
        case ir.SharedLayer(name, value):
            where = _named(index, s.span, name, skip=5)
            index.defs.append(Def(name, "shared layer", where, scope, s))
            _walk(index, value, scope)
        case ir.ChainStmt(value):
            _walk(index, value, scope)
        case ir.ForLoop(targets, iterable, body):
            for t in targets:
                where = _named(index, s.span, t, skip=3)
                index.defs.append(Def(t, "loop variable", where, scope, s))
            _walk(index, iterable, scope)
            _body(index, body, scope)
        case ir.IfElse(test, body, orelse):
            _walk(index, test, scope)
            _body(index, body, scope)
            _body(index, orelse, scope)


def _walk(index: Index, node: Any, scope: str | None) -> None:
    for n in _nodes(node):
        if isinstance(n, ir.Name):
            index.refs.append(Ref(n.id, n.span, scope))
        elif isinstance(n, ir.Call) and n.func_span.line:
            index.refs.append(Ref(n.func, n.func_span, scope, n))


def _nodes(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, tuple):
            stack.extend(reversed(n))
        elif dataclasses.is_dataclass(n) and not isinstance(n, type):
            yield n
            stack.extend(getattr(n, name) for name in reversed(_children(type(n))))


_CHILDREN: dict[type, tuple[str, ...]] = {}


def _children(cls: type) -> tuple[str, ...]:
    """A node class's fields other than spans (dataclasses.fields per node was half the cost
    of indexing a big spec)."""
    names = _CHILDREN.get(cls)
    if names is None:
        names = _CHILDREN[cls] = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name != "span" and not f.name.endswith("_span")
        )
    return names


def _named(index: Index, span: Span, name: str, *, skip: int = 0, last: bool = False) -> Span:
    """The span of `name` itself inside the statement at `span` (after `skip` characters)."""
    for line in range(span.line, min(span.end_line, len(index.lines)) + 1):
        text = index.lines[line - 1]
        start = span.column - 1 + skip if line == span.line else 0
        found = [i for i in _words(text, name, start)]
        if found:
            col = (found[-1] if last else found[0]) + 1
            return Span(line, col, line, col + len(name), span.path)
    return Span(span.line, span.column, span.line, span.column + len(name), span.path)


def _words(text: str, name: str, start: int) -> Iterator[int]:
    """Offsets of `name` as a whole word in text (str.find: a regex per name was a third of the
    indexing time of a 2,000-layer spec)."""
    at = text.find(name, start)
    while at >= 0:
        end = at + len(name)
        if (at == 0 or not _word_char(text[at - 1])) and (
            end == len(text) or not _word_char(text[end])
        ):
            yield at
        at = text.find(name, at + 1)


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"
