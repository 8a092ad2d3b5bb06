"""The summary's box table as rich draws it, without rich's per-cell work where no cell wraps.

rich measures, wraps and crops every cell of every row: 2.5 s for a 10,000-row summary, most of
`kspec summary` after the check (bench/README.md). With fixed column widths the layout does not
depend on the cells, so rich draws the frame once (a probe table of two one-character rows) and
each row whose cells are plain printable ASCII that fits is written from that frame. A table
with any other cell (one to wrap, wide or control characters) is drawn by rich whole.
"""

from __future__ import annotations

import io
from typing import Any

_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F))


def draw(
    headers: list[str], justify: list[Any], widths: list[int], width: int, rows: list[list[str]]
) -> str:
    """The table rich.table.Table(show_lines=True) of these fixed-width columns draws."""
    quick = _quick(headers, justify, widths, width, rows)
    return quick if quick is not None else _rich(headers, justify, widths, width, rows)


def _rich(
    headers: list[str], justify: list[Any], widths: list[int], width: int, rows: list[list[str]]
) -> str:
    import rich.console
    import rich.markup
    import rich.table

    columns = [
        rich.table.Column(h, justify=j, width=w)
        for h, j, w in zip(headers, justify, widths, strict=True)
    ]
    table = rich.table.Table(*columns, width=width, show_lines=True)
    for row in rows:
        table.add_row(*(rich.markup.escape(cell) for cell in row))
    out = io.StringIO()
    console = rich.console.Console(
        file=out, width=width + 4, highlight=False, color_system=None, force_terminal=False
    )
    console.print(table)
    return out.getvalue()


def _quick(
    headers: list[str], justify: list[Any], widths: list[int], width: int, rows: list[list[str]]
) -> str | None:
    if not rows:
        return None
    probe = _rich(headers, justify, widths, width, [["x"] * len(headers)] * 2).split("\n")
    # top, header line(s), header rule, row, rule, row, bottom, and the final newline's ""
    top, *header, head_rule, row, rule, again, bottom, end = probe
    cells = row[1:-1].split("│")
    rooms = [len(c) - 2 for c in cells]  # one space of padding either side of the text
    if (
        row != again
        or end
        or len(cells) != len(headers)
        or any(r < 1 for r in rooms)
        or _row(["x"] * len(headers), rooms, justify) != row  # the frame is not as assumed
    ):
        return None
    lines = [top, *header, head_rule]
    for values in rows:
        for value, room in zip(values, rooms, strict=True):
            if len(value) > room or not _PLAIN.issuperset(value) or value != value.strip(" "):
                return None  # rich wraps or measures it: let rich draw the whole table
        lines += [_row(values, rooms, justify), rule]
    lines[-1] = bottom
    return "\n".join(lines) + "\n"


def _row(values: list[str], rooms: list[int], justify: list[Any]) -> str:
    parts = []
    for value, room, how in zip(values, rooms, justify, strict=True):
        if how == "right":
            text = value.rjust(room)
        elif how == "center":
            left = (room - len(value)) // 2
            text = " " * left + value + " " * (room - len(value) - left)
        else:
            text = value.ljust(room)
        parts.append(f" {text} ")
    return "│" + "│".join(parts) + "│"
