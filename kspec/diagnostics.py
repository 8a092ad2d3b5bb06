"""Diagnostics: what went wrong, where, and how to fix it; rendered as text or JSON."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from kspec.codes import Code
from kspec.source import NO_SPAN, Source, Span

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: Code  # stable slug for --format json; listed in docs/diagnostics.md
    message: str  # lower-case start (names keep their case), no final period
    span: Span
    help: str | None = None  # the fix, when the message does not already say it
    severity: Severity = "error"
    notes: tuple[str, ...] = ()  # context lines, e.g. "in residual(64) used at f.kspec:14:9"

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            **self.span.to_json(),
            "help": self.help,
            "notes": list(self.notes),
        }


class KspecError(Exception):
    """The only exception bad input can cause; carries every diagnostic of the failed stage."""

    def __init__(
        self, diagnostics: Iterable[Diagnostic], sources: Mapping[str, Source] | None = None
    ):
        self.diagnostics = tuple(diagnostics)
        self.sources: dict[str, Source] = dict(sources or {})
        super().__init__(self.render())

    def render(self) -> str:
        return render_all(self.diagnostics, self.sources)


@dataclass
class Diagnostics:
    """Collects diagnostics so that one run reports every error, not only the first."""

    sources: dict[str, Source] = field(default_factory=dict)
    items: list[Diagnostic] = field(default_factory=list)
    context: list[str] = field(default_factory=list)  # block-expansion notes, innermost last

    def add(self, d: Diagnostic) -> None:
        # The same error from every iteration of a loop or use of a block is reported once,
        # with the notes of its first occurrence.
        if not any(_same_report(d, seen) for seen in self.items):
            self.items.append(d)

    def error(self, message: str, span: Span, *, code: Code, help: str | None = None) -> None:
        notes = tuple(reversed(self.context))
        self.add(Diagnostic(code, message, span, help, "error", notes))

    def warning(self, message: str, span: Span, *, code: Code, help: str | None = None) -> None:
        notes = tuple(reversed(self.context))
        self.add(Diagnostic(code, message, span, help, "warning", notes))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def raise_if_any(self) -> None:
        if self.errors:
            raise KspecError(self.items, self.sources)


def _same_report(a: Diagnostic, b: Diagnostic) -> bool:
    return (a.span, a.message, a.code, a.severity, a.help) == (
        b.span,
        b.message,
        b.code,
        b.severity,
        b.help,
    )


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """`did you mean 'x'?` help for a misspelled name, or None when nothing is close."""
    return _suggest(name, tuple(dict.fromkeys(candidates)))


@functools.lru_cache(maxsize=64)
def _suggest(name: str, pool: tuple[str, ...]) -> str | None:
    # Memoized on exactly what the answer depends on: the language server checks a spec again
    # on every edit, and a misspelling left in a big spec was compared with every name in
    # scope each time (difflib: several ms for a 2,000-layer spec).
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not matches:
        lowered = {c.lower(): c for c in pool}
        matches = [lowered[name.lower()]] if name.lower() in lowered else []
    return f"did you mean '{matches[0]}'?" if matches else None


def render_text(d: Diagnostic, source: Source | None) -> str:
    s = d.span
    if s == NO_SPAN or source is None or s.line == 0:
        where = f"{s.path}: " if s.path else ""
        out = [f"{where}{d.severity}: {d.message}"]
    else:
        text = source.line(s.line).replace("\t", " ")  # one column per character
        end = s.end_column if s.end_line == s.line else len(text) + 1
        out = [
            f"{s.path}:{s.line}:{s.column}: {d.severity}: {d.message}",
            f"{s.line:>5} | {text}",
            f"{'':>5} | {' ' * (s.column - 1)}{'^' * max(1, end - s.column)}",
        ]
    out.extend(f"{'':>5} = note: {note}" for note in d.notes)
    if d.help:
        out.append(f"{'':>5} = help: {d.help}")
    return "\n".join(out)


def render_all(diags: Iterable[Diagnostic], sources: Mapping[str, Source]) -> str:
    return "\n".join(render_text(d, sources.get(d.span.path)) for d in diags)
