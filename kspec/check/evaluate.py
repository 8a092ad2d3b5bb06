"""Compile-time evaluation of spec expressions: constants, operators, builtins, calls.

Every error is recorded as a diagnostic and then `Skip` is raised, so the caller abandons
only the statement that depends on the broken value and goes on checking the rest.
"""

from __future__ import annotations

import contextlib
import math
import operator
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

from kspec.catalog import (
    ALIASES,
    APPLICATIONS,
    CATALOG,
    KSPEC_STEPS,
    GenericLayer,
    KerasObject,
    LayerSpec,
    ParamError,
    lookup,
)
from kspec.catalog import names as keras_names
from kspec.catalog.base import CALL_OPTIONS, STEP_ARGUMENTS, describe
from kspec.catalog.datasets import LOADERS
from kspec.catalog.opbase import OPERATORS, OpSpec
from kspec.check import ops as check_ops
from kspec.check.graph import Tensor
from kspec.check.ops import operator_op
from kspec.check.values import (
    BlockDef,
    BlockRef,
    LayerStep,
    ModelDef,
    Options,
    SharedRef,
    UseDef,
    describe_value,
    is_tensors,
)
from kspec.codes import Code
from kspec.diagnostics import Diagnostics, suggest
from kspec.limits import MAX_DIGITS, MAX_ITEMS, MAX_WORK
from kspec.source import Span
from kspec.syntax import ir

BUILTINS = ("range", "len", "min", "max", "int", "float", "abs", "round", "sum", "str")


class Skip(Exception):
    """A diagnostic has been recorded; abandon the current statement."""


class Budget:
    """The work one check may do (limits.MAX_WORK); once spent or stopped, nothing more runs."""

    def __init__(self) -> None:
        self.used = 0
        self.stopped = False  # a limit was hit and reported: every later statement is skipped


_BUDGET: ContextVar[Budget | None] = ContextVar("kspec_budget", default=None)


@contextlib.contextmanager
def work_budget() -> Iterator[Budget]:
    """One budget for every evaluator of a check, however many files and blocks it spans."""
    token = _BUDGET.set(Budget())
    try:
        yield _BUDGET.get()  # type: ignore[misc]
    finally:
        _BUDGET.reset(token)


TOO_BIG_INT = 10**MAX_DIGITS

# Layer specs made from plain arguments, by class and typed arguments: a spec is a frozen value
# of exactly those, and checking a big spec again (the language server, on every edit) makes the
# same few thousands times. Only successful creations are kept; errors are reported afresh.
_CREATED: dict[tuple[Any, ...], Any] = {}
_CREATED_MAX = 4096
_PLAIN = (int, str, bool, type(None))


def _created_key(cls: type, args: list[Any], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """What `cls.create(args, kwargs)` depends on, with each value's type (1, 1.0 and true
    are equal in Python, and -0.0 equals 0.0), or None for a value that is not plain data."""
    parts: list[Any] = [cls]
    for value in args:
        typed = _typed(value)
        if typed is None:
            return None
        parts.append(typed)
    for name, value in kwargs.items():
        typed = _typed(value)
        if typed is None:
            return None
        parts.append((name, typed))
    return tuple(parts)


def _typed(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return (kind, value)
    if kind is float:
        return (float, repr(value))
    if kind is tuple:
        items = tuple(_typed(v) for v in value)
        return None if None in items else (tuple, items)
    return None


class Poison:
    """Bound to names whose statement failed, so later uses do not report again."""


POISON = Poison()


@dataclass
class Scope:
    """Names visible to an expression: locals (model/block body), then file globals."""

    globals: dict[str, Any]
    locals: dict[str, Any] = field(default_factory=dict)

    def lookup(self, name: str) -> Any:
        if name in self.locals:
            return self.locals[name]
        return self.globals.get(name, _MISSING)

    def names(self) -> list[str]:
        return [*self.locals, *self.globals]


_MISSING = object()

_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def spec_text(value: Any) -> str:
    """A value as spec source would write it (for messages and block-call notes)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value if value.isidentifier() else '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        inner = ", ".join(spec_text(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(spec_text(v) for v in value) + "]"
    if isinstance(value, Tensor):
        return value.label or "<tensor>"
    return repr(value)


def block_scope(ref: BlockRef, globals_: dict[str, Any], diags: Diagnostics) -> Scope:
    """The scope a block instance's body runs in: its file's globals and its bound parameters.

    Defaults are evaluated in order, so a default may read the parameters before it.
    """
    scope = Scope(globals_)
    evaluator = Evaluator(diags, scope)
    bound = dict(ref.args)
    for p in ref.block.params:
        if p.name in bound:
            scope.locals[p.name] = bound[p.name]
        elif p.default is not None:
            scope.locals[p.name] = evaluator.eval(p.default)
    return scope


class Evaluator:
    """Evaluates expressions in a scope. Chains need a model: ModelChecker overrides them."""

    def __init__(self, diags: Diagnostics, scope: Scope):
        self.diags = diags
        self.scope = scope
        self.budget = _BUDGET.get() or Budget()

    def error(self, message: str, span: Span, code: Code, help: str | None = None) -> Skip:
        self.diags.error(message, span, code=code, help=help)
        return Skip()

    def stop(self, message: str, span: Span, code: Code, help: str | None = None) -> Skip:
        """A limit is passed: report it here and run nothing more of this check."""
        self.budget.stopped = True
        return self.error(message, span, code, help)

    def spend(self, work: int, span: Span) -> None:
        """Count `work` (statements run, items built) against limits.MAX_WORK."""
        if self.budget.stopped:
            raise Skip()
        self.budget.used += work
        if self.budget.used > MAX_WORK:
            raise self.stop(
                f"checking this spec takes more than {MAX_WORK:,} steps; stopped here",
                span,
                "too-large",
                help="a loop or a repetition unrolls too far; make it smaller",
            )

    def sized(self, value: Any, span: Span) -> Any:
        """`value` if it is within the item and digit limits; it counts as work done."""
        if isinstance(value, int) and not isinstance(value, bool):
            if not -TOO_BIG_INT < value < TOO_BIG_INT:
                raise self.error(
                    f"this number has more than {MAX_DIGITS} digits", span, "out-of-range"
                )
        elif isinstance(value, tuple | list | str | dict):
            size = deep_size(value)
            if size > MAX_ITEMS:
                what = {str: "string", tuple: "tuple", list: "list", dict: "dict"}[type(value)]
                raise self.error(
                    f"this {what} would hold more than {MAX_ITEMS:,} items",
                    span,
                    "out-of-range",
                )
            self.spend(1 + size // 16, span)
        return value

    # -- expressions ------------------------------------------------------------------
    def eval(self, e: ir.Expr) -> Any:
        # The common nodes first (the same tests as the match below, which walks its cases)
        if isinstance(e, ir.Call):
            return self.call(e)
        if isinstance(e, ir.Name):
            return self.name(e.id, e.span)
        if isinstance(e, ir.Chain):
            return self.chain(e)
        match e:
            case ir.Literal(value):
                return self.sized(value, e.span) if isinstance(value, int) else value
            case ir.Name(id):
                return self.name(id, e.span)
            case ir.TupleExpr(items):
                return self.sized(tuple(self.eval(i) for i in items), e.span)
            case ir.ListExpr(items):
                return self.sized([self.eval(i) for i in items], e.span)
            case ir.DictExpr(items):
                return self.sized({k: self.eval(v) for k, v in items}, e.span)
            case ir.Unary(op, operand):
                return self.unary(op, self.eval(operand), e)
            case ir.Binary("and", left, right):
                return self.eval(left) and self.eval(right)
            case ir.Binary("or", left, right):
                return self.eval(left) or self.eval(right)
            case ir.Binary(op, left, right):
                return self.binary(op, self.eval(left), self.eval(right), e)
            case ir.Cond(body, test, orelse):
                return self.eval(body) if self.truth(self.eval(test), test) else self.eval(orelse)
            case ir.Call():
                return self.call(e)
            case ir.Index(obj, index):
                return self.index(self.eval(obj), index, e)
            case ir.Slice():
                raise self.error("a slice is only allowed inside [...]", e.span, "misplaced-slice")
            case ir.Attr(obj, name):
                return self.attr(self.eval(obj), name, e)
            case ir.Chain():
                return self.chain(e)
            case _:
                raise AssertionError(f"unhandled expression {e!r}")

    def name(self, id: str, span: Span) -> Any:
        value = self.scope.lookup(id)
        if value is POISON:
            raise Skip()
        if value is _MISSING:
            return id  # an unbound name is a symbol: `relu` is "relu"
        return value

    def chain(self, e: ir.Chain) -> Any:
        raise self.error(
            "a chain of layers is only allowed inside a model or block", e.span, "misplaced-chain"
        )

    def truth(self, value: Any, e: ir.Expr) -> bool:
        if isinstance(value, bool | int | float | str | tuple | list | dict) or value is None:
            return bool(value)
        raise self.error(f"expected a condition, got {describe_value(value)}", e.span, "wrong-kind")

    def unary(self, op: str, value: Any, e: ir.Unary) -> Any:
        if op == "not":
            return not self.truth(value, e.operand)
        if isinstance(value, Tensor):
            if op == "+":
                return value
            return self.apply_op(operator_op("neg"), [value], {}, e.span, operator=True)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(
                f"'{op}' needs a number, got {describe_value(value)}", e.span, "wrong-kind"
            )
        return -value if op == "-" else value

    def binary(self, op: str, left: Any, right: Any, e: ir.Binary) -> Any:
        if isinstance(left, Tensor) or isinstance(right, Tensor):
            if op not in OPERATORS:
                raise self.error(
                    f"'{op}' cannot compare tensors in a spec",
                    e.span,
                    "wrong-kind",
                    help="compare shapes instead (x.shape[-1] == 64); "
                    "ops.where(condition, a, b) chooses between tensors",
                )
            return self.apply_op(operator_op(op), [left, right], {}, e.span, operator=True)
        if op == "**" and _too_big_power(left, right):
            raise self.error("this power is too large to compute", e.span, "out-of-range")
        built = _items_built(op, left, right)  # before anything is: [1] * 10 ** 10
        if built is not None and built[1] > MAX_ITEMS:
            raise self.error(
                f"this {built[0]} would hold more than {MAX_ITEMS:,} items", e.span, "out-of-range"
            )
        if op == "%" and isinstance(left, str):  # "%0999999999d" % 1 builds a gigabyte
            raise self.error(
                "'%' takes numbers, not strings", e.span, "wrong-kind", help="use str() and +"
            )
        try:
            return self.sized(_ARITH[op](left, right), e.span)
        except ZeroDivisionError:
            raise self.error("division by zero", e.span, "division-by-zero") from None
        except (TypeError, ValueError, OverflowError):
            raise self.error(
                f"'{op}' cannot combine {describe_value(left)} and {describe_value(right)}",
                e.span,
                "wrong-kind",
            ) from None

    def index(self, obj: Any, index: ir.Expr, e: ir.Index) -> Any:
        if isinstance(index, ir.Slice):
            lower = self.eval(index.lower) if index.lower is not None else None
            upper = self.eval(index.upper) if index.upper is not None else None
            for bound in (lower, upper):
                if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
                    raise self.error(
                        f"slice bounds must be integers, got {describe_value(bound)}",
                        index.span,
                        "wrong-kind",
                    )
            if not isinstance(obj, tuple | list | str):
                raise self.error(f"cannot slice {describe_value(obj)}", e.span, "wrong-kind")
            return obj[lower:upper]
        key = self.eval(index)
        if isinstance(obj, dict):
            if key not in obj:
                raise self.error(
                    f"no key {spec_text(key)} in this dict",
                    index.span,
                    "bad-index",
                    help=suggest(str(key), map(str, obj)),
                )
            return obj[key]
        if isinstance(obj, tuple | list | str):
            if isinstance(key, bool) or not isinstance(key, int):
                raise self.error(
                    f"an index must be an integer, got {describe_value(key)}",
                    index.span,
                    "wrong-kind",
                )
            if not -len(obj) <= key < len(obj):
                raise self.error(
                    f"index {key} is out of range for {describe_value(obj)}",
                    index.span,
                    "bad-index",
                )
            return obj[key]
        raise self.error(f"cannot index {describe_value(obj)}", e.span, "wrong-kind")

    def attr(self, obj: Any, name: str, e: ir.Attr) -> Any:
        if isinstance(obj, Tensor) and name == "shape":
            if obj.shape is None:
                raise self.error(
                    "this tensor's shape is not known statically",
                    e.span,
                    "unknown-shape",
                    help="it comes from a layer kspec does not check statically",
                )
            return obj.shape
        if isinstance(obj, Tensor):
            raise self.error(
                f"tensors have no attribute '{name}'",
                e.span,
                "unknown-attribute",
                help="the only tensor attribute is .shape",
            )
        raise self.error(
            f"{describe_value(obj)} has no attribute '{name}'", e.span, "unknown-attribute"
        )

    # -- calls ------------------------------------------------------------------------
    def call(self, e: ir.Call) -> Any:
        if "." in e.func:
            return self.op_call(e)
        target = self.scope.lookup(e.func)
        if target is POISON:
            raise Skip()
        if isinstance(target, BlockDef):
            return self.block_call(target, e)
        if isinstance(target, ModelDef | SharedRef):
            return self.step_call(target, e) if e.args else target
        if isinstance(target, UseDef):
            return self.generic_call(e)
        if target is not _MISSING and not isinstance(target, str):
            raise self.error(
                f"'{e.func}' is {describe_value(target)}, not something to call",
                e.func_span,
                "not-callable",
                help="layers, blocks, models and shared layers are called; "
                f"a tensor flows into a step: {e.func} -> Dense(10)"
                if is_tensors(target)
                else "layers, blocks, models and shared layers are called",
            )
        if e.func in BUILTINS:
            return self.builtin(e)
        if e.func in keras_names.REFUSED_LAYERS:
            raise self.error(
                f"{e.func} runs arbitrary Python code, which a spec cannot do",
                e.func_span,
                "refused-layer",
                help="write a keras.layers.Layer subclass and bring it in with "
                'use "pkg.module:Class"',
            )
        spec_cls = lookup(e.func)
        if spec_cls is not None:
            return self.layer_call(spec_cls, e)
        if e.func in keras_names.KERAS_LAYERS:
            return self.generic_call(e)
        if e.func in keras_names.KERAS_OBJECTS or e.func in LOADERS:
            args, kwargs, _ = self.arguments(e, allow_tensors=False)
            return KerasObject(e.func, tuple(args), tuple(kwargs.items()))
        candidates = [
            *CATALOG,
            *ALIASES,
            *APPLICATIONS,
            *KSPEC_STEPS,
            *keras_names.KERAS_LAYERS,
            *keras_names.KERAS_OBJECTS,
            *BUILTINS,
            *LOADERS,
            *self.scope.names(),
        ]
        own = f'a layer of your own needs `use "package.module:{e.func}"` at the top of the file'
        raise self.error(
            f"unknown layer or function '{e.func}'",
            e.func_span,
            "unknown-name",
            help=suggest(e.func, candidates) or own,
        )

    def op_call(self, e: ir.Call) -> Any:
        """`ops.NAME(...)`: a keras.ops function from the catalog, applied to tensors."""
        cls = check_ops.resolve(e.func)
        if cls is None:
            raise self.error(
                f"unknown operation '{e.func}'",
                e.func_span,
                "unknown-name",
                help=suggest(e.func, check_ops.known_names())
                or "docs/layers.md lists the keras.ops functions a spec may call",
            )
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for a in e.args:
            value = self.eval(a.value)
            if a.name is None:
                if kwargs:
                    raise self.error(
                        "a positional argument cannot follow a keyword argument",
                        a.span,
                        "argument-order",
                    )
                args.append(value)
            elif a.name in kwargs:
                raise self.error(
                    f"argument '{a.name}' is given twice", a.span, "duplicate-argument"
                )
            else:
                kwargs[a.name] = value
        try:
            params, operands = check_ops.bind(cls, args, kwargs)
        except ParamError as err:
            raise self.error(err.message, _arg_span(e, err.arg), err.code, err.help) from None
        return self.apply_op(cls, operands, params, e.span, call=e)

    def apply_op(
        self,
        cls: type[OpSpec],
        operands: list[Any],
        params: dict[str, Any],
        span: Span,
        *,
        operator: bool = False,
        call: ir.Call | None = None,
    ) -> Any:
        """Make an operation node; only a model or block body can (ModelChecker does)."""
        what = f"'{cls.operator}'" if operator else cls.op_name()
        raise self.error(
            f"{what} computes with tensors, which exist only inside a model or block",
            span,
            "misplaced-chain",
        )

    def arguments(
        self, e: ir.Call, *, allow_tensors: bool
    ) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        """Evaluate a call's arguments; tensor-valued keywords are call-time tensors."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        tensors: dict[str, Any] = {}
        for a in e.args:
            value = self.eval(a.value)
            if isinstance(value, LayerStep):
                value = value.spec
            elif isinstance(value, list) and any(isinstance(v, LayerStep) for v in value):
                value = [v.spec if isinstance(v, LayerStep) else v for v in value]  # cells
            if a.name is None:
                if kwargs or tensors:
                    raise self.error(
                        "a positional argument cannot follow a keyword argument",
                        a.span,
                        "argument-order",
                    )
                if is_tensors(value):
                    raise self.error(
                        "a tensor cannot be a positional argument",
                        a.span,
                        "misplaced-tensor",
                        help=_chain_help(e),
                    )
                args.append(value)
                continue
            if a.name in kwargs or a.name in tensors:
                raise self.error(
                    f"argument '{a.name}' is given twice", a.span, "duplicate-argument"
                )
            if is_tensors(value):
                if not allow_tensors:
                    raise self.error(
                        f"'{a.name}' cannot be a tensor here", a.span, "misplaced-tensor"
                    )
                tensors[a.name] = list(value) if isinstance(value, list | tuple) else value
            else:
                kwargs[a.name] = value
        return args, kwargs, tensors

    def generic_call(self, e: ir.Call) -> LayerStep:
        """A layer without a catalog entry (`use`d, or an unchecked keras.layers class)."""
        args, kwargs, tensors = self.arguments(e, allow_tensors=True)
        name = kwargs.pop("name", None)
        trainable, options = self.step_arguments(e, kwargs, CALL_OPTIONS)
        generic = GenericLayer(class_name=e.func, args=tuple(args), kwargs=tuple(kwargs.items()))
        return LayerStep(
            generic, name if isinstance(name, str) else None, tensors, e.span, trainable, options
        )

    def step_arguments(
        self, e: ir.Call, kwargs: dict[str, Any], options: tuple[str, ...]
    ) -> tuple[bool, Options]:
        """Take `trainable=` and the non-tensor call arguments (`training=`, ...) out of kwargs."""
        trainable = True
        if "trainable" in kwargs:
            trainable = self.flag(kwargs.pop("trainable"), e, "trainable", none=False)
        found = tuple(
            (key, self.flag(kwargs.pop(key), e, key, none=key == "training"))
            for key in list(kwargs)
            if key in options
        )
        return trainable, found

    def flag(self, value: Any, e: ir.Call, key: str, *, none: bool) -> Any:
        if isinstance(value, bool) or (none and value is None):
            return value
        raise self.error(
            f"{key} must be true or false, got {describe_value(value)}",
            _arg_span(e, key),
            "wrong-kind",
        )

    def step_call(self, target: ModelDef | SharedRef, e: ir.Call) -> ModelDef | SharedRef:
        """`encoder(trainable=false)`, `base(training=false)`: a named step with call arguments."""
        args, kwargs, tensors = self.arguments(e, allow_tensors=isinstance(target, SharedRef))
        if isinstance(target, SharedRef):
            what = f"shared layer '{target.name}'"
            options = type(target.spec).call_option_names()
            allowed_tensors = (*target.spec.call_tensors,)
        else:
            what = f"model '{target.model.name}'"
            options, allowed_tensors = CALL_OPTIONS, ()
        accepted = [*STEP_ARGUMENTS, *options, *allowed_tensors]
        if args:
            raise self.error(
                f"the {what} is already built: it takes no positional arguments",
                e.args[0].span,
                "too-many-arguments",
                help=f"it takes {', '.join(f'{a}=' for a in accepted)}",
            )
        for key in [*kwargs, *tensors]:
            if key not in accepted or (key in tensors and key not in allowed_tensors):
                raise self.error(
                    f"the {what} has no call argument '{key}'",
                    _arg_span(e, key),
                    "unknown-argument",
                    help=suggest(key, accepted) or f"it takes {', '.join(accepted)}",
                )
        given = "trainable" in kwargs
        trainable, found = self.step_arguments(e, kwargs, options)
        if isinstance(target, SharedRef):
            return replace(
                target,
                trainable=trainable if given else target.trainable,
                options=(*target.options, *found),
                tensors=tensors,
            )
        return replace(
            target,
            trainable=trainable if given else target.trainable,
            options=(*target.options, *found),
        )

    def layer_call(self, spec_cls: type[LayerSpec], e: ir.Call) -> LayerStep:
        args, kwargs, tensors = self.arguments(e, allow_tensors=True)
        name = kwargs.pop("name", None)
        trainable, options = self.step_arguments(e, kwargs, spec_cls.call_option_names())
        if name is not None and not isinstance(name, str):
            raise self.error(
                f"name must be a string, got {describe(name)}", _arg_span(e, "name"), "wrong-kind"
            )
        allowed = (*spec_cls.call_tensors, *spec_cls.call_inputs)
        for key in tensors:
            if key not in allowed:
                help_ = (
                    f"{spec_cls.layer_name()} takes call-time tensors: {', '.join(allowed)}"
                    if allowed
                    else f"feed tensors through the chain: x -> {e.func}(...)"
                )
                raise self.error(
                    f"{spec_cls.layer_name()} has no call argument '{key}' for a tensor",
                    _arg_span(e, key),
                    "misplaced-tensor",
                    help=help_,
                )
        made = _created_key(spec_cls, args, kwargs)
        spec = _CREATED.get(made) if made is not None else None
        if spec is None:
            try:
                spec = spec_cls.create(args, kwargs)
            except ParamError as err:
                raise self.error(err.message, _arg_span(e, err.arg), err.code, err.help) from None
            if made is not None:
                if len(_CREATED) >= _CREATED_MAX:
                    _CREATED.clear()
                _CREATED[made] = spec
        return LayerStep(spec, name, tensors, e.span, trainable, options)

    def block_call(self, target: BlockDef, e: ir.Call) -> BlockRef:
        block = target.block
        args, kwargs, _ = self.arguments(e, allow_tensors=False)
        instance = kwargs.pop("name", None)
        names = [p.name for p in block.params]
        # A block's own parameters win over the step arguments every step takes.
        step_keys = tuple(k for k in (*STEP_ARGUMENTS, *CALL_OPTIONS) if k not in names)
        step_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in step_keys}
        trainable, options = self.step_arguments(e, step_kwargs, CALL_OPTIONS)
        if len(args) > len(names):
            raise self.error(
                f"block {block.name} takes {len(names)} argument"
                f"{'s' if len(names) != 1 else ''}, got {len(args)}",
                e.args[len(names)].span,
                "too-many-arguments",
            )
        bound = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in names:
                raise self.error(
                    f"block {block.name} has no parameter '{key}'",
                    _arg_span(e, key),
                    "unknown-argument",
                    help=suggest(key, names) or f"its parameters: {', '.join(names)}",
                )
            if key in bound:
                raise self.error(
                    f"parameter '{key}' is given twice", _arg_span(e, key), "duplicate-argument"
                )
            bound[key] = value
        missing = [p.name for p in block.params if p.name not in bound and p.default is None]
        if missing:
            raise self.error(
                f"block {block.name} is missing argument{'s' if len(missing) > 1 else ''} "
                + ", ".join(f"'{m}'" for m in missing),
                e.span,
                "missing-argument",
            )
        shown = ", ".join(
            [*(spec_text(a) for a in args), *(f"{k}={spec_text(v)}" for k, v in kwargs.items())]
        )
        return BlockRef(
            block,
            tuple(bound.items()),
            instance if isinstance(instance, str) else None,
            e.span,
            f"{block.name}({shown})",
            target.globals_key,
            trainable,
            options,
        )

    def builtin(self, e: ir.Call) -> Any:
        args, kwargs, _ = self.arguments(e, allow_tensors=False)
        if kwargs:
            raise self.error(
                f"{e.func}() takes no keyword arguments", e.args[0].span, "bad-argument"
            )
        try:
            return self.sized(_call_builtin(e.func, args), e.span)
        except (TypeError, ValueError, OverflowError) as err:
            raise self.error(f"{e.func}(): {_plain(err)}", e.span, "bad-argument") from None


def _plain(err: Exception) -> str:
    text = str(err)
    return text.replace("NoneType", "none").replace("'tuple'", "tuple").replace("'list'", "list")


def _call_builtin(name: str, args: list[Any]) -> Any:
    for a in args:
        if isinstance(a, LayerSpec | Tensor | KerasObject | BlockRef | SharedRef):
            raise TypeError(f"expected plain values, got {describe_value(a)}")
    if name == "range":
        if (
            not args
            or len(args) > 3
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in args)
        ):
            raise TypeError("range takes 1 to 3 integers")
        r = range(*args)
        if len(r) > MAX_ITEMS:
            raise ValueError(f"range of {len(r)} items is too long (at most {MAX_ITEMS})")
        return list(r)
    if name == "len":
        if len(args) != 1 or not isinstance(args[0], tuple | list | str | dict):
            raise TypeError("len takes one tuple, list, string or dict")
        return len(args[0])
    if name in ("min", "max", "sum"):
        items = args[0] if len(args) == 1 and isinstance(args[0], tuple | list) else args
        if not items:
            raise ValueError("needs at least one value")
        if name == "sum":
            return sum(items)
        return min(items) if name == "min" else max(items)
    if len(args) != 1 and name != "round":
        raise TypeError(f"{name} takes one argument")
    if name == "int":
        return int(args[0])
    if name == "float":
        return float(args[0])
    if name == "abs":
        return abs(args[0])
    if name == "str":
        return spec_text(args[0]) if not isinstance(args[0], str) else args[0]
    if name == "round":
        return round(*args)
    raise TypeError(f"unknown builtin {name}")


def _items_built(op: str, left: Any, right: Any) -> tuple[str, int] | None:
    """What `left op right` would build from sequences, and how many items: ("repetition", n)."""
    seq = (tuple, list, str)
    if op == "*" and isinstance(left, int) and isinstance(right, seq):
        left, right = right, left  # 3 * [x] is [x] * 3
    if op == "*" and isinstance(left, seq) and isinstance(right, int):
        return "repetition", deep_size(left) * max(right, 0)
    if op == "+" and isinstance(left, seq) and isinstance(right, type(left)):
        return "concatenation", deep_size(left) + deep_size(right)
    return None


def deep_size(value: Any) -> int:
    """Items in `value`, nested ones included, counting at most limits.MAX_ITEMS + 1.

    Shared items count every time they appear: `[a] * 1000` prints `a` a thousand times.
    """
    total = 0
    todo = [value]
    while todo and total <= MAX_ITEMS:
        v = todo.pop()
        if isinstance(v, str):
            total += len(v)
        elif isinstance(v, tuple | list):
            total += len(v)
            todo.extend(x for x in v if isinstance(x, tuple | list | str | dict))
        elif isinstance(v, dict):
            total += len(v)
            todo.extend(x for x in v.values() if isinstance(x, tuple | list | str | dict))
    return total


def _too_big_power(base: Any, exp: Any) -> bool:
    if not isinstance(base, int | float) or not isinstance(exp, int | float):
        return False
    if abs(base) <= 1:
        return False
    try:
        return bool(exp * math.log10(abs(base)) > 300)
    except (OverflowError, ValueError):
        return True


def _arg_span(e: ir.Call, arg: str | int | None) -> Span:
    """The span of argument `arg` (a name or positional index) of call `e`, else the call."""
    if isinstance(arg, int):
        positional = [a for a in e.args if a.name is None]
        if arg < len(positional):
            return positional[arg].span
    elif isinstance(arg, str):
        for a in e.args:
            if a.name == arg:
                return a.span
    return e.span


def _chain_help(e: ir.Call) -> str:
    """`add_norm(e, a)` -> `[e, a] -> add_norm()`: the tensors written as arguments, chained."""
    names = [a.value.id for a in e.args if a.name is None and isinstance(a.value, ir.Name)]
    rest = [a for a in e.args if not (a.name is None and isinstance(a.value, ir.Name))]
    call = f"{e.func}({'...' if rest else ''})"
    if len(names) > 1:
        return f"feed them through the chain: [{', '.join(names)}] -> {call}"
    return f"feed it through the chain: {names[0] if names else 'x'} -> {call}"
