"""Spec values -> IR expressions: how a written spec spells a number, a name, a Keras object
or a layer call. Used by kspec/interop/emit.py, which writes whole models.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from kspec.catalog import GenericLayer, KerasObject, LayerSpec
from kspec.codes import Code
from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import NO_SPAN
from kspec.syntax import ir

KEYWORDS = frozenset(
    {
        "model",
        "block",
        "import",
        "use",
        "as",
        "input",
        "output",
        "layer",
        "for",
        "in",
        "if",
        "else",
        "and",
        "or",
        "not",
        "true",
        "false",
        "none",
        "data",
        "train",
    }
)
BUILTINS = frozenset({"range", "len", "min", "max", "int", "float", "abs", "round", "sum", "str"})


def emit_error(message: str, help: str | None = None, code: Code = "cannot-import") -> KspecError:
    return KspecError([Diagnostic(code, message, NO_SPAN, help=help)])


def number(value: int | float) -> ir.Expr:
    if isinstance(value, float) and not math.isfinite(value):
        raise emit_error(f"{value} cannot be written in a spec")
    if value < 0 or (isinstance(value, float) and math.copysign(1, value) < 0):
        return ir.Unary("-", ir.Literal(-value))
    return ir.Literal(value)


class Values:
    """Spec values -> expressions; strings become bare symbols unless the name is taken."""

    def __init__(self, taken: Iterable[str] = ()):
        self.taken = set(taken)

    def expr(self, value: Any) -> ir.Expr:
        match value:
            case None | bool():
                return ir.Literal(value)
            case int() | float():
                return number(value)
            case str():
                if _is_symbol(value) and value not in self.taken:
                    return ir.Name(value)
                return ir.Literal(value)
            case tuple():
                return ir.TupleExpr(tuple(self.expr(v) for v in value))
            case list():
                return ir.ListExpr(tuple(self.expr(v) for v in value))
            case dict():
                if not all(isinstance(k, str) for k in value):
                    raise emit_error(f"a dict with keys that are not strings: {value!r}")
                return ir.DictExpr(tuple((k, self.expr(v)) for k, v in value.items()))
            case KerasObject(name, args, kwargs):
                items = [ir.Arg(None, self.expr(a)) for a in args]
                items += [ir.Arg(k, self.expr(v)) for k, v in kwargs]
                return ir.Call(name, tuple(items))
            case LayerSpec():
                return self.layer_call(value)
        raise emit_error(f"cannot write {type(value).__name__} {value!r} in a spec")

    def layer_call(self, spec: LayerSpec, extra: tuple[ir.Arg, ...] = ()) -> ir.Call:
        """`Conv2D(32, 3, activation=relu)`: required arguments by position, the rest by name."""
        if isinstance(spec, GenericLayer):
            args = [ir.Arg(None, self.expr(a)) for a in spec.args]
            args += [ir.Arg(k, self.expr(v)) for k, v in spec.kwargs]
            return ir.Call(spec.class_name, (*args, *extra))
        kwargs = spec.keras_kwargs()
        params = spec.params()
        args = []
        for name in spec.positional:
            if name not in kwargs or not params[name].required:
                break
            args.append(ir.Arg(None, self.expr(_short(kwargs.pop(name), params[name].convert))))
        for name, value in kwargs.items():
            args.append(ir.Arg(name, self.expr(_short(value, params[name].convert))))
        return ir.Call(spec.layer_name(), (*args, *extra))


def _short(value: Any, convert: Any) -> Any:
    """`3` for `(3, 3)` where the argument's converter widens one number to the tuple."""
    if isinstance(value, tuple) and value and convert is not None and len(set(value)) == 1:
        try:
            if convert(value[0]) == value:
                return value[0]
        except Exception:  # the converter refuses a scalar: keep the tuple
            return value
    return value


def _is_symbol(text: str) -> bool:
    return text.isidentifier() and text.isascii() and text not in KEYWORDS | BUILTINS


def strings_in(value: Any) -> set[str]:
    """Every string inside a value: the names a variable must not shadow."""
    match value:
        case str():
            return {value}
        case tuple() | list():
            return set().union(*(strings_in(v) for v in value)) if value else set()
        case dict():
            return set(value) | strings_in(list(value.values()))
        case KerasObject(name, args, kwargs):
            return {name} | strings_in(list(args)) | strings_in([v for _, v in kwargs])
        case GenericLayer():
            return strings_in(list(value.args)) | strings_in([v for _, v in value.kwargs])
        case LayerSpec():
            return strings_in(list(value.keras_kwargs().values()))
    return set()
