"""Recurrent layers (SimpleRNN, LSTM, GRU, ConvLSTM2D), Bidirectional and TimeDistributed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from kspec.catalog.base import (
    LayerSpec,
    ParamError,
    Params,
    Shape,
    ShapeError,
    boolean,
    describe,
    integer,
    number,
    optional,
    pair,
    param,
    register,
    to_activation,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.shapes import show, window_lengths


def to_cudnn(value: Any) -> bool | str:
    """LSTM/GRU's use_cudnn: true, false or 'auto'."""
    if isinstance(value, bool):
        return value
    if value == "auto":
        return "auto"
    raise ParamError(f"expected true, false or 'auto', got {describe(value)}", code="wrong-kind")


def _fits(got: Shape, want: Shape) -> bool:
    return len(got) == len(want) and all(
        g is None or w is None or g == w for g, w in zip(got, want, strict=True)
    )


# Example arguments: sequences out, and sequences plus final states out.
_SEQ: dict[str, Any] = {"return_sequences": True}
_ALL: dict[str, Any] = {"return_sequences": True, "return_state": True}


class _Recurrent(LayerSpec):
    """Shared rule of the recurrent layers: a loop over axis 1 of the input."""

    family: ClassVar[str] = "recurrent"
    call_tensors = ("initial_state", "mask")
    n_states: ClassVar[int] = 1
    units: int
    filters: int
    use_bias: bool
    return_sequences: bool
    return_state: bool
    go_backwards: bool
    stateful: bool

    gates: ClassVar[int] = 1  # kernels stacked per gate: LSTM 4, GRU 3

    def _step_output(self, step: Shape) -> Shape:
        """Shape of one step's output (and of each state) for one step's input."""
        return (self.units,)

    def _step_input(self, x: Shape) -> Shape:
        name = self.layer_name()
        if len(x) != 2:
            help = "add Reshape((timesteps, features)) or an Embedding before it"
            if len(x) > 2:
                help = "add TimeDistributed(Flatten()) or Reshape((timesteps, features)) before it"
            raise ShapeError(
                f"{name} expects a 3-D input (batch, timesteps, features), got {show(x)}", help=help
            )
        if x[1] is None:
            raise ShapeError(f"{name} needs a known features axis, got {show(x)}")
        return x[1:]

    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        name = self.layer_name()
        if not isinstance(x, tuple):
            raise ShapeError(f"{name} is called on one sequence, got a list of {len(x)} inputs")
        state = self._step_output(self._step_input(x))
        if getattr(self, "unroll", False) and x[0] is None:
            raise ShapeError(
                f"{name} cannot unroll a sequence of unknown length {show(x)}",
                help="give the input a fixed number of timesteps, or unroll=false",
            )
        initial = tensors.get("initial_state")
        if initial is not None:
            states = [initial] if isinstance(initial, tuple) else list(initial)
            if len(states) != self.n_states or not all(_fits(s, state) for s in states):
                want = " and ".join([show(state)] * self.n_states)
                got = ", ".join(show(s) for s in states) or "none"
                raise ShapeError(
                    f"{name} initial_state must be {self.n_states} tensor"
                    f"{'s' if self.n_states > 1 else ''} {want}, got {got}"
                )
        mask = tensors.get("mask")
        if mask is not None and not _fits(mask, (x[0],)):
            raise ShapeError(
                f"{name} mask must have shape (batch, timesteps) {show((x[0],))}, got {show(mask)}"
            )
        out = (x[0], *state) if self.return_sequences else state
        return [out, *[state] * self.n_states] if self.return_state else out

    def count_params(self, x: Any, **tensors: Any) -> Params:
        units, features = self.units, x[-1]
        # GRU's reset_after keeps separate input and recurrent biases: shape (2, 3 * units).
        biases = 2 if getattr(self, "reset_after", False) else 1
        bias = biases * self.gates * units if self.use_bias else 0
        return Params((features + units) * self.gates * units + bias)

    def size(self) -> int:
        """Output features per step (units or filters)."""
        return getattr(self, "units", None) or self.filters


@register
@dataclass(frozen=True, kw_only=True)
class SimpleRNN(_Recurrent):
    """Fully connected recurrent layer whose output is fed back as the next step's state."""

    keras_class = "keras.layers.SimpleRNN"
    positional = ("units",)
    examples = (
        ({"units": 8}, (10, 4)),
        ({"units": 16, "return_sequences": True}, (None, 3)),
        ({"units": 4, "return_state": True}, (7, 5)),
        ({**_ALL, "units": 6, "go_backwards": True}, (5, 2)),
        ({"units": 3, "unroll": True, "use_bias": False, "activation": "relu"}, (4, 6)),
        ({"units": 5, "dropout": 0.2, "recurrent_dropout": 0.1}, (None, 8)),
    )

    units: int = param(convert=integer, minimum=1)
    activation: str | None = param("tanh", convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    recurrent_initializer: Any = param("orthogonal", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    recurrent_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    recurrent_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)
    dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    recurrent_dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    return_sequences: bool = param(False, convert=boolean)
    return_state: bool = param(False, convert=boolean)
    go_backwards: bool = param(False, convert=boolean)
    stateful: bool = param(False, convert=boolean)
    unroll: bool = param(False, convert=boolean)
    seed: int | None = param(None, convert=optional(integer))


@register
@dataclass(frozen=True, kw_only=True)
class LSTM(_Recurrent):
    """Long short-term memory layer; its state is [hidden, carry]."""

    keras_class = "keras.layers.LSTM"
    positional = ("units",)
    n_states, gates = 2, 4
    examples = (
        ({"units": 32}, (10, 8)),
        ({"units": 16, "return_sequences": True}, (None, 12)),
        ({"units": 8, "return_state": True}, (5, 3)),
        ({**_ALL, "units": 4, "go_backwards": True}, (6, 2)),
        ({"units": 12, "use_bias": False, "unit_forget_bias": False, "unroll": True}, (4, 5)),
        ({"units": 6, "dropout": 0.3, "recurrent_dropout": 0.2, "activation": "relu"}, (None, 7)),
    )

    units: int = param(convert=integer, minimum=1)
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
    unroll: bool = param(False, convert=boolean)
    use_cudnn: bool | str = param("auto", convert=to_cudnn)


@register
@dataclass(frozen=True, kw_only=True)
class GRU(_Recurrent):
    """Gated recurrent unit layer."""

    keras_class = "keras.layers.GRU"
    positional = ("units",)
    gates = 3
    examples = (
        ({"units": 32}, (10, 8)),
        ({"units": 16, "return_sequences": True}, (None, 12)),
        ({"units": 8, "return_state": True, "reset_after": False}, (5, 3)),
        ({**_ALL, "units": 4, "go_backwards": True}, (6, 2)),
        ({"units": 10, "reset_after": False, "use_bias": False}, (None, 4)),
        (
            {"units": 6, "unroll": True, "dropout": 0.1, "recurrent_activation": "hard_sigmoid"},
            (3, 9),
        ),
    )

    units: int = param(convert=integer, minimum=1)
    activation: str | None = param("tanh", convert=to_activation)
    recurrent_activation: str | None = param("sigmoid", convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    recurrent_initializer: Any = param("orthogonal", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
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
    unroll: bool = param(False, convert=boolean)
    reset_after: bool = param(True, convert=boolean)
    use_cudnn: bool | str = param("auto", convert=to_cudnn)


@register
@dataclass(frozen=True, kw_only=True)
class ConvLSTM2D(_Recurrent):
    """LSTM whose input and recurrent transformations are 2-D convolutions over image sequences."""

    keras_class = "keras.layers.ConvLSTM2D"
    positional = ("filters", "kernel_size", "strides", "padding")
    n_states, gates = 2, 4
    examples = (
        ({"filters": 8, "kernel_size": 3}, (5, 16, 16, 3)),
        ({**_SEQ, "filters": 4, "kernel_size": (3, 5), "padding": "same"}, (None, 10, 12, 2)),
        ({"filters": 6, "kernel_size": 3, "strides": 2, "return_state": True}, (4, 9, 9, 1)),
        ({"filters": 2, "kernel_size": 2, "dilation_rate": 2, "use_bias": False}, (3, 8, 7, 4)),
        ({**_ALL, "filters": 3, "kernel_size": 1, "go_backwards": True}, (2, 5, 5, 3)),
    )

    filters: int = param(convert=integer, minimum=1)
    kernel_size: tuple[int, int] = param(convert=pair, minimum=1)
    strides: tuple[int, int] = param(1, convert=pair, minimum=1)
    padding: str = param("valid", choices=("valid", "same"))
    data_format: str | None = param(None, choices=("channels_last", "channels_first"))
    dilation_rate: tuple[int, int] = param(1, convert=pair, minimum=1)
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
        layout = (
            "(batch, time, channels, rows, cols)"
            if self.data_format == "channels_first"
            else "(batch, time, rows, cols, channels)"
        )
        if len(x) != 4:
            raise ShapeError(
                f"ConvLSTM2D expects a 5-D input {layout}, got {show(x)}",
                help="add Reshape(...) before it to add the missing axes" if len(x) < 4 else None,
            )
        if None in x[1:]:
            raise ShapeError(
                f"ConvLSTM2D needs known rows, cols and channels, got {show(x)}",
                help="only the time axis may be None",
            )
        return x[1:]

    def _step_output(self, step: Shape) -> Shape:
        first = self.data_format == "channels_first"
        spatial = step[1:] if first else step[:2]
        size = window_lengths(
            step, spatial, self.kernel_size, self.strides, self.dilation_rate, self.padding
        )
        return (self.filters, *size) if first else (*size, self.filters)

    def count_params(self, x: Any, **tensors: Any) -> Params:
        channels = x[1] if self.data_format == "channels_first" else x[3]
        kh, kw = self.kernel_size
        kernel = kh * kw * (channels + self.filters) * self.gates * self.filters
        return Params(kernel + (self.gates * self.filters if self.use_bias else 0))
