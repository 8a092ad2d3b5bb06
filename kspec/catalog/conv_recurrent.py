"""Convolutional LSTM layers: ConvLSTM1D/2D/3D, an LSTM whose transformations are convolutions."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from kspec.catalog.base import (
    ParamError,
    Params,
    Shape,
    ShapeError,
    boolean,
    integer,
    number,
    optional,
    param,
    register,
    spatial,
    to_activation,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.record import entry
from kspec.catalog.recurrent import _ALL, _SEQ, _Recurrent
from kspec.catalog.shapes import show, window_lengths

Ints = tuple[int, ...]
_AXES = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}


@entry
class BaseConvLSTM(_Recurrent):
    """Keras's ConvLSTM arguments and rule, declared once for ConvLSTM1D/2D/3D."""

    rank: ClassVar[int]
    positional = ("filters", "kernel_size", "strides", "padding")
    n_states, gates = 2, 4

    filters: int = param(convert=integer, minimum=1)
    kernel_size: Ints = spatial(minimum=1)
    strides: Ints = spatial(1, minimum=1, scalar_default=True)
    padding: str = param("valid", choices=("valid", "same"))
    data_format: str | None = param(None, choices=("channels_last", "channels_first"))
    dilation_rate: Ints = spatial(1, minimum=1, scalar_default=True)
    activation: str | None = param("tanh", convert=to_activation)
    recurrent_activation: str | None = param("sigmoid", convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    recurrent_initializer: Any = param("orthogonal", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    unit_forget_bias: bool = param(True, convert=boolean)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    recurrent_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    recurrent_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)
    dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    recurrent_dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    seed: int | None = param(None, convert=optional(integer))
    return_sequences: bool = param(False, convert=boolean)
    return_state: bool = param(False, convert=boolean)
    go_backwards: bool = param(False, convert=boolean)
    stateful: bool = param(False, convert=boolean)

    def validate(self) -> None:
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ParamError(
                "strides > 1 cannot be combined with dilation_rate > 1",
                arg="strides",
                help="use strides=1 or dilation_rate=1",
            )

    def _step_input(self, x: Shape) -> Shape:
        name, rank = self.layer_name(), self.rank
        axes = _AXES[rank]
        layout = (
            f"(batch, time, channels, {axes})"
            if self.data_format == "channels_first"
            else f"(batch, time, {axes}, channels)"
        )
        if len(x) != rank + 2:
            raise ShapeError(
                f"{name} expects a {rank + 3}-D input {layout}, got {show(x)}",
                help="add Reshape(...) before it to add the missing axes"
                if len(x) < rank + 2
                else None,
            )
        if None in x[1:]:
            raise ShapeError(
                f"{name} needs known {axes} and channels, got {show(x)}",
                help="only the time axis may be None",
            )
        return x[1:]

    def _step_output(self, step: Shape) -> Shape:
        first = self.data_format == "channels_first"
        spatial_axes = step[1:] if first else step[:-1]
        size = window_lengths(
            step, spatial_axes, self.kernel_size, self.strides, self.dilation_rate, self.padding
        )
        return (self.filters, *size) if first else (*size, self.filters)

    def count_params(self, x: Any, **tensors: Any) -> Params:
        channels = x[1] if self.data_format == "channels_first" else x[-1]
        window = math.prod(self.kernel_size)
        kernel = window * (channels + self.filters) * self.gates * self.filters
        return Params(kernel + (self.gates * self.filters if self.use_bias else 0))


@register
@entry
class ConvLSTM1D(BaseConvLSTM):
    """LSTM whose input and recurrent transformations are 1-D convolutions over sequences of
    (steps, channels) frames."""

    keras_class = "keras.layers.ConvLSTM1D"
    rank = 1
    examples = (
        ({"filters": 8, "kernel_size": 3}, (5, 16, 3)),
        ({**_SEQ, "filters": 4, "kernel_size": 5, "padding": "same"}, (None, 10, 2)),
        ({"filters": 6, "kernel_size": 3, "strides": 2, "return_state": True}, (4, 9, 1)),
        ({"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False}, (3, 8, 4)),
        ({**_ALL, "filters": 3, "kernel_size": 1, "go_backwards": True}, (2, 5, 3)),
        ({"filters": 3, "kernel_size": 3, "data_format": "channels_first"}, (4, 2, 9)),
    )


@register
@entry
class ConvLSTM2D(BaseConvLSTM):
    """LSTM whose input and recurrent transformations are 2-D convolutions over image sequences."""

    keras_class = "keras.layers.ConvLSTM2D"
    rank = 2
    examples = (
        ({"filters": 8, "kernel_size": 3}, (5, 16, 16, 3)),
        ({**_SEQ, "filters": 4, "kernel_size": (3, 5), "padding": "same"}, (None, 10, 12, 2)),
        ({"filters": 6, "kernel_size": 3, "strides": 2, "return_state": True}, (4, 9, 9, 1)),
        ({"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False}, (3, 8, 7, 4)),
        ({**_ALL, "filters": 3, "kernel_size": 1, "go_backwards": True}, (2, 5, 5, 3)),
    )


@register
@entry
class ConvLSTM3D(BaseConvLSTM):
    """LSTM whose input and recurrent transformations are 3-D convolutions over volume
    sequences."""

    keras_class = "keras.layers.ConvLSTM3D"
    rank = 3
    examples = (
        ({"filters": 4, "kernel_size": 3}, (3, 6, 6, 6, 2)),
        ({**_SEQ, "filters": 2, "kernel_size": (1, 3, 3), "padding": "same"}, (None, 4, 5, 6, 1)),
        ({"filters": 3, "kernel_size": 2, "strides": 2, "return_state": True}, (2, 5, 5, 5, 2)),
        ({"filters": 2, "kernel_size": 3, "data_format": "channels_first"}, (2, 3, 5, 5, 5)),
    )
