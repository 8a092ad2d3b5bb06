"""Recurrent cells and the generic RNN loop: `RNN(LSTMCell(32))`, `RNN([GRUCell(8), GRUCell(4)])`.

A cell computes one step; it is an argument of RNN (or of StackedRNNCells), never a step of
a model. Its shape rule maps one step's input (features,) to one step's output (units,).
"""

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
    param,
    register,
)
from kspec.catalog.record import entry
from kspec.catalog.recurrent import (
    _ALL,
    _SEQ,
    GRUArgs,
    LoopArgs,
    LSTMArgs,
    SimpleRNNArgs,
    _Gates,
    _Recurrent,
)
from kspec.catalog.shapes import show


class _Cell(LayerSpec):
    """A cell: one step of a recurrent loop, given to RNN."""

    training_default = False

    family: ClassVar[str] = "recurrent"
    is_step: ClassVar[bool] = False

    def state_shapes(self, step: Shape) -> list[Shape]:
        """The states this cell carries, flat, in the order initial_state takes them."""
        raise NotImplementedError

    def nested_states(self) -> bool:
        """True when return_state would give nested lists (a stack with an LSTMCell in it)."""
        return False

    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        if not isinstance(x, tuple) or len(x) != 1 or x[0] is None:
            got = show(x) if isinstance(x, tuple) else "a list"
            raise ShapeError(
                f"{self.layer_name()} takes one step of (features,) with known features, got {got}",
                help="give RNN a (timesteps, features) input",
            )
        return self._step(x)

    def _step(self, x: Shape) -> Shape:
        raise NotImplementedError


class _GateCell(_Gates, _Cell):
    def _step(self, x: Shape) -> Shape:
        return (self.units,)

    def state_shapes(self, step: Shape) -> list[Shape]:
        return [(self.units,)] * self.n_states


@register
@entry
class SimpleRNNCell(SimpleRNNArgs, _GateCell):
    """One step of SimpleRNN, for RNN(SimpleRNNCell(units))."""

    keras_class = "keras.layers.SimpleRNNCell"
    examples = (
        ({"units": 8}, (4,)),
        ({"units": 3, "use_bias": False, "activation": "relu"}, (6,)),
        ({"units": 5, "dropout": 0.2, "recurrent_dropout": 0.1, "seed": 1}, (2,)),
    )


@register
@entry
class LSTMCell(LSTMArgs, _GateCell):
    """One step of LSTM, for RNN(LSTMCell(units)); its states are [hidden, carry]."""

    keras_class = "keras.layers.LSTMCell"
    n_states, gates = 2, 4
    examples = (
        ({"units": 16}, (8,)),
        ({"units": 4, "use_bias": False, "unit_forget_bias": False}, (3,)),
        ({"units": 6, "recurrent_activation": "hard_sigmoid", "dropout": 0.1}, (5,)),
    )


@register
@entry
class GRUCell(GRUArgs, _GateCell):
    """One step of GRU, for RNN(GRUCell(units))."""

    keras_class = "keras.layers.GRUCell"
    gates = 3
    examples = (
        ({"units": 8}, (4,)),
        ({"units": 5, "reset_after": False}, (3,)),
        ({"units": 3, "reset_after": False, "use_bias": False}, (7,)),
    )


def to_cells(value: Any) -> Any:
    """RNN's cell: one cell, or a list of cells (which Keras stacks)."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(c, _Cell) for c in items):
        bad = next((c for c in items if not isinstance(c, _Cell)), None)
        loop = isinstance(bad, _Recurrent)
        raise ParamError(
            f"expected a cell such as LSTMCell(32) or a list of cells, got "
            f"{describe(bad) if items else 'an empty list'}",
            help=f"{bad.layer_name()} is already a loop; use it as a step, or "
            f"{bad.layer_name()}Cell(...) here"
            if loop and isinstance(bad, LayerSpec)
            else "the cells are SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells",
            code="wrong-kind",
        )
    return list(items) if isinstance(value, list) else value


class _Stack:
    """The rule of cells applied in turn: each cell's output is the next one's input."""

    @staticmethod
    def step(cells: list[_Cell], x: Shape) -> Shape:
        for cell in cells:
            x = cell.compute_output_shape(x)
        return x

    @staticmethod
    def states(cells: list[_Cell], x: Shape) -> list[Shape]:
        out: list[Shape] = []
        for cell in cells:
            out += cell.state_shapes(x)
            x = cell.compute_output_shape(x)
        return out

    @staticmethod
    def params(cells: list[_Cell], x: Shape) -> Params:
        total = Params()
        for cell in cells:
            total += cell.count_params(x)
            x = cell.compute_output_shape(x)
        return total

    @staticmethod
    def nested(cells: list[_Cell]) -> bool:
        return any(len(c.state_shapes((1,))) > 1 or c.nested_states() for c in cells)


@register
@entry
class StackedRNNCells(_Cell):
    """Cells applied in turn within one step, for RNN(StackedRNNCells([...]))."""

    keras_class = "keras.layers.StackedRNNCells"
    positional = ("cells",)
    examples = (
        ({"cells": [LSTMCell.create((8,)), GRUCell.create((4,))]}, (3,)),
        ({"cells": [SimpleRNNCell.create((6,)), SimpleRNNCell.create((2,))]}, (5,)),
    )

    cells: list[_Cell] = param(convert=to_cells)

    def validate(self) -> None:
        if not isinstance(self.cells, list):
            raise ParamError("cells must be a list of cells", arg="cells", code="wrong-kind")

    def _step(self, x: Shape) -> Shape:
        return _Stack.step(self.cells, x)

    def state_shapes(self, step: Shape) -> list[Shape]:
        return _Stack.states(self.cells, step)

    def nested_states(self) -> bool:
        return _Stack.nested(self.cells)

    def count_params(self, x: Any, **tensors: Any) -> Params:
        return _Stack.params(self.cells, x)


@register
@entry
class RNN(LoopArgs, _Recurrent):
    """A loop over axis 1 that runs a cell (or a list of cells, stacked) at every step."""

    keras_class = "keras.layers.RNN"
    positional = ("cell", "return_sequences", "return_state", "go_backwards", "stateful")
    examples = (
        ({"cell": LSTMCell.create((8,))}, (10, 4)),
        ({**_SEQ, "cell": GRUCell.create((6,), {"reset_after": False})}, (None, 3)),
        ({**_ALL, "cell": LSTMCell.create((4,))}, (5, 2)),
        ({"cell": [GRUCell.create((8,)), LSTMCell.create((3,))]}, (7, 5)),
        ({**_SEQ, "cell": StackedRNNCells.create(([SimpleRNNCell.create((4,))] * 2,))}, (6, 3)),
        ({**_ALL, "cell": [SimpleRNNCell.create((5,)), GRUCell.create((2,))]}, (4, 6)),
        ({"cell": SimpleRNNCell.create((3,)), "go_backwards": True, "unroll": True}, (5, 2)),
    )

    cell: Any = param(convert=to_cells)
    zero_output_for_mask: bool = param(False, convert=boolean)

    @property
    def _cells(self) -> list[_Cell]:
        return self.cell if isinstance(self.cell, list) else [self.cell]

    def validate(self) -> None:
        cells = self._cells
        nested = cells[0].nested_states() if len(cells) == 1 else _Stack.nested(cells)
        if self.return_state and nested:
            raise ParamError(
                "return_state with stacked cells that carry two states (LSTMCell) gives nested "
                "states, which a spec cannot unpack",
                arg="return_state",
                help="stack separate RNN layers, each with return_state=true",
            )

    def _step_output(self, step: Shape) -> Shape:
        return _Stack.step(self._cells, step)

    def _state_shapes(self, step: Shape) -> list[Shape]:
        return _Stack.states(self._cells, step)

    def count_params(self, x: Any, **tensors: Any) -> Params:
        return _Stack.params(self._cells, x[1:])

    def size(self) -> int:
        out = _Stack.step(self._cells, (1,))
        return out[0] or 0
