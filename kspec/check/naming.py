"""Layer and block-instance names, as Keras and kspec give them: one implementation for the
checker (which names every layer), the code generator (which must write the same names) and
the importer (which leaves out `name=` where the automatic name is already right).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache


@lru_cache(maxsize=1024)  # one per layer class: three regex passes for every layer otherwise
def to_snake_case(name: str) -> str:
    """Keras's automatic layer names (keras.src.utils.naming.to_snake_case)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def prefixed(prefix: str, name: object) -> str:
    """A name inside a block instance: `res2` + `conv2d` -> `res2_conv2d`."""
    return f"{prefix}_{name}" if prefix else str(name)


@dataclass
class AutoNames:
    """Keras's automatic names within one model: `dense`, `dense_1`, ... skipping taken names."""

    counts: dict[str, int] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    @classmethod
    def taken(cls, names: Iterable[str]) -> AutoNames:
        return cls(used=set(names))

    def peek(self, base: str) -> tuple[str, int]:
        """The name the next `base` layer gets, and its counter, without taking it."""
        n = self.counts.get(base, 0)
        name = base if n == 0 else f"{base}_{n}"
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        return name, n

    def unique(self, base: str) -> str:
        """Take the next automatic name for a `base` layer."""
        name, _ = self.peek(base)
        self.take(base, name)
        return name

    def take(self, base: str, wanted: str) -> bool:
        """Record a `base` layer named `wanted`; True when that is its automatic name."""
        name, n = self.peek(base)
        if name == wanted:
            self.counts[base] = n + 1
        self.used.add(wanted)
        return name == wanted


@dataclass
class Instances:
    """Block instance names: the k-th unnamed use of `residual` under one prefix is `residualK`."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def prefix(self, caller: str, block: str, given: str | None) -> tuple[str, str]:
        """(instance name, prefix for the layers it creates) for a use of `block`."""
        if given is None:
            key = (caller, block)
            self.counts[key] = self.counts.get(key, 0) + 1
            given = f"{block}{self.counts[key]}"
        return given, prefixed(caller, given)
