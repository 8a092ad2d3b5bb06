"""Spec values as Python source: the one place where generated code quotes and escapes.

Everything a generated script carries from a spec (names, strings, numbers, nested layer and
Keras-object calls) is rendered by `py_literal`, so a string holding quotes, backslashes,
newlines, `\"\"\"`, `#`, `{{ }}` or Python code reaches the script as data and never as code.
The output is already in `ruff format` style: double quotes unless single quotes need fewer
escapes (black's rule), `2**i` hugging, one canonical spelling per number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Code:
    """Python source made by the code generator from identifiers and operators, passed through."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Call:
    """`func(*args, **kwargs)`; `func` is code (a class path such as `layers.Dense`)."""

    func: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Format:
    """A string built at run time from literal parts and code parts: rendered as an f-string."""

    parts: tuple[str | Code, ...] = field(default_factory=tuple)


def py_literal(value: Any) -> str:
    """`value` as a Python expression: plain data, Code, Call and Format, nested freely."""
    if isinstance(value, Code):
        return value.text
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)
    if isinstance(value, str):
        quote = _quote_for(value)
        return quote + _escape(value, quote) + quote
    if isinstance(value, Format):
        return _format(value)
    if isinstance(value, Call):
        items = [py_literal(a) for a in value.args]
        items += [f"{_keyword(k)}={py_literal(v)}" for k, v in value.kwargs]
        return f"{value.func}({', '.join(items)})"
    if isinstance(value, tuple):
        if len(value) == 1:
            return f"({py_literal(value[0])},)"
        return "(" + ", ".join(py_literal(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Python literal for {type(value).__name__}")


def _keyword(name: str) -> str:
    if not name.isidentifier():  # spec keyword names are identifiers; anything else is a bug
        raise ValueError(f"not a Python keyword argument name: {name!r}")
    return name


def _quote_for(text: str) -> str:
    """Double quotes unless the text holds more double than single quotes (ruff's choice)."""
    return "'" if text.count('"') > text.count("'") else '"'


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(text: str, quote: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch == quote:
            out.append("\\" + ch)
        elif not ch.isprintable() or not ch.isascii():
            # \x0b, \xe9, \u2028: ASCII-only scripts, so no look-alike letter (ruff's RUF001)
            out.append(
                repr(ch)[1:-1] if ch.isascii() else ch.encode("ascii", "backslashreplace").decode()
            )
        else:
            out.append(ch)
    return "".join(out)


def _format(value: Format) -> str:
    literal = "".join(p for p in value.parts if isinstance(p, str))
    if all(isinstance(p, str) for p in value.parts):
        return py_literal(literal)
    if any(set(p.text) & set("'\"\\{}#\n") for p in value.parts if isinstance(p, Code)):
        # Python 3.11 f-strings cannot hold quotes or backslashes in their {} parts: concatenate.
        return " + ".join(
            py_literal(p) if isinstance(p, str) else f"str({p.text})"
            for p in value.parts
            if p != ""
        )
    quote = _quote_for(literal)
    body = []
    for part in value.parts:
        if isinstance(part, Code):
            body.append("{" + part.text + "}")
        else:
            body.append(_escape(part, quote).replace("{", "{{").replace("}", "}}"))
    return "f" + quote + "".join(body) + quote


def doc_text(text: str) -> str:
    """Text for inside a triple-quoted docstring or comment: it cannot close the string."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append("'")
        elif ch == "\n" or (ch.isprintable() and ch.isascii()):
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)
