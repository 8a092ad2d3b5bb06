"""A layer call's arguments three ways: as the spec wrote them, as the catalog resolved them, and
whether Keras, given the written value, ends up where the catalog did.
"""

from __future__ import annotations

from typing import Any

from kspec.catalog import GenericLayer
from kspec.catalog.base import pair, single, triple
from kspec.check.naming import prefixed
from kspec.syntax import ir

call_name = prefixed  # a layer's name inside a block instance, as the checker gives it


def compatible(raw: Any, resolved: Any, param: Any) -> bool:
    """Whether Keras, given the written value, ends up where the catalog did."""
    if isinstance(raw, bool) != isinstance(resolved, bool):
        return False
    if raw == resolved and type(raw) in (type(resolved), int, float):
        return True
    if param is not None and param.convert in (single, pair, triple):  # Keras's standardize_tuple
        return (
            isinstance(raw, int)
            and isinstance(resolved, tuple)
            and resolved == (raw,) * len(resolved)
        )
    return False


def resolved_args(spec: Any) -> tuple[dict[Any, Any], set[Any]]:
    if isinstance(spec, GenericLayer):
        values: dict[Any, Any] = {i: a for i, a in enumerate(spec.args)}
        values.update(dict(spec.kwargs))
        return values, set(values)
    return spec.arguments(), set(spec.keras_kwargs())


def written_slots(spec: Any, call: ir.Call | None) -> list[tuple[str | None, Any]]:
    """(keyword, slot) per argument, as the spec wrote them: positional ones first, in order."""
    if isinstance(spec, GenericLayer) or call is None:
        return arg_slots(spec)
    positional = [a for a in call.args if a.name is None]
    out: list[tuple[str | None, Any]] = [(None, n) for n in spec.positional[: len(positional)]]
    params = spec.params()
    out += [(a.name, a.name) for a in call.args if a.name in params]  # not name=, not tensors
    seen = {slot for _, slot in out}
    return out + [(n, n) for n in params if n not in seen]


def arg_slots(spec: Any) -> list[tuple[str | None, Any]]:
    """(keyword, slot) per argument the constructor may get: required ones by position."""
    if isinstance(spec, GenericLayer):
        return [(None, i) for i in range(len(spec.args))] + [(k, k) for k, _ in spec.kwargs]
    required = spec.required()
    return [(None, n) for n in required] + [(n, n) for n in spec.params() if n not in required]


def call_expr(expr: ir.Expr) -> ir.Call | None:
    return expr if isinstance(expr, ir.Call) else None


def written_args(spec: Any, call: ir.Call | None) -> dict[Any, ir.Expr]:
    """The spec's argument expressions by parameter name (GenericLayer: by position too)."""
    if call is None:
        return {}
    out: dict[Any, ir.Expr] = {}
    positional = [a for a in call.args if a.name is None]
    names = spec.positional if not isinstance(spec, GenericLayer) else tuple(range(len(positional)))
    for slot, a in zip(names, positional, strict=False):
        out[slot] = a.value
    for a in call.args:
        if a.name is not None:
            out[a.name] = a.value
    return out
