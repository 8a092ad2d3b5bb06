"""The summary's quick table (kspec/report/table.py) against rich drawing the same table: a
differential test over generated cells, widths and terminal sizes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kspec.report import table

HEADERS = ["Layer (type)", "Output Shape", "Param #", "Connected to", "Trainable"]
JUSTIFY = ["left", "left", "right", "left", "center"]
PLAIN = st.text(st.sampled_from("ab (),_?-YN019[]"), max_size=30)  # the quick path's
ODD = st.text(st.sampled_from("ab (),_?-YN019[]é\u4e00\t"), max_size=30)  # rich's, mostly


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[str], list[int], int, list[list[str]]]:
    n = draw(st.sampled_from([3, 4, 5]))
    widths = draw(st.lists(st.integers(4, 40), min_size=n, max_size=n))
    width = draw(st.integers(20, 140))
    cell = draw(st.sampled_from([PLAIN, PLAIN, ODD]))
    rows = draw(st.lists(st.lists(cell, min_size=n, max_size=n), min_size=0, max_size=4))
    return HEADERS[:n], JUSTIFY[:n], widths, width, rows


@settings(max_examples=300, deadline=None)
@given(tables())
def test_quick_table_is_richs_table(
    t: tuple[list[str], list[str], list[int], int, list[list[str]]],
) -> None:
    assert table.draw(*t) == table._rich(*t)


def test_quick_path_is_taken_for_plain_cells() -> None:
    rows = [[f"dense_{i} (Dense)", "(None, 4)", "20"] for i in range(3)]
    args = (HEADERS[:3], JUSTIFY[:3], [34, 26, 16], 76, rows)
    assert table._quick(*args) == table._rich(*args)
    assert table._quick(HEADERS[:3], JUSTIFY[:3], [34, 26, 16], 76, [["é", "x", "1"]]) is None
