"""Adaptive pooling: AdaptiveAverage/MaxPooling1D/2D/3D pool any input to a fixed output_size."""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import LayerSpec, Shape, param, register, spatial
from kspec.catalog.record import entry
from kspec.catalog.shapes import join_channels, split_channels

Ints = tuple[int, ...]


@entry
class BaseAdaptivePooling(LayerSpec):
    """Keras's BaseAdaptivePooling arguments and rule: windows sized to give output_size."""

    family: ClassVar[str] = "pooling"
    rank: ClassVar[int]
    positional = ("output_size", "data_format")

    output_size: Ints = spatial(minimum=1)
    data_format: str | None = param(None, choices=("channels_last", "channels_first"))

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        _, channels = split_channels(x, self.rank, self.data_format, self.layer_name())
        return join_channels(self.output_size, channels, self.data_format)


_FIRST = {"data_format": "channels_first"}
_EXAMPLES: dict[int, Any] = {
    1: (
        ({"output_size": 4}, (16, 3)),
        ({"output_size": 5}, (None, 2)),
        ({**_FIRST, "output_size": 3}, (2, 10)),
    ),
    2: (
        ({"output_size": 4}, (16, 16, 3)),
        ({"output_size": (2, 3)}, (7, 9, 1)),
        ({**_FIRST, "output_size": 1}, (4, 8, 8)),
    ),
    3: (
        ({"output_size": 2}, (6, 6, 6, 2)),
        ({"output_size": (1, 2, 3)}, (4, 5, 6, 1)),
        ({**_FIRST, "output_size": 2}, (3, 4, 4, 4)),
    ),
}


@register
@entry
class AdaptiveAveragePooling1D(BaseAdaptivePooling):
    """Mean over steps of (steps, channels) inputs, in output_size windows."""

    keras_class = "keras.layers.AdaptiveAveragePooling1D"
    rank = 1
    examples = _EXAMPLES[1]


@register
@entry
class AdaptiveAveragePooling2D(BaseAdaptivePooling):
    """Mean over (height, width, channels) inputs, in windows giving output_size."""

    keras_class = "keras.layers.AdaptiveAveragePooling2D"
    rank = 2
    examples = _EXAMPLES[2]


@register
@entry
class AdaptiveAveragePooling3D(BaseAdaptivePooling):
    """Mean over (depth, height, width, channels) inputs, in windows giving output_size."""

    keras_class = "keras.layers.AdaptiveAveragePooling3D"
    rank = 3
    examples = _EXAMPLES[3]


@register
@entry
class AdaptiveMaxPooling1D(BaseAdaptivePooling):
    """Maximum over steps of (steps, channels) inputs, in output_size windows."""

    keras_class = "keras.layers.AdaptiveMaxPooling1D"
    rank = 1
    examples = _EXAMPLES[1]


@register
@entry
class AdaptiveMaxPooling2D(BaseAdaptivePooling):
    """Maximum over (height, width, channels) inputs, in windows giving output_size."""

    keras_class = "keras.layers.AdaptiveMaxPooling2D"
    rank = 2
    examples = _EXAMPLES[2]


@register
@entry
class AdaptiveMaxPooling3D(BaseAdaptivePooling):
    """Maximum over (depth, height, width, channels) inputs, in windows giving output_size."""

    keras_class = "keras.layers.AdaptiveMaxPooling3D"
    rank = 3
    examples = _EXAMPLES[3]
