"""A custom Keras layer for `use "kspec_test_layers:Scale"` in tests/test_build.py."""

from __future__ import annotations

from typing import Any

import keras


class Scale(keras.layers.Layer):
    """Multiplies each feature by a learned weight and a constant factor."""

    def __init__(self, factor: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape: Any) -> None:
        self.gamma = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="gamma")

    def call(self, x: Any) -> Any:
        return x * self.gamma * self.factor


NOT_A_LAYER = 42
