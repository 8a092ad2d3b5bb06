"""Binding `ops.NAME(...)` calls and tensor operators to keras.ops catalog entries.

The checker evaluates the arguments; this module decides which of them are the operation's
tensors (its operands) and which are the Operation's constructor arguments, the way the
keras.ops function's signature reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kspec.catalog.base import ParamError, describe
from kspec.catalog.opbase import OPERATORS, OPS, OpSpec, lookup_op


def resolve(func: str) -> type[OpSpec] | None:
    """The entry for a dotted call name: `ops.sum`, `ops.nn.relu6`; None when it is not one."""
    if not func.startswith("ops."):
        return None
    return lookup_op(func.removeprefix("ops."))


def operator_op(op: str) -> type[OpSpec]:
    """The entry for a spec operator between tensors: "+" -> Add, "neg" -> Negative."""
    return OPS[OPERATORS[op]]


def known_names() -> list[str]:
    return [f"ops.{name}" for name in OPS]


def bind(
    cls: type[OpSpec], args: Sequence[Any], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Split a call's arguments into constructor arguments and operands (signature order).

    Raises ParamError with `arg` the position or keyword at fault.
    """
    params: dict[str, Any] = {}
    operands: dict[str, Any] = {}
    variadic: list[Any] = []
    signature = cls.signature
    for i, value in enumerate(args):
        if i >= len(signature) and not (signature and signature[-1].startswith("*")):
            raise ParamError(
                f"{cls.op_name()} takes at most {len(signature)} arguments, got {len(args)}",
                arg=i,
                help=f"{cls.op_name()}({', '.join(signature)})",
                code="too-many-arguments",
            )
        name = signature[min(i, len(signature) - 1)]
        if name.startswith("*"):
            variadic.append(value)
        elif name in cls.operands:
            operands[name] = value
        else:
            params[name] = value
    for key, value in kwargs.items():
        if key not in signature:
            from kspec.diagnostics import suggest

            raise ParamError(
                f"{cls.op_name()} has no argument '{key}'",
                arg=key,
                help=suggest(key, signature) or f"{cls.op_name()}({', '.join(signature)})",
                code="unknown-argument",
            )
        if key in params or key in operands:
            raise ParamError(f"argument '{key}' is given twice", arg=key, code="duplicate-argument")
        (operands if key in cls.operands else params)[key] = value
    if variadic:
        return params, variadic
    missing = [n for n in cls.operands if n not in operands]
    if missing:
        raise ParamError(
            f"{cls.op_name()} is missing {', '.join(repr(m) for m in missing)}",
            help=f"{cls.op_name()}({', '.join(signature)})",
            code="missing-argument",
        )
    return params, [operands[n] for n in cls.operands]


def constant_operand(value: Any) -> bool:
    """A Python number (or list of numbers, for take's indices) that may stand for a tensor."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    items = value if isinstance(value, list | tuple) else None
    return bool(items) and all(constant_operand(v) for v in items or ())


def not_an_operand(cls: type[OpSpec], value: Any) -> str:
    return f"{cls.op_name()} takes tensors or numbers, got {describe(value)}"
