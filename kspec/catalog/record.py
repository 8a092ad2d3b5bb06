"""Frozen, keyword-only catalog classes, made cheaply.

`@dataclass(frozen=True, kw_only=True)` writes and compiles six methods for every class; for the
catalog's 350 entries that was two thirds of importing it (0.17 of 0.25 s, paid by every
`kspec check`; bench/README.md). `@entry` lets the dataclass machinery collect the fields only
(so `dataclasses.fields`, `replace` and `is_dataclass` work as before), and `Record` gives every
entry one shared `__init__`, `__eq__`, `__hash__` and `__repr__` that read them, with a
dataclass's semantics: keyword arguments, defaults and factories, `__post_init__`, `compare`
and `hash` per field, and assignment refused after construction.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast, dataclass_transform

T = TypeVar("T", bound=type)
R = TypeVar("R", bound="Record")

_MISSING: Any = dataclasses.MISSING


class _Layout:
    """What the shared methods read of one class, computed on its first use."""

    __slots__ = ("compared", "hashed", "init", "names", "post_init", "shown")

    def __init__(self, cls: type) -> None:
        fields = dataclasses.fields(cls)
        self.init: tuple[tuple[str, Any, Any], ...] = tuple(
            (f.name, f.default, f.default_factory) for f in fields
        )
        self.names = frozenset(f.name for f in fields if f.init)
        self.compared = tuple(f.name for f in fields if f.compare)
        self.hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
        self.shown = tuple(f.name for f in fields if f.repr)
        self.post_init = getattr(cls, "__post_init__", None)


_LAYOUTS: dict[type, _Layout] = {}


def _layout(cls: type) -> _Layout:
    found = _LAYOUTS.get(cls)
    if found is None:
        found = _LAYOUTS[cls] = _Layout(cls)
    return found


@dataclass_transform(
    kw_only_default=True, frozen_default=True, field_specifiers=(dataclasses.field,)
)
def entry(cls: T) -> T:
    """Declare a catalog class's annotated attributes as its fields (see the module doc)."""
    if not issubclass(cls, Record):
        raise TypeError(f"@entry needs a Record subclass, got {cls.__qualname__}")
    return cast(T, dataclasses.dataclass(init=False, repr=False, eq=False)(cls))


def make_entry(
    name: str,
    fields: list[tuple[str, Any, Any]],
    base: type[R],
    namespace: dict[str, Any],
) -> type[R]:
    """`dataclasses.make_dataclass` for an entry: fields are (name, type, field or default)."""
    body = dict(namespace)
    body["__annotations__"] = {n: t for n, t, _ in fields}
    body["__qualname__"] = name
    body.update((n, spec) for n, _, spec in fields)
    return entry(type(name, (base,), body))


class Record:
    """Base of every `@entry` class: the dataclass methods, written once."""

    __slots__ = ()

    def __init__(self, **kwargs: Any) -> None:
        layout = _layout(type(self))
        put = object.__setattr__
        used = 0
        for name, default, factory in layout.init:
            if name in kwargs:
                put(self, name, kwargs[name])
                used += 1
            elif default is not _MISSING:
                put(self, name, default)
            elif factory is not _MISSING:
                put(self, name, factory())
            else:
                raise TypeError(
                    f"{type(self).__qualname__}() missing required keyword argument '{name}'"
                )
        if used != len(kwargs):
            extra = next(k for k in kwargs if k not in layout.names)
            raise TypeError(f"{type(self).__qualname__}() got an unexpected argument '{extra}'")
        if layout.post_init is not None:
            layout.post_init(self)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field '{name}'")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field '{name}'")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = _layout(type(self)).compared  # as tuples, so identical NaNs are equal too
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in _layout(type(self)).hashed))

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in _layout(type(self)).shown)
        return f"{type(self).__qualname__}({shown})"
