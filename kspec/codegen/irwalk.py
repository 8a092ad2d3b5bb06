"""Questions the code generator asks of IR expressions and statements, answered by walking them."""

from __future__ import annotations

from typing import Any

from kspec.check.evaluate import Skip
from kspec.check.values import is_step, is_tensors
from kspec.codegen.pynames import Names
from kspec.syntax import ir


def head_vars(em: Any, e: ir.Expr) -> list[str]:
    """The variables a chain's head names: `x` in `x -> ...`, `a, b` in `[a, b] -> ...`."""
    items = e.items if isinstance(e, ir.ListExpr | ir.TupleExpr) else (e,)
    scope = em.frame.scope.locals
    return [em.frame.names.var(i.id) for i in items if isinstance(i, ir.Name) and i.id in scope]


def uses_current(body: tuple[ir.Stmt, ...], scope: Any) -> bool:
    """Whether a loop body continues the chain from the current tensor (a bare step)."""

    def starts_with_step(e: Any) -> bool:
        if isinstance(e, ir.Chain):
            return starts_with_step(e.items[0])
        if isinstance(e, ir.Cond):
            return True
        if isinstance(e, ir.Call):
            return True  # a layer or block call; builtins do not make statements
        return isinstance(e, ir.Name) and is_step(scope.lookup(e.id))

    for s in body:
        match s:
            case ir.Bind(_, value) | ir.ChainStmt(value) | ir.Output(_, value):
                if starts_with_step(value):
                    return True
            case ir.ForLoop(_, _, inner):
                if uses_current(inner, scope):
                    return True
            case ir.IfElse(_, inner, orelse):
                if uses_current(inner, scope) or uses_current(orelse, scope):
                    return True
    return False


def one(target: list[str]) -> str | None:
    return target[0] if len(target) == 1 else None


def names_in(e: Any) -> set[str]:
    out: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, ir.Name):
            out.add(node.id)
        elif isinstance(node, ir.Call):
            for a in node.args:
                walk(a.value)
        elif isinstance(node, ir.DictExpr):
            for _, v in node.items:
                walk(v)
        elif isinstance(node, tuple):
            for item in node:
                walk(item)
        elif hasattr(node, "__dataclass_fields__"):
            for name in node.__dataclass_fields__:
                if name != "span":
                    walk(getattr(node, name))

    walk(e)
    return out


def has_chain(e: Any) -> bool:
    if isinstance(e, ir.Chain):
        return True
    if isinstance(e, ir.Cond):
        return has_chain(e.body) or has_chain(e.orelse)
    if isinstance(e, ir.ListExpr | ir.TupleExpr):
        return any(has_chain(i) for i in e.items)
    return False


def makes_tensors(em: Any, e: ir.Cond) -> bool:
    try:
        result = em.eval(e)
    except Skip:
        return False
    return bool(is_step(result) or is_tensors(result))


def reserve(names: Names, body: tuple[ir.Stmt, ...]) -> None:
    """Give the body's own names their identifiers first, so helper variables avoid them."""
    for s in body:
        match s:
            case ir.Input(name) | ir.SharedLayer(name):
                names.var(name)
            case ir.Bind(targets):
                for t in targets:
                    names.var(t)
            case ir.Output(name):
                if name:
                    names.var(name)
            case ir.ForLoop(targets, _, inner):
                for t in targets:
                    names.var(t)
                reserve(names, inner)
            case ir.IfElse(_, inner, orelse):
                reserve(names, inner)
                reserve(names, orelse)
