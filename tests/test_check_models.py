"""Regressions in how models, nested models and custom layers become graphs."""

from __future__ import annotations

from kspec.check.spec import check_text

NESTED_TWICE = """
model tower {
    input x: (4,)
    Dense(4)
}
model a {
    input x: (4,)
    output out = x -> tower -> Dense(2)
}
model b {
    input y: (4,)
    output out = y -> tower -> Dense(3)
}
"""


def test_a_model_nested_in_two_models_is_a_layer_of_each() -> None:
    checked, diags = check_text(NESTED_TWICE, "n.kspec")
    assert checked is not None and not diags.errors
    for name, units in (("a", 2), ("b", 3)):
        graph = checked.models[name]
        assert [layer.name for layer in graph.layers][1:] == ["tower", "out"]
        tower = graph.layers[1]
        assert len(tower.calls) == 1 and tower.calls[0].node_index == 0
        assert graph.params is not None and graph.params.total == 20 + 4 * units + units


def test_name_on_a_used_class_names_the_layer() -> None:
    text = 'use "pkg.mod:Scale"\nmodel c {\n    input z: (4,)\n    Scale(2.0, name="s")\n}\n'
    checked, diags = check_text(text, "u.kspec")
    assert checked is not None and not diags.errors
    layer = checked.models["c"].layers[1]
    assert layer.name == "s"
    assert layer.params is None  # a custom class is not statically checked


def test_a_loss_on_an_uncatalogued_output_layer_is_checked() -> None:
    text = (
        'use "pkg.mod:Head"\nmodel m {\n    input x: (4,)\n    Dense(3)\n    Head()\n}\n'
        "train {\n    loss = sparse_categorical_crossentropy\n}\n"
    )
    checked, diags = check_text(text, "h.kspec")
    assert checked is not None and not diags.errors


def test_only_a_used_class_is_unchecked_and_warned_about() -> None:
    text = (
        'use "pkg.mod:Scale"\nmodel c {\n    input z: (4, 3)\n    Masking()\n    Scale(2.0)\n'
        "    Scale(3.0)\n    LSTM(2)\n}\n"
    )
    checked, diags = check_text(text, "u.kspec")
    assert checked is not None and not diags.errors
    found = [(d.code, d.span.line) for d in diags.items if d.severity == "warning"]
    assert found == [("unchecked-layer", 5), ("unchecked-layer", 6)]  # not Masking, not LSTM
