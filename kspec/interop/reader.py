"""The one typed reader of model files: JSON decoded within bounds, and every field the importer
reads checked for its type, a wrong one reported by its path
(`config.layers[3].inbound_nodes[0]: expected a list, got a string`).

A model file is untrusted input: nothing read here is ever written into a spec unchecked, and
no size, depth or digit count in it can make the importer recurse, hang or run out of memory.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any, NoReturn

MAX_FILE_BYTES = 256 * 2**20  # config.json (or a .json model file), decoded in memory
MAX_DEPTH = 100  # nesting of lists and objects; Keras's own configs stay under 20
MAX_INT_DIGITS = 30  # an integer in a layer config (Keras's are sizes, axes, seeds)


class ConfigError(Exception):
    """A config the spec cannot express or a field of the wrong type; the message says where."""

    def __init__(self, message: str, help: str | None = None):
        super().__init__(message)
        self.message = message
        self.help = help


class BigInt:
    """An integer with more digits than MAX_INT_DIGITS, kept as its digit count: decoding it
    would cost quadratic time, and no Keras argument takes one."""

    __slots__ = ("digits",)

    def __init__(self, digits: int):
        self.digits = digits

    def __repr__(self) -> str:
        return f"BigInt({self.digits})"


def _int(text: str) -> int | BigInt:
    digits = len(text.lstrip("-"))
    return BigInt(digits) if digits > MAX_INT_DIGITS else int(text)


class DecodeError(Exception):
    pass


def decode(text: str | bytes) -> Any:
    """JSON within MAX_DEPTH; raises DecodeError with the reason."""
    if len(text) > MAX_FILE_BYTES:
        raise DecodeError(f"is larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        data = json.loads(text, parse_int=_int)
    except RecursionError:
        raise DecodeError("nests lists or objects too deep to decode") from None
    except json.JSONDecodeError as e:
        raise DecodeError(f"is not JSON: {e.msg} at line {e.lineno}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise DecodeError(f"is not JSON: {e}") from None
    return data


def kind(value: Any) -> str:
    """What a JSON value is, in words."""
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case BigInt():
            return f"an integer with {value.digits} digits"
        case str():
            return "a string"
        case list():
            return "a list"
        case dict():
            return "an object"
    return type(value).__name__


class Field:
    """A JSON value and where it is in the file (its path is spelled only for a diagnostic)."""

    __slots__ = ("depth", "key", "parent", "value")

    def __init__(self, value: Any, parent: Field | None = None, key: str | int | None = None):
        self.value = value
        self.parent = parent
        self.key = key
        self.depth: int = 0 if parent is None else parent.depth + 1
        if self.depth > MAX_DEPTH:
            self.fail(f"nested more than {MAX_DEPTH} deep")

    @property
    def path(self) -> str:
        """`config.layers[3].inbound_nodes[0]`."""
        parts: list[str] = []
        f: Field | None = self
        while f is not None and f.key is not None:
            k = f.key
            if isinstance(k, int):
                parts.append(f"[{k}]")
            elif k.isidentifier():
                parts.append(f".{k}")
            else:
                parts.append(f"[{k!r}]")
            f = f.parent
        return "".join(reversed(parts)).lstrip(".")

    def fail(self, message: str, help: str | None = None) -> NoReturn:
        raise ConfigError(f"{self.path or 'the file'}: {message}", help)

    def expected(self, what: str) -> NoReturn:
        self.fail(f"expected {what}, got {kind(self.value)}")

    # -- children -----------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Field:
        """A member of an object (null when absent)."""
        value = self.value
        if type(value) is not dict:
            self.expected("an object")
        return Field(value.get(key), self, key)

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def items(self) -> Iterator[tuple[str, Field]]:
        for key, value in self.as_object().items():
            yield key, Field(value, self, key)

    def each(self) -> Iterator[Field]:
        """The items of a list."""
        for i, v in enumerate(self.as_list()):
            yield Field(v, self, i)

    # -- typed values -------------------------------------------------------------------------
    def as_object(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            self.expected("an object")
        return self.value

    def object_or_empty(self) -> dict[str, Any]:
        return {} if self.value is None else self.as_object()

    def as_list(self) -> list[Any]:
        if not isinstance(self.value, list):
            self.expected("a list")
        return self.value

    def list_or_empty(self) -> list[Any]:
        return [] if self.value is None else self.as_list()

    def as_str(self) -> str:
        if not isinstance(self.value, str):
            self.expected("a string")
        return self.value

    def opt_str(self) -> str | None:
        return None if self.value is None else self.as_str()

    def as_int(self) -> int:
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            self.expected("an integer")
        return self.value

    def as_bool(self, default: bool = False) -> bool:
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            self.expected("true or false")
        return self.value

    def name(self) -> str:
        """A layer, model or input name as Keras accepts it: a non-empty string without `/`
        (keras/src/ops/operation.py), here also printable, so that diagnostics can show it."""
        text = self.as_str()
        if not text or "/" in text or not text.isprintable():  # surrogates are not printable
            self.fail(
                f"{text!r} is not a Keras name",
                help="Keras names are non-empty strings without '/' or control characters",
            )
        return text

    def dim(self) -> int | None:
        """One axis of a shape: a positive integer, or null."""
        v = self.value
        if v is None:
            return None
        if not isinstance(v, int) or isinstance(v, bool) or v < 1 or v > 2**31 - 1:
            self.expected("a positive integer or null (an axis size)")
        return v

    def shape(self) -> tuple[int | None, ...]:
        return tuple(f.dim() for f in self.each())


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def spec_value(f: Field) -> Any:
    """A config value as a spec value, as long as a spec can say it: null, booleans, finite
    numbers, strings (quoted by the printer), lists (as tuples) and objects of those. Keras
    objects (`{"class_name", "config"}`) are left to the caller, through `objects`."""
    v = f.value
    if v is None or isinstance(v, bool | int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            f.fail(f"{v} is not a finite number", help="a spec's numbers are finite")
        return v
    if isinstance(v, str):
        if _surrogate(v):
            f.fail("the string holds a lone surrogate, which is not text")
        return v
    if isinstance(v, list):
        return tuple(spec_value(x) for x in f.each())
    if isinstance(v, dict):
        return {k: spec_value(x) for k, x in f.items()}
    if isinstance(v, BigInt):
        f.fail(f"an integer with {v.digits} digits; no Keras argument takes one that large")
    f.expected("a number, a string, a list or an object")
