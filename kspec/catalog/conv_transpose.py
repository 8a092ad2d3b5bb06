"""Transposed convolution layers: Conv1DTranspose, Conv2DTranspose, Conv3DTranspose."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from kspec.catalog.base import (
    LayerSpec,
    ParamError,
    Params,
    Shape,
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
from kspec.catalog.shapes import deconv_length, join_channels, known_channels

Ints = tuple[int, ...]
FORMATS = ("channels_last", "channels_first")
PADDINGS = ("valid", "same")


@entry
class BaseConvTranspose(LayerSpec):
    """Keras's BaseConvTranspose arguments and rule: each input step spreads a kernel over
    `strides` output steps."""

    family: ClassVar[str] = "conv"
    rank: ClassVar[int]
    positional = ("filters", "kernel_size", "strides", "padding")

    filters: int = param(convert=integer, minimum=1)
    kernel_size: Ints = spatial(minimum=1)
    strides: Ints = spatial(1, minimum=1)
    padding: str = param("valid", choices=PADDINGS)
    output_padding: Ints | None = spatial(None, minimum=0, optional=True)
    data_format: str | None = param(None, choices=FORMATS)
    dilation_rate: Ints = spatial(1, minimum=1)
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
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ParamError(
                f"strides > 1 cannot be combined with dilation_rate > 1, got "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}",
                arg="dilation_rate",
                help="use strides=1 with a dilation, or dilation_rate=1 with strides",
            )
        if self.output_padding is not None:
            for pad, stride in zip(self.output_padding, self.strides, strict=True):
                if pad >= stride:
                    raise ParamError(
                        f"output_padding must be smaller than strides on every axis, got "
                        f"output_padding={self.output_padding} and strides={self.strides}",
                        arg="output_padding",
                    )

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        spatial, _ = known_channels(x, self.rank, self.data_format, self.layer_name())
        pads = self.output_padding or (None,) * self.rank
        axes = zip(spatial, self.kernel_size, self.strides, self.dilation_rate, pads, strict=True)
        out = tuple(deconv_length(n, k, s, d, self.padding, p) for n, k, s, d, p in axes)
        return join_channels(out, self.filters, self.data_format)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        _, channels = known_channels(x, self.rank, self.data_format, self.layer_name())
        kernel = math.prod(self.kernel_size) * self.filters * channels
        return Params(kernel + (self.filters if self.use_bias else 0))


@register
@entry
class Conv1DTranspose(BaseConvTranspose):
    """Transposed (upsampling) 1-D convolution over (steps, channels) inputs."""

    keras_class = "keras.layers.Conv1DTranspose"
    rank = 1
    examples = (
        ({"filters": 8, "kernel_size": 3}, (10, 4)),
        ({"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"}, (None, 3)),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1}, (7, 5)),
        ({"filters": 3, "kernel_size": 2, "strides": 3, "use_bias": False}, (5, 2)),
        ({"filters": 3, "kernel_size": 3, "dilation_rate": 2, "activation": "relu"}, (6, 2)),
        ({"filters": 2, "kernel_size": 3, "strides": 2, "data_format": "channels_first"}, (3, 6)),
    )


@register
@entry
class Conv2DTranspose(BaseConvTranspose):
    """Transposed (upsampling) 2-D convolution over (height, width, channels) inputs."""

    keras_class = "keras.layers.Conv2DTranspose"
    rank = 2
    examples = (
        ({"filters": 16, "kernel_size": 3, "strides": 2, "padding": "same"}, (7, 7, 32)),
        ({"filters": 3, "kernel_size": (3, 4), "strides": (2, 1)}, (5, 6, 8)),
        (
            {"filters": 8, "kernel_size": 5, "strides": 2, "padding": "same", "output_padding": 1},
            (None, 9, 4),
        ),
        ({"filters": 4, "kernel_size": 3, "dilation_rate": 2, "use_bias": False}, (6, 6, 2)),
        ({"filters": 2, "kernel_size": 2, "strides": 3, "activation": "sigmoid"}, (4, 5, 3)),
        (
            {"filters": 4, "kernel_size": 3, "strides": 2, "data_format": "channels_first"},
            (3, 8, 8),
        ),
    )


@register
@entry
class Conv3DTranspose(BaseConvTranspose):
    """Transposed (upsampling) 3-D convolution over (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.Conv3DTranspose"
    rank = 3
    examples = (
        ({"filters": 4, "kernel_size": 3}, (4, 4, 4, 2)),
        ({"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, (None, 5, 6, 3)),
        (
            {"filters": 3, "kernel_size": 3, "strides": (1, 2, 2), "output_padding": (0, 1, 1)},
            (3, 4, 5, 2),
        ),
        ({"filters": 2, "kernel_size": (1, 3, 3), "use_bias": False}, (3, 3, 3, 4)),
        (
            {"filters": 2, "kernel_size": 3, "strides": 2, "data_format": "channels_first"},
            (3, 4, 4, 4),
        ),
    )
