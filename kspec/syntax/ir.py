"""The IR: frozen dataclasses recording what the user wrote. The checker decides what it means.

Spans stay out of `==` and `repr`, so two spellings of one spec give equal IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from kspec.source import NO_SPAN, Span


def span_field() -> Any:
    return field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


# -- expressions ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Literal:
    """int, float, str, bool or None, as written."""

    value: int | float | str | bool | None
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Name:
    id: str
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class TupleExpr:
    items: tuple[Expr, ...]
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class DictExpr:
    items: tuple[tuple[str, Expr], ...]
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+", "not"
    operand: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # arithmetic, comparison, "and", "or"
    left: Expr
    right: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Cond:
    body: Expr
    test: Expr
    orelse: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Arg:
    name: str | None  # None when positional
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Call:
    """`Name(args)`: a layer, block, builtin, loader or Keras object; the checker resolves it."""

    func: str
    args: tuple[Arg, ...]
    span: Span = span_field()
    func_span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Index:
    obj: Expr
    index: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Slice:
    lower: Expr | None
    upper: Expr | None
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Attr:
    obj: Expr
    name: str
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Chain:
    """`a -> B() -> C()`: the first item is a source or a step; the rest are steps."""

    items: tuple[Expr, ...]
    span: Span = span_field()


Expr: TypeAlias = (
    Literal
    | Name
    | TupleExpr
    | ListExpr
    | DictExpr
    | Unary
    | Binary
    | Cond
    | Call
    | Index
    | Slice
    | Attr
    | Chain
)


# -- statements -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Input:
    name: str
    shape: Expr | None  # None in blocks: shapes are inferred where the block is used
    dtype: str | None = None
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Bind:
    targets: tuple[str, ...]
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Output:
    name: str | None
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class ChainStmt:
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class SharedLayer:
    name: str
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class ForLoop:
    targets: tuple[str, ...]
    iterable: Expr
    body: tuple[Stmt, ...]
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class IfElse:
    test: Expr
    body: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]
    span: Span = span_field()


Stmt: TypeAlias = Input | Bind | Output | ChainStmt | SharedLayer | ForLoop | IfElse


# -- top level --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Param:
    name: str
    default: Expr | None
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Model:
    name: str
    body: tuple[Stmt, ...]
    span: Span = span_field()
    name_span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Block:
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    span: Span = span_field()
    name_span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Phase:
    """`phase NAME { ... }` at the end of train: a later stage of training with its own fields."""

    name: str
    fields: tuple[Field, ...]
    span: Span = span_field()
    name_span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Section:
    kind: str  # "data" or "train"
    fields: tuple[Field, ...]
    phases: tuple[Phase, ...] = ()  # train only, in order
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Const:
    name: str
    value: Expr
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Import:
    path: str
    span: Span = span_field()


@dataclass(frozen=True, slots=True)
class Use:
    target: str  # "package.module:Class"
    alias: str | None
    span: Span = span_field()

    @property
    def bound_name(self) -> str:
        return self.alias or self.target.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


Item: TypeAlias = Model | Block | Section | Const | Import | Use


@dataclass(frozen=True, slots=True)
class Spec:
    items: tuple[Item, ...]
    path: str = field(default="", compare=False, repr=False)
