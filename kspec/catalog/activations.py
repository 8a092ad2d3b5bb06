"""Activation layers: Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax."""

from __future__ import annotations

from typing import Any

from kspec.catalog.base import (
    LayerSpec,
    Params,
    Shape,
    ShapeError,
    ints,
    number,
    optional,
    param,
    register,
    to_activation,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import axes, axis_dims, product, show


@register
@entry
class Activation(LayerSpec):
    """Applies an activation function element-wise."""

    keras_class = "keras.layers.Activation"
    family = "activations"
    positional = ("activation",)
    examples = (
        ({"activation": "relu"}, (10,)),
        ({"activation": "softmax"}, (None, 5)),
        ({"activation": "gelu"}, (4, 4, 3)),
        ({"activation": "tanh"}, (None,)),
    )

    activation: str | None = param(convert=to_activation)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x


@register
@entry
class ReLU(LayerSpec):
    """Rectified linear unit, optionally capped, leaky and thresholded."""

    keras_class = "keras.layers.ReLU"
    family = "activations"
    positional = ("max_value", "negative_slope", "threshold")
    examples = (
        ({}, (16,)),
        ({"max_value": 6.0}, (None, 8)),
        ({"negative_slope": 0.1, "threshold": 0.5}, (3, 4, 5)),
        ({"max_value": 1, "threshold": 0.2}, (None, None, 2)),
    )

    max_value: float | None = param(None, convert=optional(number), minimum=0)
    negative_slope: float = param(0.0, convert=number, minimum=0)
    threshold: float = param(0.0, convert=number, minimum=0)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x


@register
@entry
class LeakyReLU(LayerSpec):
    """ReLU with a small slope for negative inputs."""

    keras_class = "keras.layers.LeakyReLU"
    family = "activations"
    positional = ("negative_slope",)
    examples = (
        ({}, (10,)),
        ({"negative_slope": 0.2}, (None, 28, 28, 3)),
        ({"negative_slope": 0}, (5, None)),
    )

    negative_slope: float = param(0.3, convert=number, minimum=0)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x


@register
@entry
class PReLU(LayerSpec):
    """Leaky ReLU whose negative slope is learned, per element or shared along axes."""

    keras_class = "keras.layers.PReLU"
    family = "activations"
    examples = (
        ({}, (10,)),
        ({}, (4, 5)),
        ({"shared_axes": (1, 2)}, (None, None, 3)),
        ({"shared_axes": 1}, (None, 8)),
        ({"alpha_initializer": "ones", "shared_axes": [2]}, (6, 7, 2)),
    )

    alpha_initializer: Any = param("Zeros", convert=to_initializer)
    alpha_regularizer: Any = param(None, convert=to_regularizer)
    alpha_constraint: Any = param(None, convert=to_constraint)
    shared_axes: tuple[int, ...] | None = param(None, convert=optional(ints), minimum=1)

    def _alpha_shape(self, x: Shape) -> list[int | None]:
        shape = list(x)
        for axis in self.shared_axes or ():
            if axis > len(x):
                raise ShapeError(
                    f"PReLU: shared axis {axis} is out of range for the input {show(x)}",
                    help=f"shared_axes count from 1 (the first axis after the batch) to {len(x)}",
                )
            shape[axis - 1] = 1
        if None in shape:
            raise ShapeError(
                f"PReLU needs known sizes on the axes it does not share, got {show(x)}",
                help="share the unknown axes, e.g. shared_axes=(1, 2) for images",
            )
        return shape

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        self._alpha_shape(x)
        return x

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        return Params(product(self._alpha_shape(x)) or 0)


@register
@entry
class ELU(LayerSpec):
    """Exponential linear unit."""

    keras_class = "keras.layers.ELU"
    family = "activations"
    positional = ("alpha",)
    examples = (
        ({}, (10,)),
        ({"alpha": 0.5}, (None, 3)),
        ({"alpha": 2}, (4, None, 6)),
    )

    alpha: float = param(1.0, convert=number)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x


@register
@entry
class Softmax(LayerSpec):
    """Softmax over one axis or several."""

    keras_class = "keras.layers.Softmax"
    family = "activations"
    positional = ("axis",)
    examples = (
        ({}, (10,)),
        ({"axis": 1}, (5, 3)),
        ({"axis": -2}, (None, 4, 6)),
        ({"axis": (1, 2)}, (3, 4)),
    )

    axis: int | tuple[int, ...] = param(-1, convert=axes)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        axis_dims(self.axis, x, "Softmax")
        return x
