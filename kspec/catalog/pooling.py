"""Pooling layers: Max/AveragePooling1D/2D/3D and their global forms."""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import (
    LayerSpec,
    Shape,
    alias,
    boolean,
    param,
    register,
    spatial,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import join_channels, split_channels, window_lengths

Ints = tuple[int, ...]
FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same")


@entry
class BasePooling(LayerSpec):
    """Keras's BasePooling arguments and rule: a window of `pool_size` moved by `strides`
    (default: pool_size)."""

    family: ClassVar[str] = "pooling"
    rank: ClassVar[int]
    positional = ("pool_size", "strides", "padding")

    pool_size: Ints = spatial(minimum=1)
    strides: Ints | None = spatial(None, minimum=1, optional=True)
    padding: str = param("valid", choices=PADDINGS)
    data_format: str | None = param(None, choices=FORMATS)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        spatial, channels = split_channels(x, self.rank, self.data_format, self.layer_name())
        strides = self.strides or self.pool_size
        out = window_lengths(x, spatial, self.pool_size, strides, None, self.padding)
        return join_channels(out, channels, self.data_format)


@entry
class _MaxPooling(BasePooling):
    """Max pooling's pool_size defaults to 2 on every axis; average pooling's is required."""

    pool_size: Ints = spatial(2, minimum=1)


@register
@entry
class MaxPooling1D(_MaxPooling):
    """Maximum over windows of steps in (steps, channels) inputs."""

    keras_class = "keras.layers.MaxPooling1D"
    rank = 1
    examples = (
        ({}, (28, 8)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 4)),
        ({"pool_size": 3}, (10, 2)),
        ({"pool_size": 2, "strides": 1}, (7, 3)),
        ({"data_format": "channels_first"}, (4, 9)),
    )


@register
@entry
class MaxPooling2D(_MaxPooling):
    """Maximum over windows of (height, width, channels) inputs."""

    keras_class = "keras.layers.MaxPooling2D"
    rank = 2
    examples = (
        ({}, (28, 28, 8)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 15, 4)),
        ({"pool_size": (2, 3)}, (9, 10, 3)),
        ({"pool_size": 3, "strides": 1}, (7, 7, 2)),
        ({"pool_size": 2, "strides": (1, 2), "padding": "same"}, (5, 5, 1)),
        ({"data_format": "channels_first"}, (3, 11, 11)),
    )


@register
@entry
class MaxPooling3D(_MaxPooling):
    """Maximum over windows of (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.MaxPooling3D"
    rank = 3
    examples = (
        ({}, (8, 8, 8, 2)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 9, 7, 3)),
        ({"pool_size": (1, 2, 2)}, (5, 9, 10, 4)),
        ({"pool_size": 2, "strides": 1}, (3, 4, 5, 1)),
        ({"data_format": "channels_first"}, (3, 6, 7, 8)),
    )


@register
@entry
class AveragePooling1D(BasePooling):
    """Mean over windows of steps in (steps, channels) inputs."""

    keras_class = "keras.layers.AveragePooling1D"
    rank = 1
    examples = (
        ({"pool_size": 2}, (28, 8)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 4)),
        ({"pool_size": 4, "strides": 3}, (17, 2)),
        ({"pool_size": 5, "padding": "same"}, (12, 3)),
        ({"pool_size": 2, "data_format": "channels_first"}, (4, 9)),
    )


@register
@entry
class AveragePooling2D(BasePooling):
    """Mean over windows of (height, width, channels) inputs."""

    keras_class = "keras.layers.AveragePooling2D"
    rank = 2
    examples = (
        ({"pool_size": 2}, (28, 28, 8)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 15, 4)),
        ({"pool_size": (3, 2), "strides": (1, 2)}, (9, 10, 3)),
        ({"pool_size": 7}, (7, 7, 16)),
        ({"pool_size": 2, "data_format": "channels_first"}, (3, 11, 11)),
    )


@register
@entry
class AveragePooling3D(BasePooling):
    """Mean over windows of (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.AveragePooling3D"
    rank = 3
    examples = (
        ({"pool_size": 2}, (8, 8, 8, 2)),
        ({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 9, 7, 3)),
        ({"pool_size": (2, 1, 3), "strides": 1}, (5, 6, 7, 1)),
        ({"pool_size": 2, "data_format": "channels_first"}, (3, 6, 7, 8)),
    )


@entry
class BaseGlobalPooling(LayerSpec):
    """Keras's BaseGlobalPooling arguments and rule: reduce every spatial axis, keeping the
    channels."""

    family: ClassVar[str] = "pooling"
    rank: ClassVar[int]
    positional = ("data_format", "keepdims")

    data_format: str | None = param(None, choices=FORMATS)
    keepdims: bool = param(False, convert=boolean)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        _, channels = split_channels(x, self.rank, self.data_format, self.layer_name())
        if self.keepdims:
            return join_channels((1,) * self.rank, channels, self.data_format)
        return (channels,)


@register
@entry
class GlobalMaxPooling1D(BaseGlobalPooling):
    """Maximum over all steps of (steps, channels) inputs."""

    keras_class = "keras.layers.GlobalMaxPooling1D"
    rank = 1
    examples = (
        ({}, (10, 4)),
        ({"keepdims": True}, (None, 3)),
        ({"data_format": "channels_first"}, (4, 10)),
        ({"keepdims": True, "data_format": "channels_first"}, (5, None)),
    )


@register
@entry
class GlobalMaxPooling2D(BaseGlobalPooling):
    """Maximum over height and width of (height, width, channels) inputs."""

    keras_class = "keras.layers.GlobalMaxPooling2D"
    rank = 2
    examples = (
        ({}, (7, 7, 64)),
        ({"keepdims": True}, (None, None, 3)),
        ({"data_format": "channels_first"}, (8, 5, 6)),
        ({"keepdims": True, "data_format": "channels_first"}, (2, 4, 4)),
    )


@register
@entry
class GlobalMaxPooling3D(BaseGlobalPooling):
    """Maximum over depth, height and width of (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.GlobalMaxPooling3D"
    rank = 3
    examples = (
        ({}, (4, 5, 6, 8)),
        ({"keepdims": True}, (None, 3, 3, 2)),
        ({"data_format": "channels_first"}, (3, 4, 5, 6)),
    )


@register
@entry
class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over all steps of (steps, channels) inputs."""

    keras_class = "keras.layers.GlobalAveragePooling1D"
    rank = 1
    examples = (
        ({}, (10, 4)),
        ({"keepdims": True}, (None, 3)),
        ({"data_format": "channels_first"}, (4, 10)),
        ({"keepdims": True, "data_format": "channels_first"}, (5, 7)),
    )


@register
@entry
class GlobalAveragePooling2D(BaseGlobalPooling):
    """Mean over height and width of (height, width, channels) inputs."""

    keras_class = "keras.layers.GlobalAveragePooling2D"
    rank = 2
    examples = (
        ({}, (7, 7, 64)),
        ({"keepdims": True}, (None, None, 3)),
        ({"data_format": "channels_first"}, (8, 5, 6)),
        ({"keepdims": True, "data_format": "channels_first"}, (2, 4, 4)),
    )


@register
@entry
class GlobalAveragePooling3D(BaseGlobalPooling):
    """Mean over depth, height and width of (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.GlobalAveragePooling3D"
    rank = 3
    examples = (
        ({}, (4, 5, 6, 8)),
        ({"keepdims": True}, (None, 3, 3, 2)),
        ({"data_format": "channels_first"}, (3, 4, 5, 6)),
    )


for _n in (1, 2, 3):
    alias(f"MaxPool{_n}D", f"MaxPooling{_n}D")
    alias(f"AvgPool{_n}D", f"AveragePooling{_n}D")
    alias(f"GlobalMaxPool{_n}D", f"GlobalMaxPooling{_n}D")
    alias(f"GlobalAvgPool{_n}D", f"GlobalAveragePooling{_n}D")
