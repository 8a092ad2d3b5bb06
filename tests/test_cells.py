"""Recurrent cells in a spec: RNN(cell), RNN([cells]), StackedRNNCells, and cells refused as steps.

Shapes and counts are compared with the catalog's own rules, which tests/test_catalog_keras.py
holds to Keras; tests/test_build.py builds the same spec in Keras.
"""

from __future__ import annotations

import pytest

from kspec.catalog import CATALOG
from kspec.check.spec import check_text
from kspec.diagnostics import KspecError

RNN_SPEC = """
model seq {
    input x: (20, 3)
    y, h, c = x -> RNN(LSTMCell(6), return_sequences=true, return_state=true)
    z = y -> RNN([GRUCell(6), SimpleRNNCell(4)], initial_state=[c, x -> RNN(GRUCell(4))])
    z -> Bidirectional(RNN(StackedRNNCells([SimpleRNNCell(5)]))) if false else z
}
"""


def test_cells_and_stacks_check_like_the_catalog_says() -> None:
    checked, diags = check_text(RNN_SPEC, "rnn.kspec")
    assert checked is not None and not diags.errors
    graph = checked.model()
    rnn = {layer.name: layer for layer in graph.layers}
    first = rnn["rnn"]
    assert [t.shape for t in first.calls[0].outputs] == [(20, 6), (6,), (6,)]
    lstm = CATALOG["LSTMCell"].create((6,))
    assert first.params == lstm.count_params((3,))
    stacked = next(lay for lay in graph.layers if isinstance(getattr(lay.spec, "cell", 0), list))
    gru, simple = CATALOG["GRUCell"].create((6,)), CATALOG["SimpleRNNCell"].create((4,))
    assert stacked.params == gru.count_params((6,)) + simple.count_params((6,))
    assert stacked.calls[0].outputs[0].shape == (4,)


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ("LSTMCell(8)", "not-a-step", "LSTMCell is a recurrent cell"),
        ("RNN(LSTM(8))", "wrong-kind", "LSTM is already a loop"),
        ("RNN([])", "wrong-kind", "an empty list"),
        ("RNN([LSTMCell(8), GRUCell(2)], return_state=true)", "bad-argument", "nested states"),
        ("RNN(GRUCell(4), initial_state=[x])", "shape-error", "initial_state must be 1 tensor"),
        ("RNN(GRUCell(4), unroll=true)", "shape-error", "cannot unroll"),
    ],
)
def test_cell_mistakes_are_reported(body: str, code: str, words: str) -> None:
    text = f"model m {{\n    input x: (none, 3)\n    {body}\n}}\n"
    with pytest.raises(KspecError) as e:
        check_text(text, "m.kspec")
    found = [(d.code, d.message, d.help) for d in e.value.diagnostics]
    assert any(c == code and words in f"{m} {h}" for c, m, h in found), found
