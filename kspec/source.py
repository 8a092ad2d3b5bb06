"""Source text and positions: what every diagnostic points into."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based line/column range in one source file (end column exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int
    path: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


NO_SPAN = Span(0, 0, 0, 0)


@dataclass(frozen=True)
class Source:
    """A spec's text with its display path; lines are split once for the renderer."""

    path: str
    text: str
    lines: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Split on "\n" only, as Lark counts lines: splitlines() would also break at form feeds
        # and other separators that are plain white space to the lexer, shifting line numbers.
        lines = self.text.split("\n")
        if len(lines) > 1 and not lines[-1]:
            lines.pop()
        object.__setattr__(self, "lines", tuple(line.removesuffix("\r") for line in lines))

    def line(self, number: int) -> str:
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1]
        return ""
