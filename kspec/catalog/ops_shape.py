"""keras.ops functions that move, join or select axes: matmul, einsum, reshape, concatenate, ...

Rules follow Keras's compute_output_spec (keras/src/ops/numpy.py, operation_utils.py), on full
shapes; where Keras would move or drop the batch axis, kspec says so (see opbase.py).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from kspec.catalog.base import Dim, ParamError, ShapeError, integer, optional, param, to_dtype
from kspec.catalog.opbase import (
    Full,
    OpSpec,
    axis_arg,
    axis_list,
    axis_of,
    broadcast,
    int_tuple,
    register_op,
    show_full,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import product

_NUMPY, _CORE = "keras.src.ops.numpy", "keras.src.ops.core"


def _same_except(shapes: list[Full], skip: int | None, op: str) -> None:
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or any(
            i != skip and a is not None and b is not None and a != b
            for i, (a, b) in enumerate(zip(first, s, strict=True))
        ):
            where = "" if skip is None else f" outside axis {skip}"
            raise ShapeError(f"{op}: shapes {show_full(first)} and {show_full(s)} differ{where}")


@register_op
@entry
class Matmul(OpSpec):
    """keras.ops.matmul: matrix product over the last two axes, leading axes broadcast."""

    keras_class = f"{_NUMPY}.Matmul"
    function = "matmul"
    signature = ("x1", "x2")
    operands = ("x1", "x2")
    op_examples = (({}, ((4, 3), (3, 5))), ({}, ((2, 4, 3), (3, 6))), ({}, ((None, 3), (3, 2))))

    def full_shape(self, shapes: list[Full]) -> Full:
        a, b = shapes
        if len(a) < 2 or len(b) < 2:
            raise ShapeError(f"ops.matmul needs matrices, got {show_full(a)} and {show_full(b)}")
        if a[-1] is not None and b[-2] is not None and a[-1] != b[-2]:
            raise ShapeError(
                f"ops.matmul: inner sizes differ: {show_full(a)} @ {show_full(b)}",
                help="the last axis of the first must equal the second-last of the second",
            )
        return (*broadcast(a[:-2], b[:-2], "ops.matmul"), a[-2], b[-1])


@register_op
@entry
class Einsum(OpSpec):
    """keras.ops.einsum: explicit axis letters, the batch axis included."""

    keras_class = f"{_NUMPY}.Einsum"
    function = "einsum"
    signature = ("subscripts", "*operands")
    operands = ("*operands",)
    op_examples = (
        ({"subscripts": "bij,bjk->bik"}, ((4, 3), (3, 5))),
        ({"subscripts": "bij->bji"}, ((4, 3),)),
        ({"subscripts": "bi,bi->b"}, ((6,), (6,))),
    )

    subscripts: str = param()

    def full_shape(self, shapes: list[Full]) -> Full:
        text = self.subscripts.replace(" ", "")
        if "." in text:
            raise ShapeError(
                "ops.einsum with '...' is not checked statically", help="write every axis letter"
            )
        ins, arrow, out = text.partition("->")
        terms = ins.split(",")
        if len(terms) != len(shapes):
            raise ShapeError(f"ops.einsum: '{text}' names {len(terms)} operands, got {len(shapes)}")
        sizes: dict[str, Dim] = {}
        for term, shape in zip(terms, shapes, strict=True):
            if len(term) != len(shape):
                raise ShapeError(
                    f"ops.einsum: '{term}' names {len(term)} axes, {show_full(shape)} has "
                    f"{len(shape)} (the batch axis included)"
                )
            for letter, d in zip(term, shape, strict=True):
                known = sizes.get(letter)
                if known is not None and d is not None and known != d:
                    raise ShapeError(f"ops.einsum: axis '{letter}' is {known} and {d}")
                sizes[letter] = known if d is None else d
        if not arrow:
            out = "".join(sorted(c for c in sizes if ins.count(c) == 1))
        if any(c not in sizes for c in out):
            raise ShapeError(f"ops.einsum: the output '{out}' names an axis no operand has")
        return tuple(sizes[c] for c in out)


@register_op
@entry
class Transpose(OpSpec):
    """keras.ops.transpose: axes permuted; the batch axis stays first."""

    keras_class = f"{_NUMPY}.Transpose"
    function = "transpose"
    signature = ("x", "axes")
    dtype_rule = "first"
    op_examples = (({"axes": (0, 2, 1)}, ((4, 3),)), ({"axes": (0, 3, 1, 2)}, ((5, 4, 3),)))

    axes: tuple[int, ...] | None = param(None, convert=optional(int_tuple))

    def full_shape(self, shapes: list[Full]) -> Full:
        x = shapes[0]
        if self.axes is None or sorted(a % len(x) for a in self.axes) != list(range(len(x))):
            raise ShapeError(
                f"ops.transpose needs axes, a permutation of 0..{len(x) - 1}, for {show_full(x)}",
                help=f"e.g. axes=(0, {', '.join(str(i) for i in range(len(x) - 1, 0, -1))})",
            )
        if self.axes[0] % len(x) != 0:
            raise ShapeError("ops.transpose would move the batch axis", help="start axes with 0")
        return tuple(x[a] for a in self.axes)


@register_op
@entry
class Swapaxes(OpSpec):
    """keras.ops.swapaxes."""

    keras_class = f"{_NUMPY}.Swapaxes"
    function = "swapaxes"
    signature = ("x", "axis1", "axis2")
    dtype_rule = "first"
    op_examples = (({"axis1": 1, "axis2": 2}, ((4, 3),)), ({"axis1": -1, "axis2": 1}, ((2, 3, 4),)))

    axis1: int = param(convert=integer)
    axis2: int = param(convert=integer)

    def full_shape(self, shapes: list[Full]) -> Full:
        x = list(shapes[0])
        i = axis_of(self.axis1, len(x), "ops.swapaxes", shapes[0])
        j = axis_of(self.axis2, len(x), "ops.swapaxes", shapes[0])
        x[i], x[j] = x[j], x[i]
        return tuple(x)


@register_op
@entry
class Reshape(OpSpec):
    """keras.ops.reshape: newshape counts the batch axis, which must be -1."""

    keras_class = f"{_NUMPY}.Reshape"
    function = "reshape"
    signature = ("x", "newshape")
    dtype_rule = "first"
    op_examples = (({"newshape": (-1, 12)}, ((4, 3),)), ({"newshape": (-1, 2, 3, 2)}, ((12,),)))

    newshape: tuple[int, ...] = param(convert=int_tuple)

    def full_shape(self, shapes: list[Full]) -> Full:
        x, new = shapes[0], self.newshape
        if new[0] != -1 or any(d < 1 for d in new[1:]):
            raise ShapeError(
                f"ops.reshape: newshape {new} must be -1 for the batch axis, then sizes >= 1",
                help="e.g. ops.reshape(x, (-1, 4, 3))",
            )
        size = product(list(x[1:]))
        if size is not None and size != product(list(new[1:])):
            raise ShapeError(
                f"ops.reshape cannot make {show_full(x)} ({size} values a row) into {new}"
            )
        return (None, *new[1:])


@register_op
@entry
class ExpandDims(OpSpec):
    """keras.ops.expand_dims: a new axis of size 1."""

    keras_class = f"{_NUMPY}.ExpandDims"
    function = "expand_dims"
    signature = ("x", "axis")
    dtype_rule = "first"
    op_examples = (({"axis": 1}, ((4, 3),)), ({"axis": -1}, ((5,),)), ({"axis": (1, 3)}, ((2, 3),)))

    axis: int | tuple[int, ...] = param(convert=axis_arg)

    def full_shape(self, shapes: list[Full]) -> Full:
        axes = (self.axis,) if isinstance(self.axis, int) else self.axis
        rank = len(shapes[0]) + len(axes)
        placed = axis_list(axes, rank, "ops.expand_dims", shapes[0])
        rest = iter(shapes[0])
        return tuple(1 if i in placed else next(rest) for i in range(rank))


@register_op
@entry
class Squeeze(OpSpec):
    """keras.ops.squeeze: size-1 axes removed (all of them without axis)."""

    keras_class = f"{_NUMPY}.Squeeze"
    function = "squeeze"
    signature = ("x", "axis")
    dtype_rule = "first"
    op_examples = (
        ({"axis": 1}, ((1, 3),)),
        ({}, ((4, 1, 3, 1),)),
        ({"axis": (1, -1)}, ((1, 2, 1),)),
    )

    axis: int | tuple[int, ...] | None = param(None, convert=axis_arg)

    def full_shape(self, shapes: list[Full]) -> Full:
        x = shapes[0]
        if self.axis is None:
            return tuple(d for i, d in enumerate(x) if i == 0 or d != 1)
        axes = axis_list(self.axis, len(x), "ops.squeeze", x)
        for a in axes:
            if x[a] != 1:
                raise ShapeError(f"ops.squeeze: axis {a} of {show_full(x)} is {x[a]}, not 1")
        return tuple(d for i, d in enumerate(x) if i not in axes)


@register_op
@entry
class Concatenate(OpSpec):
    """keras.ops.concatenate: a list of tensors joined along an existing axis."""

    keras_class = f"{_NUMPY}.Concatenate"
    function = "concatenate"
    signature = ("xs", "axis")
    operands = ("xs",)
    list_operand = True
    op_examples = (({"axis": -1}, ([(4, 3), (4, 5)],)), ({"axis": 1}, ([(2, 3), (6, 3), (1, 3)],)))

    axis: int = param(0, convert=integer)

    def full_shape(self, shapes: list[Full]) -> Full:
        axis = axis_of(self.axis, len(shapes[0]), "ops.concatenate", shapes[0])
        _same_except(shapes, axis, "ops.concatenate")
        sizes = [s[axis] for s in shapes]
        total = None if None in sizes else sum(d for d in sizes if d is not None)
        return tuple(total if i == axis else d for i, d in enumerate(shapes[0]))


@register_op
@entry
class Stack(OpSpec):
    """keras.ops.stack: a list of same-shape tensors joined along a new axis."""

    keras_class = f"{_NUMPY}.Stack"
    function = "stack"
    signature = ("x", "axis")
    list_operand = True
    op_examples = (({"axis": 1}, ([(4, 3), (4, 3)],)), ({"axis": -1}, ([(5,), (5,), (5,)],)))

    axis: int = param(0, convert=integer)

    def full_shape(self, shapes: list[Full]) -> Full:
        rank = len(shapes[0]) + 1
        axis = axis_of(self.axis, rank, "ops.stack", shapes[0])
        _same_except(shapes, None, "ops.stack")
        out = list(shapes[0])
        out.insert(axis, len(shapes))
        return tuple(out)


def _sections(value: Any) -> int | tuple[int, ...]:
    if isinstance(value, tuple | list):
        return tuple(integer(v) for v in value)
    n = integer(value)
    if n < 1:
        raise ParamError(f"indices_or_sections must be >= 1, got {n}", code="out-of-range")
    return n


@register_op
@entry
class Split(OpSpec):
    """keras.ops.split: several tensors, in equal sections or at indices."""

    keras_class = f"{_NUMPY}.Split"
    function = "split"
    signature = ("x", "indices_or_sections", "axis")
    dtype_rule = "first"
    op_examples = (
        ({"indices_or_sections": 2, "axis": -1}, ((4, 6),)),
        ({"indices_or_sections": (1, 3), "axis": 1}, ((5, 2),)),
    )

    indices_or_sections: int | tuple[int, ...] = param(convert=_sections)
    axis: int = param(0, convert=integer)

    def full_shape(self, shapes: list[Full]) -> list[Full]:
        x = shapes[0]
        axis = axis_of(self.axis, len(x), "ops.split", x)
        n = x[axis]
        if isinstance(self.indices_or_sections, int):
            k = self.indices_or_sections
            if n is not None and n % k:
                raise ShapeError(
                    f"ops.split: axis {self.axis} of {show_full(x)} ({n}) is not divisible by {k}"
                )
            sizes: list[Dim] = [None if n is None else n // k] * k
        else:
            cuts: list[Dim] = [0, *self.indices_or_sections, n]
            sizes = [None if a is None or b is None else b - a for a, b in pairwise(cuts)]
        return [tuple(s if i == axis else d for i, d in enumerate(x)) for s in sizes]


@register_op
@entry
class Take(OpSpec):
    """keras.ops.take: entries of `x` at `indices` (a list of integers or a tensor) on `axis`."""

    keras_class = f"{_NUMPY}.Take"
    function = "take"
    signature = ("x", "indices", "axis")
    operands = ("x", "indices")
    scalar_operands = True
    dtype_rule = "first"
    op_examples = (({"axis": -1}, ((4, 3), [0, 2])), ({"axis": 1}, ((5, 2), [4, 0, 1])))

    axis: int | None = param(None, convert=optional(integer))

    def full_shape(self, shapes: list[Full]) -> Full:
        x, indices = shapes
        if self.axis is None:
            raise ShapeError(
                "ops.take without an axis flattens every axis, the batch axis too",
                help="give axis=..., e.g. axis=-1",
            )
        axis = axis_of(self.axis, len(x), "ops.take", x)
        return (*x[:axis], *indices, *x[axis + 1 :])


@register_op
@entry
class Where(OpSpec):
    """keras.ops.where: x1 where condition is true, else x2; all three broadcast."""

    keras_class = f"{_NUMPY}.Where"
    function = "where"
    signature = ("condition", "x1", "x2")
    operands = ("condition", "x1", "x2")
    scalar_operands = True
    dtype_rule = "where"
    op_examples = (({}, ((4, 3), (4, 3), 0.0)), ({}, ((4, 1), 1.0, (3,))))

    def full_shape(self, shapes: list[Full]) -> Full:
        out = broadcast(shapes[0], shapes[1], "ops.where")
        return broadcast(out, shapes[2], "ops.where")


@register_op
@entry
class Cast(OpSpec):
    """keras.ops.cast: the same values in another dtype."""

    keras_class = f"{_CORE}.Cast"
    function = "cast"
    signature = ("x", "dtype")
    dtype_rule = "cast"
    op_examples = (({"dtype": "int32"}, ((4, 3),)), ({"dtype": "float16"}, ((5,),)))

    dtype: str = param(convert=to_dtype)

    def full_shape(self, shapes: list[Full]) -> Full:
        return shapes[0]


@register_op
@entry
class Flip(OpSpec):
    """keras.ops.flip: the order of entries reversed along axes."""

    keras_class = f"{_NUMPY}.Flip"
    function = "flip"
    signature = ("x", "axis")
    dtype_rule = "first"
    op_examples = (({"axis": 1}, ((4, 3),)), ({"axis": (1, 2)}, ((2, 3),)))

    axis: int | tuple[int, ...] | None = param(None, convert=axis_arg)

    def full_shape(self, shapes: list[Full]) -> Full:
        if self.axis is not None:
            axis_list(self.axis, len(shapes[0]), "ops.flip", shapes[0])
        return shapes[0]
