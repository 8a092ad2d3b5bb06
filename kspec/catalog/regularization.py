"""Regularization layers: Dropout and its spatial, Gaussian and alpha variants, noise, penalties."""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import (
    LayerSpec,
    Shape,
    ShapeError,
    integer,
    number,
    optional,
    param,
    register,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import dims, show, split_channels

DATA_FORMATS = ("channels_last", "channels_first")


def check_noise_shape(noise_shape: tuple[int | None, ...] | None, x: Shape, layer: str) -> None:
    """noise_shape has the input's rank (batch included) and each size is 1 or the input's."""
    if noise_shape is None:
        return
    noise = "(" + ", ".join("None" if n is None else str(n) for n in noise_shape) + ")"
    if len(noise_shape) != len(x) + 1:
        raise ShapeError(
            f"{layer}: noise_shape {noise} has {len(noise_shape)} axes but the "
            f"input {show(x)} has {len(x) + 1}",
            help="noise_shape includes the batch axis: one entry per input axis",
        )
    for n, d in zip(noise_shape[1:], x, strict=True):
        if n is not None and d is not None and n not in (1, d):
            raise ShapeError(
                f"{layer}: noise_shape {noise} does not broadcast to the input {show(x)}",
                help="each noise_shape entry must be 1, none, or the input's size",
            )


@register
@entry
class Dropout(LayerSpec):
    """Randomly zeroes a fraction `rate` of the inputs during training."""

    training_default = False

    keras_class = "keras.layers.Dropout"
    family = "regularization"
    positional = ("rate",)
    examples = (
        ({"rate": 0.5}, (10,)),
        ({"rate": 0.2, "seed": 42}, (None, 16)),
        ({"rate": 0.0}, (3, 4, 5)),
        ({"rate": 0.3, "noise_shape": (None, 1, 8)}, (None, 8)),
        ({"rate": 0.1, "noise_shape": [None, 1, 1, 3]}, (28, 28, 3)),
    )

    rate: float = param(convert=number, minimum=0, maximum=1, exclusive_max=True)
    noise_shape: tuple[int | None, ...] | None = param(None, convert=optional(dims), minimum=1)
    seed: int | None = param(None, convert=optional(integer))

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        check_noise_shape(self.noise_shape, x, self.layer_name())
        return x


@entry
class _SpatialDropout(LayerSpec):
    """Dropout of whole feature maps: shared by SpatialDropout1D, 2D and 3D."""

    training_default = False

    rank: ClassVar[int]
    family = "regularization"
    positional = ("rate",)

    rate: float = param(convert=number, minimum=0, maximum=1, exclusive_max=True)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        split_channels(x, self.rank, getattr(self, "data_format", None), self.layer_name())
        return x


@register
@entry
class SpatialDropout1D(_SpatialDropout):
    """Drops entire 1-D feature maps (channels) of (steps, channels) inputs."""

    keras_class = "keras.layers.SpatialDropout1D"
    rank = 1
    examples = (
        ({"rate": 0.5}, (10, 4)),
        ({"rate": 0.2, "seed": 1}, (None, 16)),
        ({"rate": 0.1}, (None, None)),
    )

    seed: int | None = param(None, convert=optional(integer))


@register
@entry
class SpatialDropout2D(_SpatialDropout):
    """Drops entire 2-D feature maps (channels) of image inputs."""

    keras_class = "keras.layers.SpatialDropout2D"
    rank = 2
    examples = (
        ({"rate": 0.5}, (28, 28, 3)),
        ({"rate": 0.25, "data_format": "channels_first"}, (3, 32, 32)),
        ({"rate": 0.1, "seed": 7}, (None, None, 8)),
    )

    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))


@register
@entry
class SpatialDropout3D(_SpatialDropout):
    """Drops entire 3-D feature maps (channels) of volume inputs."""

    keras_class = "keras.layers.SpatialDropout3D"
    rank = 3
    examples = (
        ({"rate": 0.5}, (8, 8, 8, 2)),
        ({"rate": 0.3, "data_format": "channels_first"}, (2, None, 6, 6)),
        ({"rate": 0.2, "seed": 3}, (None, 4, 4, 1)),
    )

    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))


@register
@entry
class GaussianNoise(LayerSpec):
    """Adds zero-centered Gaussian noise with standard deviation `stddev` during training."""

    training_default = False

    keras_class = "keras.layers.GaussianNoise"
    family = "regularization"
    positional = ("stddev",)
    examples = (
        ({"stddev": 0.1}, (10,)),
        ({"stddev": 1.0, "seed": 5}, (None, 4, 4)),
        ({"stddev": 0}, (28, 28, 1)),
    )

    stddev: float = param(convert=number, minimum=0, maximum=1)
    seed: int | None = param(None, convert=optional(integer))

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x


@register
@entry
class GaussianDropout(LayerSpec):
    """Multiplies the inputs by Gaussian noise centered on 1 during training."""

    training_default = False

    keras_class = "keras.layers.GaussianDropout"
    family = "regularization"
    positional = ("rate",)
    examples = (
        ({"rate": 0.3}, (10,)),
        ({"rate": 0.5, "seed": 2}, (None, 7)),
        ({"rate": 0.1}, (5, None, 3)),
    )

    rate: float = param(convert=number, minimum=0, maximum=1, exclusive_max=True)
    seed: int | None = param(None, convert=optional(integer))

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x


@register
@entry
class AlphaDropout(LayerSpec):
    """Dropout that keeps the mean and variance of self-normalizing (SELU) activations."""

    training_default = False

    keras_class = "keras.layers.AlphaDropout"
    family = "regularization"
    positional = ("rate",)
    examples = (
        ({"rate": 0.1}, (10,)),
        ({"rate": 0.2, "noise_shape": (None, 1, 6)}, (4, 6)),
        ({"rate": 0.05, "seed": 9}, (None, None)),
    )

    rate: float = param(convert=number, minimum=0, maximum=1, exclusive_max=True)
    noise_shape: tuple[int | None, ...] | None = param(None, convert=optional(dims), minimum=1)
    seed: int | None = param(None, convert=optional(integer))

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        check_noise_shape(self.noise_shape, x, "AlphaDropout")
        return x


@register
@entry
class ActivityRegularization(LayerSpec):
    """Passes its input through and adds an L1/L2 penalty on it to the loss."""

    keras_class = "keras.layers.ActivityRegularization"
    family = "regularization"
    examples = (
        ({}, (10,)),
        ({"l1": 0.01}, (None, 5)),
        ({"l1": 1e-4, "l2": 1e-3}, (3, 3, 2)),
    )

    l1: float = param(0.0, convert=number, minimum=0)
    l2: float = param(0.0, convert=number, minimum=0)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return x
