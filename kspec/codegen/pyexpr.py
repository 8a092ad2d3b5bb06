"""Spec expressions as Python expressions, for what the script must compute where it runs.

Loop iterables, conditions, block arguments and arguments that depend on a loop variable or a
block parameter are written as expressions over the script's own variables. Spec and Python
agree on arithmetic, comparisons, `and`/`or`/`not`, conditionals, indexing and slicing; a bare
unbound name is the string of its spelling; `t.shape` leaves out the batch axis, as in a spec.
Parentheses follow Python's precedence, and spacing follows `ruff format` (`2**i`, `x[i + 1 :]`).
"""

from __future__ import annotations

from typing import Any

from kspec.catalog import KerasObject, LayerSpec
from kspec.catalog.names import KERAS_OBJECTS
from kspec.check.evaluate import BUILTINS
from kspec.check.graph import Tensor
from kspec.check.values import LayerStep, SharedRef
from kspec.codegen.pycode import Unstructured
from kspec.codegen.pyliteral import py_literal
from kspec.syntax import ir

COND, OR, AND, NOT, COMPARE, ARITH, TERM, UNARY, POWER, PRIMARY, ATOM = (
    1,
    2,
    3,
    4,
    5,
    10,
    11,
    12,
    13,
    15,
    16,
)
BINARY = {
    "or": OR,
    "and": AND,
    "+": ARITH,
    "-": ARITH,
    "*": TERM,
    "/": TERM,
    "//": TERM,
    "%": TERM,
    "**": POWER,
    **{op: COMPARE for op in ("==", "!=", "<", ">", "<=", ">=")},
}


class Translator:
    """Writes IR expressions over an Emitter's current scope."""

    def __init__(self, emitter: Any):
        self.em = emitter

    def code(self, e: ir.Expr, minimum: int = 0) -> str:
        text, prec = self.expr(e)
        return f"({text})" if prec < minimum else text

    def expr(self, e: ir.Expr) -> tuple[str, int]:
        match e:
            case ir.Literal(value):
                text = py_literal(value)
                return text, UNARY if text.startswith("-") else ATOM
            case ir.Name(id):
                return self.name(id), ATOM
            case ir.TupleExpr(items):
                inner = [self.code(i, COND) for i in items]
                return (
                    "(" + inner[0] + ",)" if len(inner) == 1 else "(" + ", ".join(inner) + ")"
                ), ATOM
            case ir.ListExpr(items):
                return "[" + ", ".join(self.code(i, COND) for i in items) + "]", ATOM
            case ir.DictExpr(items):
                pairs = [f"{py_literal(k)}: {self.code(v, COND)}" for k, v in items]
                return "{" + ", ".join(pairs) + "}", ATOM
            case ir.Unary("not", operand):
                return "not " + self.code(operand, NOT), NOT
            case ir.Unary(op, operand):
                return op + self.code(operand, PRIMARY), UNARY
            case ir.Binary(op, left, right):
                return self.binary(op, left, right)
            case ir.Cond(body, test, orelse):
                then, cond, other = (
                    self.code(body, OR),
                    self.code(test, OR),
                    self.code(orelse, COND),
                )
                return f"{then} if {cond} else {other}", COND
            case ir.Call():
                return self.call(e), PRIMARY
            case ir.Index(obj, ir.Slice(lower, upper)):
                lo = self.code(lower, COND) if lower is not None else ""
                hi = self.code(upper, COND) if upper is not None else ""
                simple = all(_simple(p) for p in (lo, hi) if p)
                sep = ":" if simple else (" : " if lo and hi else (" :" if lo else ": "))
                return f"{self.code(obj, PRIMARY)}[{lo}{sep}{hi}]", PRIMARY
            case ir.Index(ir.Attr(tensor, "shape"), index) if _axis(
                index
            ) is not None and isinstance(self.em.eval(tensor), Tensor):
                # A spec's shapes leave out the batch axis, a Keras tensor's do not.
                k = _axis(index)
                assert k is not None
                return f"{self.code(tensor, PRIMARY)}.shape[{k + 1 if k >= 0 else k}]", PRIMARY
            case ir.Index(obj, index):
                return f"{self.code(obj, PRIMARY)}[{self.code(index, COND)}]", PRIMARY
            case ir.Attr(obj, "shape") if isinstance(self.em.eval(obj), Tensor):
                return f"{self.code(obj, PRIMARY)}.shape[1:]", PRIMARY
        raise Unstructured(f"cannot write {type(e).__name__} as Python here")

    def binary(self, op: str, left: ir.Expr, right: ir.Expr) -> tuple[str, int]:
        prec = BINARY[op]
        if op == "**":  # right-associative; a unary or power on the left needs parentheses
            lhs, rhs = self.code(left, PRIMARY), self.code(right, UNARY)
            joiner = "**" if _simple(lhs) and _simple(rhs.lstrip("-+")) else " ** "
            return lhs + joiner + rhs, POWER
        if prec == COMPARE:  # spec comparisons do not chain
            return f"{self.code(left, COMPARE + 1)} {op} {self.code(right, COMPARE + 1)}", COMPARE
        return f"{self.code(left, prec)} {op} {self.code(right, prec + 1)}", prec

    def name(self, id: str) -> str:
        frame = self.em.frame
        scope = frame.scope
        if id in scope.locals:
            value = scope.locals[id]
            if isinstance(value, Tensor) or (
                isinstance(value, list) and value and all(isinstance(t, Tensor) for t in value)
            ):
                return str(self.em.code_of(value))
            if isinstance(value, LayerStep | SharedRef):
                raise Unstructured("a layer used as a value")
            return str(frame.names.var(id))
        if id not in scope.globals:
            return py_literal(id)  # a symbol: `relu` is "relu"
        value = scope.globals[id]
        constant = self.em.module.constant(id, value)
        if constant is not None:
            return str(constant)
        if isinstance(value, LayerStep):
            value = value.spec
        if _plain(value):
            return py_literal(self.em.module.classes.literal(value))
        raise Unstructured(f"'{id}' is not a plain value")

    def call(self, e: ir.Call) -> str:
        frame = self.em.frame
        bound = e.func in frame.scope.locals or e.func in frame.scope.globals
        if e.func in BUILTINS and not bound:
            if any(a.name is not None for a in e.args):
                raise Unstructured("keyword arguments to a builtin")
            if e.func == "str" and not all(_same_str(self.em.eval(a.value)) for a in e.args):
                raise Unstructured("str() spells none, true and tuples the spec's way")
            return f"{e.func}({', '.join(self.code(a.value, COND) for a in e.args)})"
        value = self.em.eval(e)
        if isinstance(value, LayerStep) and not self.em.uses_locals(e):
            return py_literal(self.em.module.classes.literal(value.spec))
        if isinstance(value, KerasObject) and value.name in KERAS_OBJECTS:
            func = self.em.module.classes.keras_object(value.name)
            args = [
                self.code(a.value, COND)
                if a.name is None
                else f"{a.name}={self.code(a.value, COND)}"
                for a in e.args
            ]
            return f"{func}({', '.join(args)})"
        raise Unstructured(f"cannot call {e.func} where the script runs")


def _simple(text: str) -> bool:
    """ruff's simple power operand: a name, a number or a dotted name."""
    if all(part.isidentifier() for part in text.split(".")):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return text[:1].isdigit()


def _axis(index: ir.Expr) -> int | None:
    """An integer written as an index: `1`, `-1`."""
    if isinstance(index, ir.Unary) and index.op == "-":
        inner = _axis(index.operand)
        return -inner if inner is not None else None
    if isinstance(index, ir.Literal) and isinstance(index.value, int):
        return None if isinstance(index.value, bool) else index.value
    return None


def _same_str(value: Any) -> bool:
    """Values that Python's str() spells as the spec's str() does."""
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str | LayerSpec | KerasObject):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    return False


class _FileLevel:
    """Just enough of an Emitter for Translator: a file's own names, outside any model."""

    def __init__(self, names: dict[str, Any], constant: Any, classes: Any):
        from types import SimpleNamespace

        from kspec.check.evaluate import Scope

        self.frame = SimpleNamespace(scope=Scope(names), names=None)
        self.module = SimpleNamespace(constant=constant, classes=classes)

    def eval(self, e: ir.Expr) -> Any:
        from kspec.check.evaluate import Evaluator
        from kspec.diagnostics import Diagnostics

        return Evaluator(Diagnostics(), self.frame.scope).eval(e)

    def uses_locals(self, e: ir.Expr) -> bool:
        return False

    def code_of(self, value: Any, prefer: Any = ()) -> str:
        raise Unstructured("no tensors outside a model")


def file_expression(
    e: ir.Expr, value: Any, names: dict[str, Any], constant: Any, classes: Any
) -> str | None:
    """The spec's own spelling of a file-level value (`1 / 255`, `UNITS * 2`), when it still means
    `value` (an override replaced it otherwise); None for plain literals."""
    from kspec.check.evaluate import Skip

    if isinstance(e, ir.Literal | ir.Call | ir.Chain) or not _arithmetic(e):
        return None
    level = _FileLevel(names, constant, classes)
    try:
        same = level.eval(e)
        if same != value or type(same) is not type(value):
            return None
        return Translator(level).code(e)
    except (Unstructured, Skip):
        return None


def _arithmetic(e: Any) -> bool:
    """Numbers, names, tuples and lists combined with operators: what reads better as written."""
    match e:
        case ir.Literal(value):
            return isinstance(value, int | float) and not isinstance(value, bool)
        case ir.Name():
            return True
        case ir.Unary(_, operand):
            return _arithmetic(operand)
        case ir.Binary(_, left, right):
            return _arithmetic(left) and _arithmetic(right)
        case ir.TupleExpr(items) | ir.ListExpr(items):
            return all(_arithmetic(i) for i in items)
        case ir.Index(obj, index):
            return _arithmetic(obj) and _arithmetic(index)
    return False
