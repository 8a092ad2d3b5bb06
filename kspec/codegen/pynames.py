"""Spec values and names in Python terms: identifiers that cannot clash, classes, literals.

A spec may call a tensor `lambda`, `layers` or `range`; the script must still run. Every
identifier the generator writes comes from a `Names` table that steers clear of keywords,
builtins and the script's own module-level names.
"""

from __future__ import annotations

import builtins
import keyword
import re
from typing import Any

from kspec.catalog import GenericLayer, KerasObject, LayerSpec, keras_class_of
from kspec.catalog.names import object_module
from kspec.codegen.pyliteral import Call
from kspec.resources import resource_dir

# Keywords, builtins, and the names ruff's E741 calls ambiguous.
RESERVED = (
    frozenset(dir(builtins))
    | frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | {"l", "O", "I"}
)
# Names the generator itself binds: its import lines (codegen.generate._imports) and the
# model function, whose name the templates take as a variable.
GENERATED = frozenset(
    {"argparse", "csv", "gzip", "Path", "keras", "layers", "np", "tf", "load_digits", "build_model"}
)


def _template_names() -> frozenset[str]:
    """Every function and constant the script templates define at module level."""
    found: set[str] = set()
    for path in resource_dir("templates").rglob("*.j2"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"^(?:def|class) ([A-Za-z_]\w*)", text, re.M))
        found |= set(re.findall(r"^([A-Za-z_]\w*) =", text, re.M))
    return frozenset(found)


# Module-level names of the full script, taken before the spec's constants get theirs.
SCRIPT_NAMES = GENERATED | _template_names()


class Names:
    """Spec names -> Python identifiers, unique in one namespace."""

    def __init__(self, taken: set[str] | frozenset[str] = frozenset(), parent: Names | None = None):
        self.taken: set[str] = set(taken)
        self.parent = parent
        self.map: dict[str, str] = {}

    def is_free(self, name: str) -> bool:
        if name in RESERVED or name in self.taken:
            return False
        return self.parent is None or self.parent.is_free(name)

    def var(self, spec_name: str) -> str:
        """The identifier for a spec name: the name itself unless it would clash."""
        if spec_name not in self.map:
            candidate = spec_name if spec_name.isidentifier() else "v"
            while not self.is_free(candidate):
                candidate += "_"
            self.map[spec_name] = candidate
            self.taken.add(candidate)
        return self.map[spec_name]

    def fresh(self, *bases: str) -> str:
        """A new identifier: the first free base, else the first with a number."""
        for base in bases:
            if self.is_free(base):
                self.taken.add(base)
                return base
        n = 1
        while not self.is_free(f"{bases[0]}_{n}"):
            n += 1
        self.taken.add(f"{bases[0]}_{n}")
        return f"{bases[0]}_{n}"


class Classes:
    """Python spellings of Keras classes, and of the classes a spec brings in with `use`."""

    def __init__(self, uses: dict[str, str], imported: dict[str, str]):
        self.uses = uses  # spec name -> "pkg.mod:Class"
        self.imported = imported  # spec name -> the identifier the script imports it as

    def layer(self, spec: LayerSpec) -> str:
        if isinstance(spec, GenericLayer) and spec.class_name in self.imported:
            return self.imported[spec.class_name]
        dotted = keras_class_of(spec)
        return (
            "layers." + dotted.removeprefix("keras.layers.")
            if dotted.startswith("keras.layers.")
            else dotted
        )

    def keras_object(self, name: str, module: str = "keras") -> str:
        return f"{object_module(name, module)}.{name}"

    def literal(self, value: Any, module: str = "keras") -> Any:
        """A resolved spec value as py_literal takes it: layers and Keras objects become calls."""
        if isinstance(value, LayerSpec):
            args, kwargs = layer_arguments(value)
            return Call(
                self.layer(value),
                tuple(self.literal(a) for a in args),
                tuple((k, self.literal(v)) for k, v in kwargs),
            )
        if isinstance(value, KerasObject):
            return Call(
                self.keras_object(value.name, module),
                tuple(self.literal(a) for a in value.args),
                tuple((k, self.literal(v)) for k, v in value.kwargs),
            )
        if isinstance(value, list):
            return [self.literal(v, module) for v in value]
        if isinstance(value, tuple):
            return tuple(self.literal(v, module) for v in value)
        if isinstance(value, dict):
            return {k: self.literal(v, module) for k, v in value.items()}
        return value


def layer_arguments(spec: LayerSpec) -> tuple[list[Any], list[tuple[str, Any]]]:
    """What the Keras builder passes: required arguments by position, the rest by keyword."""
    if isinstance(spec, GenericLayer):
        return list(spec.args), list(spec.kwargs)
    kwargs = spec.keras_kwargs()
    required = spec.required()
    return [kwargs[n] for n in required], [(k, v) for k, v in kwargs.items() if k not in required]
