"""A Keras class name resolves in the module its place in the spec calls for."""

from __future__ import annotations

import pytest

from kspec.catalog import KerasObject
from kspec.catalog.names import object_module


def test_context_module_wins_when_it_has_the_class() -> None:
    assert object_module("BinaryCrossentropy", "keras.metrics") == "keras.metrics"
    assert object_module("BinaryCrossentropy", "keras.losses") == "keras.losses"
    assert object_module("Adam", "keras.metrics") == "keras.optimizers"
    assert object_module("CosineDecay") == "keras.optimizers.schedules"


@pytest.mark.keras
def test_builder_and_codegen_agree_on_a_metric_named_like_a_loss() -> None:
    import keras

    import kspec
    from kspec.keras.build import keras_value

    metric = keras_value(KerasObject("BinaryCrossentropy"), "keras.metrics")
    loss = keras_value(KerasObject("BinaryCrossentropy"), "keras.losses")
    assert isinstance(metric, keras.metrics.Metric)
    assert isinstance(loss, keras.losses.Loss)

    spec = kspec.loads(
        "model m {\n    input x: (4,)\n    Dense(1, activation=sigmoid)\n}\n"
        "data {\n    source = synthetic(samples=8)\n}\n"
        "train {\n    loss = BinaryCrossentropy()\n    metrics = [BinaryCrossentropy()]\n}\n",
        "objects.kspec",
    )
    script = spec.codegen()
    assert "loss=keras.losses.BinaryCrossentropy()" in script
    assert "metrics=[keras.metrics.BinaryCrossentropy()]" in script
