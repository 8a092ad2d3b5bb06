"""Merging layers: element-wise Add/Subtract/Multiply/Average/Maximum/Minimum, Concatenate, Dot."""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import (
    Dim,
    LayerSpec,
    ParamError,
    Shape,
    ShapeError,
    Shapes,
    boolean,
    describe,
    integer,
    param,
    register,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import show


def _listed(shapes: list[Shape]) -> str:
    return ", ".join(show(s) for s in shapes[:-1]) + f" and {show(shapes[-1])}"


def expect_inputs(x: Any, layer: str, exactly: int | None = None) -> list[Shape]:
    """`x` as the list of shapes a merge layer is called on: at least 2 (or `exactly`)."""
    if not isinstance(x, list):
        raise ShapeError(
            f"{layer} must be called on a list of tensors, got one input {show(x)}",
            help=f"pass a list: {layer}()([a, b])",
        )
    if exactly is not None and len(x) != exactly:
        raise ShapeError(f"{layer} takes exactly {exactly} inputs, got {len(x)}")
    if len(x) < 2:
        raise ShapeError(f"{layer} needs at least 2 inputs to merge, got {len(x)}")
    return x


def elementwise_shape(shapes: list[Shape], layer: str) -> Shape:
    """Keras's Merge output shape: broadcast from the right, None wherever any input is None.

    Known sizes that disagree (other than 1) are an error even when a None input sits between
    them, where Keras's pairwise fold would only fail at run time.
    """
    rank = max(len(s) for s in shapes)
    out: list[Dim] = []
    for axis in range(-rank, 0):
        dims = [s[axis] for s in shapes if len(s) >= -axis]
        sizes = {d for d in dims if d is not None and d != 1}
        if len(sizes) > 1:
            raise ShapeError(
                f"{layer} inputs have incompatible shapes {_listed(shapes)}",
                help="make the branches the same shape, e.g. a Dense or 1x1 Conv on the shortcut",
            )
        if None in dims:
            out.append(None)
        else:
            out.append(sizes.pop() if sizes else 1)
    return tuple(out)


class _Merge(LayerSpec):
    """Shared rule of the element-wise merges."""

    takes_list = True
    family: ClassVar[str] = "merging"
    arity: ClassVar[int | None] = None
    examples: ClassVar[tuple[tuple[dict[str, Any], Shapes], ...]] = (
        ({}, [(8,), (8,)]),
        ({}, [(4, 16), (4, 16), (4, 16)]),
        ({}, [(None, 8), (None, 8)]),
        ({}, [(5, 1), (1, 3)]),
        ({}, [(3, 4, 6), (6,)]),
        ({}, [(None, 6), (7, 6)]),
    )

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        layer = self.layer_name()
        return elementwise_shape(expect_inputs(x, layer, self.arity), layer)


@register
@entry
class Add(_Merge):
    """Sum of a list of tensors of broadcastable shapes."""

    keras_class = "keras.layers.Add"


@register
@entry
class Subtract(_Merge):
    """Difference of exactly two tensors of broadcastable shapes."""

    keras_class = "keras.layers.Subtract"
    arity = 2
    examples = (
        ({}, [(8,), (8,)]),
        ({}, [(None, 8), (None, 8)]),
        ({}, [(5, 1), (1, 3)]),
        ({}, [(3, 4, 6), (6,)]),
    )


@register
@entry
class Multiply(_Merge):
    """Element-wise product of a list of tensors of broadcastable shapes."""

    keras_class = "keras.layers.Multiply"


@register
@entry
class Average(_Merge):
    """Element-wise mean of a list of tensors of broadcastable shapes."""

    keras_class = "keras.layers.Average"


@register
@entry
class Maximum(_Merge):
    """Element-wise maximum of a list of tensors of broadcastable shapes."""

    keras_class = "keras.layers.Maximum"


@register
@entry
class Minimum(_Merge):
    """Element-wise minimum of a list of tensors of broadcastable shapes."""

    keras_class = "keras.layers.Minimum"


@register
@entry
class Concatenate(LayerSpec):
    """Joins a list of tensors along one axis; the other axes must match."""

    keras_class = "keras.layers.Concatenate"
    positional = ("axis",)
    takes_list = True
    family: ClassVar[str] = "merging"
    examples = (
        ({}, [(8,), (16,)]),
        ({}, [(4, 3), (4, 5), (4, 1)]),
        ({"axis": 1}, [(2, 8), (3, 8)]),
        ({"axis": 1}, [(None, 8), (3, 8)]),
        ({"axis": -2}, [(5, 2, 7), (5, 4, 7)]),
        ({}, [(None, 3), (None, 5)]),
        ({"axis": 2}, [(6, 2, 3), (6, 2, 3)]),
    )

    axis: int = param(-1, convert=integer)

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        shapes = expect_inputs(x, "Concatenate")
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes):
            raise ShapeError(
                f"Concatenate inputs must have the same rank, got {_listed(shapes)}",
                help="add Reshape(...) or Flatten() so the ranks agree",
            )
        full = self.axis % (rank + 1) if -(rank + 1) <= self.axis <= rank else None
        if full is None:
            raise ShapeError(
                f"axis {self.axis} is out of range for inputs of shape {show(shapes[0])}"
            )
        index = full - 1  # -1: the batch axis
        for i in range(rank):
            sizes = {s[i] for s in shapes if s[i] is not None}
            if i != index and len(sizes) > 1:
                raise ShapeError(
                    f"Concatenate inputs must match except on axis {self.axis}, "
                    f"got {_listed(shapes)}",
                    help="resize the inputs first, or concatenate along the axis where they differ",
                )
        if index < 0:
            return shapes[0]
        out = list(shapes[0])  # like Keras, the other axes come from the first input
        lengths = [s[index] for s in shapes]
        out[index] = None if None in lengths else sum(d for d in lengths if d is not None)
        return tuple(out)


def to_axes(value: Any) -> int | tuple[int, int]:
    """Dot's axes: one integer, or a pair (axis of the first input, axis of the second)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, tuple | list) and len(value) == 2:
        return (integer(value[0]), integer(value[1]))
    raise ParamError(
        f"expected an integer or a pair of integers, got {describe(value)}", code="wrong-kind"
    )


@register
@entry
class Dot(LayerSpec):
    """Batch-wise dot product of two tensors along the given axes."""

    keras_class = "keras.layers.Dot"
    positional = ("axes",)
    takes_list = True
    family: ClassVar[str] = "merging"
    examples = (
        ({"axes": 1}, [(8,), (8,)]),
        ({"axes": -1}, [(5, 16), (7, 16)]),
        ({"axes": (1, 2)}, [(4, 3), (5, 4)]),
        ({"axes": (2, 2), "normalize": True}, [(6, 8), (9, 8)]),
        ({"axes": 1, "normalize": True}, [(10,), (10,)]),
        ({"axes": (1, 1)}, [(3, 4), (3, 7)]),
    )

    axes: int | tuple[int, int] = param(convert=to_axes)
    normalize: bool = param(False, convert=boolean)

    def validate(self) -> None:
        pair = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        if 0 in pair:
            raise ParamError(
                "Dot cannot take the product over axis 0, the batch axis",
                arg="axes",
                help="axes count from 1 for the first axis after the batch",
            )

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        a, b = expect_inputs(x, "Dot", exactly=2)
        pair = self.axes if isinstance(self.axes, tuple) else (self.axes, self.axes)
        index = []
        for shape, axis in zip((a, b), pair, strict=True):
            if not shape:
                raise ShapeError(
                    f"Dot needs inputs with at least one axis after the batch, got {show(shape)}"
                )
            if axis == -(len(shape) + 1):
                raise ShapeError(
                    f"Dot axis {axis} of {show(shape)} is the batch axis",
                    help="count axes from 1, the first after the batch",
                )
            if not -len(shape) <= axis <= len(shape):
                raise ShapeError(
                    f"Dot axis {axis} is out of range for an input of shape {show(shape)}"
                )
            index.append(axis - 1 if axis > 0 else len(shape) + axis)
        if a[index[0]] != b[index[1]]:
            raise ShapeError(
                f"Dot axes do not match: {show(a)} has {a[index[0]]} on axis {pair[0]} "
                f"but {show(b)} has {b[index[1]]} on axis {pair[1]}",
                help="the two summed axes must have the same known size",
            )
        out = tuple(d for i, d in enumerate(a) if i != index[0])
        out += tuple(d for i, d in enumerate(b) if i != index[1])
        return out or (1,)
