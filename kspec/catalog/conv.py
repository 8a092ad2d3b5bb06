"""Convolution layers: Conv1D/2D/3D, SeparableConv1D/2D, DepthwiseConv1D/2D."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from kspec.catalog.base import (
    LayerSpec,
    ParamError,
    Params,
    Shape,
    ShapeError,
    alias,
    boolean,
    integer,
    param,
    register,
    spatial,
    to_activation,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import (
    join_channels,
    known_channels,
    show,
    window_lengths,
)

Ints = tuple[int, ...]
FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same")


class _Windowed(LayerSpec):
    """Shared rule of the convolutions here: a window slid over `rank` spatial axes."""

    family: ClassVar[str] = "conv"
    rank: ClassVar[int]
    kernel_size: Ints
    strides: Ints
    padding: str
    data_format: str | None
    dilation_rate: Ints
    use_bias: bool

    def _input(self, x: Shape) -> tuple[Shape, int]:
        return known_channels(x, self.rank, self.data_format, self.layer_name())

    def _spatial(self, x: Shape, spatial: Shape) -> tuple[int | None, ...]:
        return window_lengths(
            x, spatial, self.kernel_size, self.strides, self.dilation_rate, self.padding
        )


def _no_strided_dilation(strides: Ints, dilation_rate: Ints) -> None:
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ParamError(
            f"strides > 1 cannot be combined with dilation_rate > 1, got strides={strides} "
            f"and dilation_rate={dilation_rate}",
            arg="dilation_rate",
            help="use strides=1 with a dilation, or dilation_rate=1 with strides",
        )


@entry
class BaseConv(_Windowed):
    """Keras's BaseConv arguments, declared once for Conv1D/2D/3D."""

    positional = ("filters", "kernel_size", "strides", "padding")

    filters: int = param(convert=integer, minimum=1)
    kernel_size: Ints = spatial(minimum=1)
    strides: Ints = spatial(1, minimum=1)
    padding: str = param("valid", choices=PADDINGS)
    data_format: str | None = param(None, choices=FORMATS)
    dilation_rate: Ints = spatial(1, minimum=1)
    groups: int = param(1, convert=integer, minimum=1)
    activation: str | None = param(None, convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)

    def validate(self) -> None:
        if self.filters % self.groups:
            raise ParamError(
                f"filters ({self.filters}) must be divisible by groups ({self.groups})",
                arg="groups",
            )
        _no_strided_dilation(self.strides, self.dilation_rate)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        spatial, channels = self._input(x)
        if channels % self.groups:
            raise ShapeError(
                f"{self.layer_name()} input channels ({channels}) must be divisible by "
                f"groups ({self.groups}), got {show(x)}"
            )
        return join_channels(self._spatial(x, spatial), self.filters, self.data_format)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        _, channels = self._input(x)
        kernel = math.prod(self.kernel_size) * (channels // self.groups) * self.filters
        return Params(kernel + (self.filters if self.use_bias else 0))


@register
@entry
class Conv1D(BaseConv):
    """1-D convolution over (steps, channels) inputs."""

    keras_class = "keras.layers.Conv1D"
    rank = 1
    examples = (
        ({"filters": 8, "kernel_size": 3}, (28, 4)),
        ({"filters": 6, "kernel_size": 5, "strides": 2, "padding": "same"}, (None, 4)),
        ({"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (17, 3)),
        ({"filters": 8, "kernel_size": 3, "groups": 2, "use_bias": False}, (10, 6)),
        ({"filters": 5, "kernel_size": 4, "strides": 3, "activation": "relu"}, (19, 2)),
        ({"filters": 3, "kernel_size": 3, "data_format": "channels_first"}, (4, 12)),
    )

    padding: str = param("valid", choices=("valid", "same", "causal"))


@register
@entry
class Conv2D(BaseConv):
    """2-D convolution over (height, width, channels) inputs."""

    keras_class = "keras.layers.Conv2D"
    rank = 2
    examples = (
        ({"filters": 8, "kernel_size": 3}, (28, 28, 1)),
        ({"filters": 6, "kernel_size": (3, 5), "strides": 2, "padding": "same"}, (None, 19, 4)),
        ({"filters": 4, "kernel_size": 3, "dilation_rate": 2}, (15, 13, 3)),
        ({"filters": 8, "kernel_size": 1, "groups": 4, "use_bias": False}, (7, 7, 12)),
        (
            {"filters": 16, "kernel_size": (2, 3), "strides": (2, 1), "activation": "relu"},
            (11, 10, 3),
        ),
        ({"filters": 5, "kernel_size": 3, "data_format": "channels_first"}, (3, 32, 30)),
    )


@register
@entry
class Conv3D(BaseConv):
    """3-D convolution over (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.Conv3D"
    rank = 3
    examples = (
        ({"filters": 4, "kernel_size": 3}, (10, 10, 10, 1)),
        (
            {"filters": 2, "kernel_size": (1, 3, 3), "strides": 2, "padding": "same"},
            (None, 9, 7, 3),
        ),
        ({"filters": 6, "kernel_size": 2, "groups": 3, "use_bias": False}, (5, 6, 7, 3)),
        ({"filters": 3, "kernel_size": 3, "dilation_rate": (1, 2, 2)}, (4, 9, 9, 2)),
        ({"filters": 4, "kernel_size": (2, 3, 3), "strides": (1, 2, 2)}, (5, 11, 8, 2)),
        ({"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, (3, 8, 8, 8)),
    )


@entry
class BaseSeparableConv(_Windowed):
    """Keras's BaseSeparableConv arguments, declared once for SeparableConv1D/2D."""

    positional = ("filters", "kernel_size", "strides", "padding")

    filters: int = param(convert=integer, minimum=1)
    kernel_size: Ints = spatial(minimum=1)
    strides: Ints = spatial(1, minimum=1)
    padding: str = param("valid", choices=PADDINGS)
    data_format: str | None = param(None, choices=FORMATS)
    dilation_rate: Ints = spatial(1, minimum=1)
    depth_multiplier: int = param(1, convert=integer, minimum=1)
    activation: str | None = param(None, convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    depthwise_initializer: Any = param("glorot_uniform", convert=to_initializer)
    pointwise_initializer: Any = param("glorot_uniform", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    depthwise_regularizer: Any = param(None, convert=to_regularizer)
    pointwise_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    depthwise_constraint: Any = param(None, convert=to_constraint)
    pointwise_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        spatial, _ = self._input(x)
        return join_channels(self._spatial(x, spatial), self.filters, self.data_format)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        _, channels = self._input(x)
        depthwise = math.prod(self.kernel_size) * channels * self.depth_multiplier
        pointwise = channels * self.depth_multiplier * self.filters
        return Params(depthwise + pointwise + (self.filters if self.use_bias else 0))


@register
@entry
class SeparableConv1D(BaseSeparableConv):
    """Depthwise then pointwise 1-D convolution over (steps, channels) inputs."""

    keras_class = "keras.layers.SeparableConv1D"
    rank = 1
    examples = (
        ({"filters": 8, "kernel_size": 3}, (20, 4)),
        (
            {
                "filters": 4,
                "kernel_size": 5,
                "strides": 2,
                "padding": "same",
                "depth_multiplier": 2,
            },
            (None, 3),
        ),
        ({"filters": 6, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (16, 5)),
        ({"filters": 2, "kernel_size": 4, "strides": 3, "activation": "tanh"}, (19, 2)),
        ({"filters": 3, "kernel_size": 3, "data_format": "channels_first"}, (4, 10)),
    )


@register
@entry
class SeparableConv2D(BaseSeparableConv):
    """Depthwise then pointwise 2-D convolution over (height, width, channels) inputs."""

    keras_class = "keras.layers.SeparableConv2D"
    rank = 2
    examples = (
        ({"filters": 32, "kernel_size": 3}, (28, 28, 3)),
        (
            {
                "filters": 16,
                "kernel_size": (3, 5),
                "strides": 2,
                "padding": "same",
                "depth_multiplier": 3,
            },
            (None, 15, 4),
        ),
        ({"filters": 8, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (13, 13, 6)),
        (
            {"filters": 4, "kernel_size": (2, 3), "strides": (1, 2), "activation": "relu"},
            (9, 10, 2),
        ),
        ({"filters": 6, "kernel_size": 3, "data_format": "channels_first"}, (3, 12, 12)),
    )


@entry
class BaseDepthwiseConv(_Windowed):
    """Keras's BaseDepthwiseConv arguments, declared once for DepthwiseConv1D/2D."""

    positional = ("kernel_size", "strides", "padding", "depth_multiplier")

    kernel_size: Ints = spatial(minimum=1)
    strides: Ints = spatial(1, minimum=1)
    padding: str = param("valid", choices=PADDINGS)
    depth_multiplier: int = param(1, convert=integer, minimum=1)
    data_format: str | None = param(None, choices=FORMATS)
    dilation_rate: Ints = spatial(1, minimum=1)
    activation: str | None = param(None, convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    depthwise_initializer: Any = param("glorot_uniform", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    depthwise_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    depthwise_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        spatial, channels = self._input(x)
        out = channels * self.depth_multiplier
        return join_channels(self._spatial(x, spatial), out, self.data_format)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        _, channels = self._input(x)
        out = channels * self.depth_multiplier
        return Params(math.prod(self.kernel_size) * out + (out if self.use_bias else 0))


@register
@entry
class DepthwiseConv1D(BaseDepthwiseConv):
    """Per-channel 1-D convolution over (steps, channels) inputs."""

    keras_class = "keras.layers.DepthwiseConv1D"
    rank = 1
    examples = (
        ({"kernel_size": 3}, (20, 4)),
        ({"kernel_size": 5, "strides": 2, "padding": "same", "depth_multiplier": 2}, (None, 3)),
        ({"kernel_size": 3, "dilation_rate": 3, "use_bias": False}, (17, 6)),
        ({"kernel_size": 4, "strides": 3, "activation": "relu"}, (19, 2)),
        ({"kernel_size": 3, "depth_multiplier": 2, "data_format": "channels_first"}, (4, 10)),
    )


@register
@entry
class DepthwiseConv2D(BaseDepthwiseConv):
    """Per-channel 2-D convolution over (height, width, channels) inputs."""

    keras_class = "keras.layers.DepthwiseConv2D"
    rank = 2
    examples = (
        ({"kernel_size": 3}, (28, 28, 8)),
        (
            {"kernel_size": (3, 5), "strides": 2, "padding": "same", "depth_multiplier": 2},
            (None, 19, 4),
        ),
        ({"kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (11, 12, 3)),
        (
            {"kernel_size": 3, "strides": 2, "depth_multiplier": 4, "activation": "relu6"},
            (15, 15, 2),
        ),
        ({"kernel_size": (1, 3), "data_format": "channels_first"}, (3, 9, 9)),
    )


for _n in (1, 2, 3):
    alias(f"Convolution{_n}D", f"Conv{_n}D")
    alias(f"Convolution{_n}DTranspose", f"Conv{_n}DTranspose")
for _n in (1, 2):
    alias(f"SeparableConvolution{_n}D", f"SeparableConv{_n}D")
