"""The code tree of a generated function: statements with holes, filled once every run is seen.

The generator walks a model's IR once per execution (every loop iteration, every block
instance) but emits each statement once. What differs between executions (a layer's Keras
name, an argument that depends on a loop variable) is a hole that collects one value per
execution; when the walk is done each hole finds one expression that gives every value it saw
(`f"{name}_conv2d"`, `f"residual{i + 1}"`), or the structure cannot be kept and the caller
falls back to straight-line code. Rendering lays lines out as `ruff format` would keep them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from kspec.codegen.pyliteral import Code, Format, py_literal

LINE_LENGTH = 100


class Unstructured(Exception):
    """The spec's loops and blocks cannot be kept as written here; emit straight-line code."""

    def __init__(self, message: str, models: set[str] | None = None) -> None:
        super().__init__(message)
        self.models = models or set()  # which models to write flat; filled in by the caller


# -- holes ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One execution of a statement: its value and where it happened."""

    value: Any
    prefix: str  # the block instance's full name ("" outside blocks)
    index: tuple[int, ...]  # iteration of each enclosing loop of the function, outermost first


NUMBERED = "numbered"  # the script's helper for Keras's numbering, defined when used


@dataclass(eq=False)
class NameHole:
    """A Keras name: of a layer (`dense`, `dense_1`) or of a block instance (`residual1`)."""

    instance_of: str | None = None  # the block's name for instance names
    given: str | Code | None = None  # the user's name="..." (Code when it depends on the loop)
    loops: tuple[For, ...] = ()
    runs: list[Run] = field(default_factory=list)
    auto: bool = False  # Keras's automatic name is this name in every run: write no name=

    def render(self, prefix_var: str | None) -> str:
        if not self.runs:
            raise Unstructured("a name was never used")
        suffixes = [_suffix(run, prefix_var) for run in self.runs]
        if self.given is not None:
            return _prefixed(prefix_var, self.given)
        if len(set(suffixes)) == 1:
            return _prefixed(prefix_var, suffixes[0])
        if self.instance_of is not None:
            base = self.instance_of
            counts = [_int_after(s, base) for s in suffixes]
            counter = self.fit(counts)
            return _prefixed(prefix_var, Format((base, Code(counter))))
        parsed = [_counted(s) for s in suffixes]
        if len({base for base, _ in parsed}) != 1:
            raise Unstructured("layer names in a loop do not share a base")
        base = parsed[0][0]
        counter = self.fit([n for _, n in parsed])
        if all(n > 0 for _, n in parsed):
            return _prefixed(prefix_var, Format((base + "_", Code(counter))))
        # `dense` in the first run, `dense_1` in the next: the script's one helper (templates/
        # _functions.py.j2) numbers as Keras does, rather than a conditional on every such line.
        return f"{NUMBERED}({_prefixed(prefix_var, base)}, {counter})"

    def fit(self, counts: list[int]) -> str:
        """An expression in the loop indices giving `counts[r]` for every run r."""
        runs = [run.index for run in self.runs]
        first, n0 = runs[0], counts[0]
        slopes = []
        for j in range(len(self.loops)):
            slope = 0
            for index, n in zip(runs, counts, strict=True):
                differs = [i for i in range(len(index)) if index[i] != first[i]]
                if differs == [j]:
                    step, rem = divmod(n - n0, index[j] - first[j])
                    if rem:
                        raise Unstructured("names do not grow linearly with the loop")
                    slope = step
                    break
            slopes.append(slope)
        offset = n0 - sum(s * k for s, k in zip(slopes, first, strict=True))
        for index, n in zip(runs, counts, strict=True):
            if offset + sum(s * k for s, k in zip(slopes, index, strict=True)) != n:
                raise Unstructured("names do not grow linearly with the loop")
        terms = []
        for loop, slope in zip(self.loops, slopes, strict=True):
            if slope:
                var = loop.index_var()
                terms.append(var if slope == 1 else f"{slope} * {var}")
        text = " + ".join(terms)
        if offset or not terms:
            text = (
                f"{text} + {offset}"
                if terms and offset > 0
                else (f"{text} - {-offset}" if terms else str(offset))
            )
        return text


def _suffix(run: Run, prefix_var: str | None) -> str:
    value = str(run.value)
    if prefix_var is None:
        return value
    if not value.startswith(run.prefix + "_"):
        raise Unstructured(f"name {value!r} does not start with its block's prefix")
    return value[len(run.prefix) + 1 :]


def _prefixed(prefix_var: str | None, suffix: str | Code | Format) -> str:
    if prefix_var is None:
        return py_literal(suffix)
    parts = suffix.parts if isinstance(suffix, Format) else (suffix,)
    return py_literal(Format((Code(prefix_var), "_", *parts)))


def _int_after(text: str, base: str) -> int:
    rest = text.removeprefix(base)
    if rest == text or not rest.isdigit():
        raise Unstructured(f"instance name {text!r} is not {base}<n>")
    return int(rest)


def _counted(name: str) -> tuple[str, int]:
    """Keras's automatic names: `dense` is the 0th, `dense_3` the 3rd."""
    m = re.fullmatch(r"(.+)_(\d+)", name)
    return (m.group(1), int(m.group(2))) if m else (name, 0)


@dataclass(eq=False)
class ArgHole:
    """One constructor argument: the written expression, or the resolved value."""

    written: str | None  # the spec's expression as Python, when the argument was written
    local: bool  # the written expression reads a block parameter, loop variable or local
    slot: Any = None  # the parameter's name (a GenericLayer's positional: its index)
    in_spec: bool = False  # written in the spec: kept even when it equals Keras's default
    runs: list[tuple[Any, bool]] = field(default_factory=list)  # (resolved, differs from default)
    written_ok: bool = True  # every run's written value is what the catalog resolved

    @property
    def present(self) -> bool:
        return self.in_spec or any(present for _, present in self.runs)

    def render(self, literal: Any) -> str:
        if self.written is not None and self.written_ok:
            return self.written
        values = [v for v, _ in self.runs]
        if self.local or any(not _equal(v, values[0]) for v in values):
            raise Unstructured("an argument varies but its expression cannot be written")
        return py_literal(literal(values[0]))


def _equal(a: Any, b: Any) -> bool:
    # repr, not ==: NaN is not equal to itself, yet every run wrote the same constant
    return type(a) is type(b) and (bool(a == b) or repr(a) == repr(b))


@dataclass(eq=False)
class Ctor:
    """A layer constructor: `layers.Conv2D(filters, 3, strides=stride, name=...)`."""

    func: str
    args: list[tuple[str | None, ArgHole]]  # (keyword or None for positional, hole)
    name: NameHole | None
    literal: Any  # resolved value -> pyliteral value (nested layers and Keras objects)
    # keyword -> code the builder adds itself (an application's input_shape and weights file)
    extra: dict[str, str] = field(default_factory=dict)
    trainable: bool | None = None  # the same in every run; False writes trainable=False

    def freeze(self, trainable: bool) -> None:
        """Record one run's trainable flag: a constructor writes one for all its runs."""
        if self.trainable is not None and self.trainable != trainable:
            raise Unstructured("a layer frozen in some runs of a statement and not in others")
        self.trainable = trainable

    def render(self, prefix_var: str | None) -> str:
        items = [
            (f"{kw}=" if kw else "") + hole.render(self.literal)
            for kw, hole in self.args
            if (hole.present or kw is None) and kw not in self.extra
        ]
        if self.trainable is False:
            items.append("trainable=False")
        items += [f"{kw}={code}" for kw, code in self.extra.items()]
        if self.name is not None and not self.name.auto:
            items.append("name=" + self.name.render(prefix_var))
        return f"{self.func}({', '.join(items)})"


Piece: TypeAlias = "str | NameHole | Ctor"


# -- statements -------------------------------------------------------------------------------
@dataclass(eq=False)
class Line:
    pieces: list[Any]
    assigns: str | None = None  # the variable a plain assignment binds
    pure: bool = False  # no call: dropped when its variable is never read
    optional: NameHole | None = None  # dropped when this name was never used (shared layers)


@dataclass(eq=False)
class For:
    targets: list[str]
    iterable: str
    simple: bool  # `for i in range(n)`: i is the iteration index
    counter: str  # the enumerate() variable, when a name needs the index and `simple` is false
    body: list[Node] = field(default_factory=list)
    used_counter: bool = False

    def index_var(self) -> str:
        if self.simple:
            return self.targets[0]
        self.used_counter = True
        return self.counter


@dataclass(eq=False)
class If:
    test: str
    body: list[Node] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)
    taken: set[bool] = field(default_factory=set)


Node: TypeAlias = "Line | For | If"


@dataclass(eq=False)
class Function:
    """A generated function: `build_model()`, `build_encoder()`, or one per block."""

    name: str
    params: list[str]
    doc: str
    prefix_var: str | None = None  # the parameter carrying a block instance's name
    body: list[Node] = field(default_factory=list)
    nodes: dict[Any, Any] = field(default_factory=dict)  # statement key -> node or hole

    def lines(self) -> list[str]:
        """The body as formatted source lines (4-space indents relative to the def)."""
        raw = self._render(self.body, 0)
        loaded = _loaded_names(raw)
        while True:
            changed = self._prune(self.body, loaded)
            raw = self._render(self.body, 0)
            now = _loaded_names(raw)
            if not changed and now == loaded:
                break
            loaded = now
        out: list[str] = []
        for depth, text in raw:  # the def's own indent counts towards the line length
            out.extend(line[4:] for line in layout(text, 4 * (depth + 1)))
        return out

    def _render(self, nodes: list[Node], depth: int) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        for node in nodes:
            if isinstance(node, Line):
                if node.optional is not None and not node.optional.runs:
                    continue
                text = "".join(
                    p if isinstance(p, str) else p.render(self.prefix_var) for p in node.pieces
                )
                out.append((depth, text))
            elif isinstance(node, For):
                body = self._render(node.body, depth + 1)
                if not body:
                    continue
                targets = ", ".join(node.targets)
                if node.used_counter:
                    targets = (
                        f"{node.counter}, ({targets})"
                        if len(node.targets) > 1
                        else f"{node.counter}, {targets}"
                    )
                    head = f"for {targets} in enumerate({node.iterable}):"
                else:
                    head = f"for {targets} in {node.iterable}:"
                out.append((depth, head))
                out.extend(body)
            else:
                if node.taken == {True, False}:
                    body, orelse = (
                        self._render(node.body, depth + 1),
                        self._render(node.orelse, depth + 1),
                    )
                    if not body and not orelse:
                        continue
                    out.append((depth, f"if {node.test}:" if body else f"if not ({node.test}):"))
                    out.extend(body or orelse)
                    if body and orelse:
                        out.append((depth, "else:"))
                        out.extend(orelse)
                else:  # decided the same way every time: the branch taken, written out
                    out.extend(
                        self._render(node.body if True in node.taken else node.orelse, depth)
                    )
        return out

    def _prune(self, nodes: list[Node], loaded: set[str]) -> bool:
        """Drop assignments nobody reads (ruff's F841) and mark unused loop variables (B007)."""
        changed = False
        for node in list(nodes):
            if isinstance(node, Line) and node.assigns is not None and node.assigns not in loaded:
                if node.pure:
                    nodes.remove(node)
                else:
                    node.pieces = node.pieces[2:]  # "x", " = ", call... -> call...
                    node.assigns = None
                changed = True
            elif isinstance(node, For):
                changed |= self._prune(node.body, loaded)
                for i, target in enumerate(node.targets):
                    if target not in loaded and not target.startswith("_"):
                        node.targets[i] = "_" + target
                        changed = True
            elif isinstance(node, If):
                changed |= self._prune(node.body, loaded) | self._prune(node.orelse, loaded)
        return changed


def _loaded_names(lines: list[tuple[int, str]]) -> set[str]:
    """Every name the rendered body reads, found by parsing it."""
    text = "\n".join("    " * depth + line for depth, line in lines) or "pass"
    tree = ast.parse(text)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


# -- layout -----------------------------------------------------------------------------------
def layout(text: str, indent: int) -> list[str]:
    """One statement, broken the way `ruff format` keeps it when it is too long for a line.

    A long call or collection is split one item per line with a trailing comma (which
    ruff's "magic trailing comma" then keeps); items keep the text they were rendered with,
    so quoting is untouched. Offsets are UTF-8 bytes, as `ast` counts them.
    """
    pad = " " * indent
    if len(pad) + len(text) <= LINE_LENGTH:
        return [pad + text]
    source = text + ("\n    pass" if text.endswith(":") else "")
    node = _split_point(ast.parse(source).body[0])
    raw = text.encode()
    if node is None or not _bracketed(node, raw):
        return [pad + text]
    assert node.end_col_offset is not None
    return _explode(raw, node, indent, raw[: node.col_offset], raw[node.end_col_offset :])


def _split_point(stmt: ast.stmt) -> ast.expr | None:
    """The bracket to open: the constructor in `x = Layer(...)(x)`, else the outermost one."""
    value: ast.expr | None = None
    if isinstance(stmt, ast.Assign | ast.Expr | ast.Return):
        value = stmt.value
    elif isinstance(stmt, ast.For):
        value = stmt.iter
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Call):
        return value.func
    if isinstance(value, ast.Tuple) and value.elts:  # `return x, {...}`: open the last item
        return value.elts[-1]
    return value


def _bracketed(node: ast.expr, raw: bytes) -> bool:
    if isinstance(node, ast.Call):
        return True
    if isinstance(node, ast.Tuple):
        return raw[node.col_offset : node.col_offset + 1] == b"("
    return isinstance(node, ast.List | ast.Dict)


def _explode(raw: bytes, node: ast.expr, indent: int, lead: bytes, trail: bytes) -> list[str]:
    """`lead head(` + one item per line + `)trail`; items still too long are opened in turn."""
    assert node.end_col_offset is not None
    opening = node.func.end_col_offset if isinstance(node, ast.Call) else node.col_offset
    assert opening is not None
    items = _items(node, raw)
    if not items:
        return [" " * indent + (lead + raw[node.col_offset : node.end_col_offset] + trail).decode()]
    pad = " " * (indent + 4)
    out = [" " * indent + (lead + raw[node.col_offset : opening + 1]).decode()]
    for prefix, value in items:
        assert value.end_col_offset is not None
        line = (prefix + raw[value.col_offset : value.end_col_offset] + b",").decode()
        if len(pad) + len(line) > LINE_LENGTH and _bracketed(value, raw):
            out.extend(_explode(raw, value, indent + 4, prefix, b","))
        else:
            out.append(pad + line)
    out.append(" " * indent + (raw[node.end_col_offset - 1 : node.end_col_offset] + trail).decode())
    return out


def _items(node: ast.expr, raw: bytes) -> list[tuple[bytes, ast.expr]]:
    if isinstance(node, ast.Call):
        items = [(b"", a) for a in node.args]
        return items + [((f"{k.arg}=" if k.arg else "**").encode(), k.value) for k in node.keywords]
    if isinstance(node, ast.List | ast.Tuple):
        return [(b"", e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return [
            (raw[k.col_offset : k.end_col_offset] + b": " if k is not None else b"**", v)
            for k, v in zip(node.keys, node.values, strict=True)
        ]
    return []
