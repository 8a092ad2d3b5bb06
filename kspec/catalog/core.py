"""Core layers: Dense, EinsumDense, Activation and friends, Dropout and noise, Flatten, Reshape."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kspec.catalog.base import (  # noqa: F401
    LayerSpec,
    boolean,
    Params,
    ParamError,
    Shape,
    ShapeError,
    integer,
    ints,
    number,
    optional,
    param,
    register,
    string,
    to_activation,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.shapes import expect_min_rank, product, show


@register
@dataclass(frozen=True, kw_only=True)
class Dense(LayerSpec):
    """Fully connected layer on the last axis."""

    keras_class = "keras.layers.Dense"
    positional = ("units", "activation", "use_bias")
    examples = (
        ({"units": 10}, (64,)),
        ({"units": 3, "use_bias": False}, (5, 7)),
        ({"units": 1, "activation": "sigmoid"}, (None, 4)),
        ({"units": 16, "activation": "relu"}, (2, 3, 8)),
    )

    units: int = param(convert=integer, minimum=1)
    activation: str | None = param(None, convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)

    def output_shape(self, x: Shape, **tensors: Any) -> Shape:
        expect_min_rank(x, 1, "Dense")
        if x[-1] is None:
            raise ShapeError(f"Dense needs a known last axis, got {show(x)}")
        return (*x[:-1], self.units)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        assert x[-1] is not None
        return Params(x[-1] * self.units + (self.units if self.use_bias else 0))
