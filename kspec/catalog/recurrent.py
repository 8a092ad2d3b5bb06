"""Recurrent layers (SimpleRNN, LSTM, GRU, ConvLSTM2D), Bidirectional and TimeDistributed."""

from __future__ import annotations

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
    param,
    register,
    to_activation,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import show


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


class _Gates(LayerSpec):
    """The weights of one SimpleRNN, LSTM or GRU step, shared by the cells and the layers."""

    family: ClassVar[str] = "recurrent"
    n_states: ClassVar[int] = 1
    gates: ClassVar[int] = 1  # kernels stacked per gate: LSTM 4, GRU 3
    units: int
    use_bias: bool

    def count_params(self, x: Any, **tensors: Any) -> Params:
        units, features = self.units, x[-1]
        # GRU's reset_after keeps separate input and recurrent biases: shape (2, 3 * units).
        biases = 2 if getattr(self, "reset_after", False) else 1
        bias = biases * self.gates * units if self.use_bias else 0
        return Params((features + units) * self.gates * units + bias)


class _Recurrent(_Gates):
    """Shared rule of the recurrent layers: a loop over axis 1 of the input."""

    call_tensors = ("initial_state", "mask")
    training_default = False
    filters: int
    return_sequences: bool
    return_state: bool
    go_backwards: bool
    stateful: bool

    def _step_output(self, step: Shape) -> Shape:
        """Shape of one step's output (and of each state) for one step's input."""
        return (self.units,)

    def _state_shapes(self, step: Shape) -> list[Shape]:
        """Shapes of the states carried between steps, as initial_state takes them."""
        return [self._step_output(step)] * self.n_states

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
        step = self._step_input(x)
        state, states = self._step_output(step), self._state_shapes(step)
        if getattr(self, "unroll", False) and x[0] is None:
            raise ShapeError(
                f"{name} cannot unroll a sequence of unknown length {show(x)}",
                help="give the input a fixed number of timesteps, or unroll=false",
            )
        initial = tensors.get("initial_state")
        if initial is not None:
            given = [initial] if isinstance(initial, tuple) else list(initial)
            if len(given) != len(states) or not all(map(_fits, given, states)):
                want = " and ".join(show(s) for s in states)
                got = ", ".join(show(s) for s in given) or "none"
                raise ShapeError(
                    f"{name} initial_state must be {len(states)} tensor"
                    f"{'s' if len(states) > 1 else ''} {want}, got {got}"
                )
        mask = tensors.get("mask")
        if mask is not None and not _fits(mask, (x[0],)):
            raise ShapeError(
                f"{name} mask must have shape (batch, timesteps) {show((x[0],))}, got {show(mask)}"
            )
        out = (x[0], *state) if self.return_sequences else state
        return [out, *states] if self.return_state else out

    def size(self) -> int:
        """Output features per step (units or filters)."""
        return getattr(self, "units", None) or self.filters


# -- argument groups: each Keras signature written once ----------------------------------
@entry
class SimpleRNNArgs(_Gates):
    """SimpleRNNCell's arguments, which every SimpleRNN, LSTM and GRU cell and layer takes."""

    positional = ("units",)

    units: int = param(convert=integer, minimum=1)
    activation: str | None = param("tanh", convert=to_activation)
    use_bias: bool = param(True, convert=boolean)
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    recurrent_initializer: Any = param("orthogonal", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    recurrent_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    recurrent_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)
    dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    recurrent_dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    seed: int | None = param(None, convert=optional(integer))


@entry
class LSTMArgs(SimpleRNNArgs):
    """LSTMCell's arguments: SimpleRNNCell's, a gate activation and the forget-gate bias."""

    recurrent_activation: str | None = param("sigmoid", convert=to_activation)
    unit_forget_bias: bool = param(True, convert=boolean)


@entry
class GRUArgs(SimpleRNNArgs):
    """GRUCell's arguments: SimpleRNNCell's, a gate activation and where the reset gate acts."""

    recurrent_activation: str | None = param("sigmoid", convert=to_activation)
    reset_after: bool = param(True, convert=boolean)


@entry
class LoopArgs(LayerSpec):
    """The base RNN layer's arguments: what the loop over time returns and how it runs."""

    return_sequences: bool = param(False, convert=boolean)
    return_state: bool = param(False, convert=boolean)
    go_backwards: bool = param(False, convert=boolean)
    stateful: bool = param(False, convert=boolean)
    unroll: bool = param(False, convert=boolean)


@entry
class _Layer(LoopArgs):
    """What the SimpleRNN, LSTM and GRU layers add to their cell's arguments."""

    training_default = False

    activity_regularizer: Any = param(None, convert=to_regularizer)


# -- the layers -------------------------------------------------------------------------
@register
@entry
class SimpleRNN(_Layer, SimpleRNNArgs, _Recurrent):
    """Fully connected recurrent layer whose output is fed back as the next step's state."""

    keras_class = "keras.layers.SimpleRNN"
    examples = (
        ({"units": 8}, (10, 4)),
        ({"units": 16, "return_sequences": True}, (None, 3)),
        ({"units": 4, "return_state": True}, (7, 5)),
        ({**_ALL, "units": 6, "go_backwards": True}, (5, 2)),
        ({"units": 3, "unroll": True, "use_bias": False, "activation": "relu"}, (4, 6)),
        ({"units": 5, "dropout": 0.2, "recurrent_dropout": 0.1}, (None, 8)),
    )


@register
@entry
class LSTM(_Layer, LSTMArgs, _Recurrent):
    """Long short-term memory layer; its state is [hidden, carry]."""

    keras_class = "keras.layers.LSTM"
    n_states, gates = 2, 4
    examples = (
        ({"units": 32}, (10, 8)),
        ({"units": 16, "return_sequences": True}, (None, 12)),
        ({"units": 8, "return_state": True}, (5, 3)),
        ({**_ALL, "units": 4, "go_backwards": True}, (6, 2)),
        ({"units": 12, "use_bias": False, "unit_forget_bias": False, "unroll": True}, (4, 5)),
        ({"units": 6, "dropout": 0.3, "recurrent_dropout": 0.2, "activation": "relu"}, (None, 7)),
    )

    use_cudnn: bool | str = param("auto", convert=to_cudnn)


@register
@entry
class GRU(_Layer, GRUArgs, _Recurrent):
    """Gated recurrent unit layer."""

    keras_class = "keras.layers.GRU"
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

    use_cudnn: bool | str = param("auto", convert=to_cudnn)
