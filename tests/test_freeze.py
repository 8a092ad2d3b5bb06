"""Freezing and call arguments: `trainable=false` on every kind of step, `training=` and the
catalog's other non-tensor call arguments, each built in Keras and compared with the checker.

Expected counts come from the built Keras model (its trainable and non-trainable weights); the
static side is what `kspec summary` prints.
"""

from __future__ import annotations

import pytest
from test_build import weight_counts

import kspec
from kspec.catalog import Params
from kspec.diagnostics import KspecError

ENCODER = """
model encoder {
    input x: (8,)
    Dense(4)
    BatchNormalization()
}
block head(n) {
    input h
    Dense(n)
    BatchNormalization()
}
"""

# step kind -> model body after `input image: (8,)`; each freezes one kind of step
FROZEN = {
    "catalog layer": "Dense(6, trainable=false)\nBatchNormalization(trainable=false)\nDense(2)",
    "use'd layer": "MyDense(6, trainable=false)\nDense(2)",
    "unchecked keras layer": "RMSNormalization(trainable=false)\nDense(2)",
    "shared layer": "layer d = Dense(6, trainable=false)\nd(training=false)\nDense(2)",
    "shared layer at use": "layer d = Dense(6)\nd(trainable=false)\nDense(2)",
    "block call": "head(3, trainable=false)\nhead(2)",
    "model step": "encoder(trainable=false, training=false)\nDense(2)",
    "model in frozen block": "wrap(trainable=false)\nDense(2)",
}
WRAP = "block wrap() {\n    input h\n    h -> encoder -> Dense(4)\n}\n"


def spec_for(body: str) -> kspec.Spec:
    lines = "\n    ".join(body.splitlines())
    text = f'use "keras.layers:Dense" as MyDense\n{ENCODER}{WRAP}'
    text += f"model m {{\n    input image: (8,)\n    {lines}\n}}\ntrain {{ model = m }}\n"
    return kspec.loads(text, "freeze.kspec")


def static_split(spec: kspec.Spec) -> Params:
    s = spec.summary("m")
    return Params(s["trainable_params"], s["non_trainable_params"])


@pytest.mark.parametrize("body", FROZEN.values(), ids=FROZEN.keys())
def test_frozen_steps_are_marked(body: str) -> None:
    graph = spec_for(body).graph("m")
    assert any(not layer.trainable for layer in graph.layers)
    split = static_split(spec_for(body))
    if graph.params is not None:  # a `use`d layer's weights are not known statically
        assert split.non_trainable > 0 and split.trainable > 0


@pytest.mark.keras
@pytest.mark.parametrize("body", FROZEN.values(), ids=FROZEN.keys())
def test_frozen_split_equals_keras(body: str) -> None:
    spec = spec_for(body)
    model = spec.build("m")
    graph = spec.graph("m")
    if graph.params is not None:
        assert weight_counts(model) == static_split(spec)
    for layer in graph.layers:
        if not layer.trainable:
            assert not model.get_layer(layer.name).trainable_weights


@pytest.mark.keras
def test_call_arguments_reach_keras() -> None:
    spec = kspec.loads(
        "model m {\n"
        "    input q: (5, 8)\n"
        "    input v: (7, 8)\n"
        "    out, scores = [q, v] -> MultiHeadAttention(2, 4, return_attention_scores=true)\n"
        "    c = [q, q] -> MultiHeadAttention(2, 4, use_causal_mask=true)\n"
        "    d = [out, c] -> Concatenate()\n"
        "    output a = d -> Dropout(0.5, training=false)\n"
        "    output s = scores -> Dropout(0.1)\n"
        "}\n",
        "calls.kspec",
    )
    graph = spec.graph()
    model = spec.build()
    assert [tuple(o.shape[1:]) for o in model.outputs] == [t.shape for t in graph.outputs]
    assert graph.outputs[1].shape == (2, 5, 5)  # Keras's symbolic scores: (heads, Tq, Tq)
    options = [c.options for c in graph.calls if c.options]
    assert options == [
        {"return_attention_scores": True},
        {"use_causal_mask": True},
        {"training": False},
    ]


@pytest.mark.parametrize(
    ("body", "message", "help_"),
    [
        (
            "layer d = Dense(6)\nd(trainng=false)",
            "the shared layer 'd' has no call argument 'trainng'",
            "did you mean 'training'?",
        ),
        (
            "MultiHeadAttention(2, 4, use_casual_mask=true)",
            "MultiHeadAttention has no argument 'use_casual_mask'",
            "did you mean 'use_causal_mask'?",
        ),
        (
            "encoder(trainabel=false)",
            "the model 'encoder' has no call argument 'trainabel'",
            "did you mean 'trainable'?",
        ),
        ("Dense(3, trainable=0)", "trainable must be true or false, got an integer (0)", None),
        (
            "encoder(4)",
            "the model 'encoder' is already built: it takes no positional arguments",
            "it takes trainable=, training=",
        ),
    ],
)
def test_wrong_call_arguments(body: str, message: str, help_: str | None) -> None:
    with pytest.raises(KspecError) as err:
        spec_for(body).graph("m")
    d = err.value.diagnostics[0]
    assert (d.message, d.help) == (message, help_)


def test_conflicting_trainable_on_a_shared_layer() -> None:
    with pytest.raises(KspecError) as err:
        spec_for("layer d = Dense(8)\nd\nd(trainable=false)").graph("m")
    assert "'d' is trainable where it was first used" in err.value.diagnostics[0].message
