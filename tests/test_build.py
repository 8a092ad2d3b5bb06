"""The Keras builder: each example and inline model built in Keras, compared with the static graph.

Every expected figure comes from the built Keras model; the static side is what `kspec summary`
prints. A mismatch means the checker and Keras disagree about a shape, a count or a connection.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_OFFLINE, EXAMPLES

import kspec
from kspec.catalog import Params
from kspec.check.graph import Call, Graph
from kspec.diagnostics import KspecError
from kspec.report.summary import summary_json

pytestmark = pytest.mark.keras


def example_models() -> list[Any]:
    paths = sorted(EXAMPLES.glob("*.kspec"))
    return [
        pytest.param(path, name, id=f"{path.stem}-{name}")
        for path in paths
        for name in kspec.load(path, EXAMPLE_OFFLINE.get(path.stem)).models
    ]


def weight_counts(layer: Any) -> Params:
    import numpy as np

    def count(ws: list[Any]) -> int:
        return int(sum(np.prod(w.shape) for w in ws))

    return Params(count(layer.trainable_weights), count(layer.non_trainable_weights))


def connected_to(call: Call) -> list[str]:
    """Keras's "Connected to": positional inputs, then call-time tensors in keyword order."""
    if call.inputs is None:
        return []
    inputs = list(call.inputs) if isinstance(call.inputs, list) else [call.inputs]
    for key in sorted(call.tensors):
        value = call.tensors[key]
        inputs += value if isinstance(value, list) else [value]
    return [t.ref() for t in inputs]


def assert_matches(graph: Graph, model: Any) -> int:
    """Compare a built model with its static graph; returns the number of layers compared."""
    import keras

    assert isinstance(model, keras.Sequential) == graph.is_sequential
    assert model.name == graph.name
    names = [layer.name for layer in model.layers]
    assert [row["name"] for row in summary_json(graph)["layers"]] == names  # `kspec summary`
    expected = graph.keras_layers()
    assert [layer.name for layer in expected] == names
    for layer in expected:
        built = model.get_layer(layer.name)
        assert type(built).__name__ == layer.class_name, layer.name
        if layer.params is not None:
            assert weight_counts(built) == layer.params, layer.name
        # One Keras node per call: a shared layer or nested model is one object called again.
        nodes = built._inbound_nodes
        assert len(nodes) == len(layer.calls), layer.name
        for call, node in zip(layer.calls, nodes, strict=True):
            outputs = node.output_tensors
            assert len(outputs) == len(call.outputs), layer.name
            for tensor, out in zip(call.outputs, outputs, strict=True):
                if tensor.shape is not None:  # None: not known statically
                    assert tuple(out.shape[1:]) == tensor.shape, (layer.name, tensor.index)
            if graph.is_sequential:
                continue  # Keras's Sequential wires its own chain; the order test covers it
            got = [
                f"{h.operation.name}[{h.node_index}][{h.tensor_index}]"
                for h in (t._keras_history for t in node.input_tensors)
            ]
            assert got == connected_to(call), layer.name
    if graph.params is not None:
        assert model.count_params() == graph.params.total
    return len(expected)


def build_all(spec: kspec.Spec) -> dict[str, Any]:
    return {name: spec.build(name) for name in spec.models}


# -- every example --------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "name"), example_models())
def test_example_builds_as_checked(path: Path, name: str) -> None:
    spec = kspec.load(path, EXAMPLE_OFFLINE.get(path.stem))
    graph = spec.graph(name)
    assert assert_matches(graph, spec.build(name)) > 0
    # no example has a dead branch: every checked layer is in the model (a Sequential lists
    # no InputLayer)
    in_model = [layer for layer in graph.layers if not (graph.is_sequential and layer.is_input)]
    assert {id(layer) for layer in graph.keras_layers()} == {id(layer) for layer in in_model}


def test_every_example_is_compared() -> None:
    assert len(example_models()) >= len(list(EXAMPLES.glob("*.kspec")))


# -- inline models, one feature each -----------------------------------------------------------
INLINE = {
    "shared_layer": """
model shared {
    input a: (16,)
    input b: (16,)
    layer d = Dense(8)
    x = a -> d
    y = b -> d
    output [x, y] -> Add()
}""",
    "nested_twice": """
model tower {
    input x: (10,)
    Dense(4, activation=relu)
    BatchNormalization()
}

model twin {
    input left: (10,)
    input right: (10,)
    l = left -> tower
    r = right -> tower
    [l, r] -> Concatenate() -> Dense(1)
}""",
    "lstm_states": """
model seq2seq {
    input src: (12, 5)
    input tgt: (9, 7)
    enc, h, c = src -> LSTM(16, return_state=true)
    dec = tgt -> LSTM(16, return_sequences=true, initial_state=[h, c])
    output [dec, enc -> RepeatVector(9)] -> Concatenate() -> Dense(3)
}""",
    "attention": """
model attn {
    input q: (6, 16)
    input v: (9, 16)
    a = [q, v] -> MultiHeadAttention(num_heads=2, key_dim=8)
    b = q -> MultiHeadAttention(num_heads=2, key_dim=4, value=v)
    [a, b] -> Add()
}""",
    "masking": """
model masked {
    input x: (7, 3)
    Masking(mask_value=0.0)
    LSTM(4)
    Dense(2)
}""",
    "named_outputs": """
model heads {
    input x: (20,)
    h = x -> Dense(32, activation=relu)
    output score = h -> Dense(1)
    output label = h -> Dense(3, activation=softmax)
}""",
    "dead_branch": """
model pruned {
    input x: (10,)
    kept = x -> Dense(3)
    unused = x -> Dense(5)
    kept
}""",
    "blocks": (EXAMPLES / "resnet_tiny.kspec").read_text(),
    "cells": """
model seq {
    input x: (20, 3)
    y, h, c = x -> RNN(LSTMCell(6), return_sequences=true, return_state=true)
    z = y -> RNN([GRUCell(6), SimpleRNNCell(4)], initial_state=[c, x -> RNN(GRUCell(4))])
    z -> Dense(2)
}""",
}


@pytest.fixture(scope="module")
def inline() -> dict[str, tuple[kspec.Spec, dict[str, Any]]]:
    """Each inline spec with its models built once, shared by the feature tests below."""
    out = {}
    for key, text in INLINE.items():
        spec = kspec.loads(text, f"{key}.kspec")
        out[key] = (spec, build_all(spec))
    return out


@pytest.mark.parametrize("key", sorted(INLINE))
def test_inline_model_builds_as_checked(key: str, inline: Any) -> None:
    spec, models = inline[key]
    for name, model in models.items():
        assert_matches(spec.graph(name), model)


def test_shared_layer_is_one_keras_layer(inline: Any) -> None:
    spec, models = inline["shared_layer"]
    model = models["shared"]
    dense = model.get_layer("d")
    assert len(dense._inbound_nodes) == 2
    assert model.count_params() == weight_counts(dense).total == spec.graph("shared").params.total


def test_nested_model_shares_its_weights(inline: Any) -> None:
    import keras

    spec, models = inline["nested_twice"]
    tower = models["twin"].get_layer("tower")
    assert isinstance(tower, keras.Sequential)
    assert len(tower._inbound_nodes) == 2
    assert {id(w) for w in tower.weights} <= {id(w) for w in models["twin"].weights}
    assert models["twin"].count_params() == spec.graph("twin").params.total


def test_lstm_states_feed_the_next_lstm(inline: Any) -> None:
    _, models = inline["lstm_states"]
    model = models["seq2seq"]
    encoder, decoder = model.get_layer("lstm"), model.get_layer("lstm_1")
    assert len(encoder._inbound_nodes[0].output_tensors) == 3
    states = decoder._inbound_nodes[0].arguments.kwargs["initial_state"]
    assert [s._keras_history.tensor_index for s in states] == [1, 2]
    assert all(s._keras_history.operation is encoder for s in states)


def test_attention_takes_query_and_value_either_way(inline: Any) -> None:
    _, models = inline["attention"]
    model = models["attn"]
    for name in ("multi_head_attention", "multi_head_attention_1"):
        node = model.get_layer(name)._inbound_nodes[0]
        assert [t._keras_history.operation.name for t in node.input_tensors] == ["q", "v"]


def test_masking_is_checked_and_masks_the_lstm(inline: Any) -> None:
    import numpy as np

    spec, models = inline["masking"]
    graph, model = spec.graph("masked"), models["masked"]
    assert graph.params is not None and graph.params.total == model.count_params()
    masking = model.get_layer("masking")
    assert type(masking).__name__ == "Masking" and masking.mask_value == 0.0
    # Steps equal to mask_value are skipped: zero padding after a sequence changes nothing.
    steps = np.random.default_rng(0).normal(size=(1, 4, 3)).astype("float32") + 5
    padded = np.concatenate([steps, np.zeros((1, 3, 3), "float32")], axis=1)
    short_text = INLINE["masking"].replace("(7, 3)", "(4, 3)")
    short = kspec.loads(short_text, "short.kspec").build("masked")
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(padded, verbose=0), short.predict(steps, verbose=0))


def test_output_names_are_the_spec_names(inline: Any) -> None:
    spec, models = inline["named_outputs"]
    graph = spec.graph("heads")
    assert models["heads"].output_names == graph.output_names == ["score", "label"]


def test_unused_branch_is_left_out_like_keras_does(inline: Any) -> None:
    spec, models = inline["dead_branch"]
    graph = spec.graph("pruned")
    assert "dense_1" in [layer.name for layer in graph.layers]  # checked, then warned about
    assert [layer.name for layer in models["pruned"].layers] == ["x", "dense"]
    assert graph.params.total == models["pruned"].count_params()


def test_block_layers_carry_the_instance_name(inline: Any) -> None:
    spec, models = inline["blocks"]
    graph = spec.graph("resnet_tiny")
    in_blocks = [layer.name for layer in graph.layers if layer.block_path]
    assert "residual1_conv2d" in in_blocks and "residual3_add" in in_blocks
    assert set(in_blocks) <= {layer.name for layer in models["resnet_tiny"].layers}


# -- use "pkg.mod:Class" --------------------------------------------------------------------
USE_SPEC = """use "{target}"

model scaled {{
    input x: (5,)
    Dense(4)
    {name}(factor=2.0)
    Dense(1)
}}
"""


@pytest.fixture
def test_layers_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


@pytest.mark.usefixtures("test_layers_importable")
def test_use_builds_the_named_class() -> None:
    import kspec_test_layers

    spec = kspec.loads(USE_SPEC.format(target="kspec_test_layers:Scale", name="Scale"), "use.kspec")
    model = spec.build()
    scale = model.get_layer("scale")
    assert type(scale) is kspec_test_layers.Scale and scale.factor == 2.0
    assert weight_counts(scale).trainable == 4  # one weight per feature of Dense(4)
    assert_matches(spec.graph(), model)


@pytest.mark.usefixtures("test_layers_importable")
@pytest.mark.parametrize(
    ("target", "name", "words"),
    [
        ("kspec_no_such_module:Scale", "Scale", "cannot import module 'kspec_no_such_module'"),
        ("kspec_test_layers:Missing", "Missing", "module 'kspec_test_layers' has no 'Missing'"),
        ("kspec_test_layers:NOT_A_LAYER", "NOT_A_LAYER", "not a keras.layers.Layer subclass"),
    ],
)
def test_bad_use_names_the_use_line(target: str, name: str, words: str) -> None:
    spec = kspec.loads(USE_SPEC.format(target=target, name=name), "use.kspec", base=".")
    spec.checked  # noqa: B018  (checking alone never imports what `use` names)
    with pytest.raises(KspecError) as info:
        spec.build()
    (d,) = info.value.diagnostics
    assert d.code == "use-import" and words in d.message
    assert (d.span.path, d.span.line, d.span.column) == ("use.kspec", 1, 1)
    assert str(info.value).startswith("use.kspec:1:1: error: ")
    assert f'    1 | use "{target}"' in str(info.value)


@pytest.mark.usefixtures("test_layers_importable")
def test_bad_use_in_an_imported_file_names_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "layers.kspec").write_text('\nuse "kspec_test_layers:Missing"\n')
    main = tmp_path / "main.kspec"
    main.write_text('import "layers.kspec"\nmodel m {\n    input x: (3,)\n    Missing()\n}\n')
    spec = kspec.load(main)
    spec.checked  # noqa: B018
    parses: list[str] = []
    monkeypatch.setattr("kspec.syntax.parse.parse", lambda *a: parses.append(a[1]))
    with pytest.raises(KspecError) as info:
        spec.build()
    (d,) = info.value.diagnostics
    assert (Path(d.span.path).name, d.span.line, d.span.column) == ("layers.kspec", 2, 1)
    assert parses == []  # the builder reads the checked result; it parses nothing again


# -- Keras failures become diagnostics -------------------------------------------------------
USE_SCALE = 'use "kspec_test_layers:Scale"\n'


@pytest.mark.usefixtures("test_layers_importable")
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # Keras rejects an argument the static checker passes through as written
        ("model m {\n    input x: (7, 3)\n    Scale(facto=2.0)\n}", 4, "Scale 'scale'"),
        # a Sequential chain: Conv2D after an unchecked layer gets a rank-2 input
        (
            "model m {\n    input x: (7, 3)\n    Scale()\n    Flatten()\n    Conv2D(4, 3)\n}",
            6,
            "Conv2D 'conv2d'",
        ),
        # the same in a Functional model (two inputs)
        (
            "model m {\n    input x: (7, 3)\n    input y: (7, 3)\n"
            "    a = x -> Scale() -> Flatten()\n"
            "    output [a -> Conv2D(4, 3), y] -> Concatenate()\n}",
            6,
            "Conv2D 'conv2d'",
        ),
    ],
)
def test_keras_failure_points_at_the_layer(text: str, line: int, words: str) -> None:
    spec = kspec.loads(USE_SCALE + text, "bad.kspec")
    assert not [d for d in spec.check() if d.severity == "error"]
    with pytest.raises(KspecError) as info:
        spec.build()
    (d,) = info.value.diagnostics
    assert d.code == "keras-error" and words in d.message
    assert (d.span.path, d.span.line) == ("bad.kspec", line)
    assert f"bad.kspec:{line}:" in str(info.value)


# -- the API ------------------------------------------------------------------------------
def test_spec_build_picks_the_model() -> None:
    spec = kspec.load(EXAMPLES / "autoencoder.kspec")
    assert spec.build().name == "autoencoder"  # train.model
    assert spec.build(model="encoder").name == "encoder"
    with pytest.raises(KspecError, match="no model named 'nope'"):
        spec.build(model="nope")
