"""keras.ops functions a spec may call: `x + 3`, `ops.sum(x, axis=-1)`, `ops.relu6(x)`.

One declaration per operation, as for layers (see opbase.py for what the fields mean). The
elementwise and binary families are declared by table: each row is one operation.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import ShapeError, boolean, number, optional, param, to_dtype
from kspec.catalog.opbase import (
    OP_ALIASES,
    Full,
    OpSpec,
    axis_arg,
    axis_list,
    axis_of,
    broadcast,
    register_op,
    scalar,
)
from kspec.catalog.record import entry, make_entry

_NUMPY, _NN, _MATH, _CORE = (f"keras.src.ops.{m}" for m in ("numpy", "nn", "math", "core"))


class Elementwise(OpSpec):
    """An operation that keeps its operand's shape."""

    op_examples: ClassVar[tuple[tuple[dict[str, Any], tuple[Any, ...]], ...]] = (
        ({}, ((4, 3),)),
        ({}, ((None, 6),)),
    )

    def full_shape(self, shapes: list[Full]) -> Full:
        return shapes[0]


class Binary(OpSpec):
    """Two operands broadcast together, NumPy's way; either may be a Python number."""

    signature = ("x1", "x2")
    operands = ("x1", "x2")
    scalar_operands = True
    op_examples: ClassVar[tuple[tuple[dict[str, Any], tuple[Any, ...]], ...]] = (
        ({}, ((4, 3), (4, 3))),
        ({}, ((4, 3), (3,))),
        ({}, ((None, 1, 5), (7, 1))),
        ({}, ((6,), 2.0)),
        ({}, (3, (2, 2))),
    )

    def full_shape(self, shapes: list[Full]) -> Full:
        return broadcast(shapes[0], shapes[1], self.shown())


def _table(base: type[OpSpec], module: str, rows: str, **extra: Any) -> None:
    """Register one entry per row: `function Class dtype_rule [operator] [alias]`."""
    for row in rows.strip().splitlines():
        function, cls_name, rule, *more = row.split()
        attrs: dict[str, Any] = {
            "keras_class": f"{module}.{cls_name}",
            "function": function,
            "dtype_rule": rule,
            "__doc__": f"keras.ops.{function}.",
            **extra,
        }
        if "signature" not in attrs and base is not Binary:
            attrs["signature"] = ("x",)
        for item in more:
            if item.startswith("alias="):
                OP_ALIASES[item.removeprefix("alias=")] = function
            else:
                attrs["operator"] = item
        register_op(make_entry(cls_name, [], base, {"__module__": __name__, **attrs}))


_table(
    Elementwise,
    _NUMPY,
    """
    sqrt Sqrt float
    square Square first
    exp Exp float
    log Log float
    log1p Log1p float
    absolute Absolute first alias=abs
    sign Sign first
    negative Negative first neg
    reciprocal Reciprocal float
    tanh Tanh float
    sin Sin float
    cos Cos float
    floor Floor float
    ceil Ceil float
    """,
)
_table(Elementwise, _MATH, "rsqrt Rsqrt float\nerf Erf float")
_table(
    Elementwise,
    _NN,
    """
    relu Relu first
    relu6 Relu6 first
    sigmoid Sigmoid first
    hard_sigmoid HardSigmoid first
    silu Silu first alias=swish
    hard_silu HardSilu first alias=hard_swish
    selu Selu first
    softplus Softplus first
    softsign Softsign first
    """,
)
_table(
    Binary,
    _NUMPY,
    """
    add Add promote +
    subtract Subtract promote -
    multiply Multiply promote *
    true_divide TrueDivide float /
    divide Divide float
    floor_divide FloorDivide promote //
    mod Mod promote %
    power Power promote **
    maximum Maximum promote
    minimum Minimum promote
    """,
)


# -- elementwise with arguments -------------------------------------------------------------
@register_op
@entry
class Clip(Elementwise):
    """keras.ops.clip: values limited to [x_min, x_max]."""

    keras_class = f"{_NUMPY}.Clip"
    function = "clip"
    signature = ("x", "x_min", "x_max")
    dtype_rule = "first"
    op_examples = (({"x_min": 0.0, "x_max": 6.0}, ((4, 3),)),)

    x_min: float = param(convert=scalar)
    x_max: float = param(convert=scalar)


@register_op
@entry
class Gelu(Elementwise):
    """keras.ops.gelu."""

    keras_class = f"{_NN}.Gelu"
    function = "gelu"
    signature = ("x", "approximate")
    dtype_rule = "first"

    approximate: bool = param(True, convert=boolean)


@register_op
@entry
class Elu(Elementwise):
    """keras.ops.elu."""

    keras_class = f"{_NN}.Elu"
    function = "elu"
    signature = ("x", "alpha")
    dtype_rule = "first"

    alpha: float = param(1.0, convert=number)


@register_op
@entry
class LeakyRelu(Elementwise):
    """keras.ops.leaky_relu."""

    keras_class = f"{_NN}.LeakyRelu"
    function = "leaky_relu"
    signature = ("x", "negative_slope")
    dtype_rule = "first"

    negative_slope: float = param(0.2, convert=number)


class AlongAxis(Elementwise):
    """An elementwise operation normalized along one axis (softmax, normalize)."""

    op_examples = (({}, ((4, 3),)), ({"axis": 1}, ((5, 2),)))
    axis: Any  # declared by each subclass

    def full_shape(self, shapes: list[Full]) -> Full:
        axis = self.axis
        for a in (axis,) if isinstance(axis, int) else axis:
            axis_of(a, len(shapes[0]), self.shown(), shapes[0], batch=True)
        return shapes[0]


@register_op
@entry
class Softmax(AlongAxis):
    """keras.ops.softmax."""

    keras_class = f"{_NN}.Softmax"
    function = "softmax"
    signature = ("x", "axis")
    dtype_rule = "float"

    axis: int | tuple[int, ...] = param(-1, convert=axis_arg)


@register_op
@entry
class LogSoftmax(AlongAxis):
    """keras.ops.log_softmax."""

    keras_class = f"{_NN}.LogSoftmax"
    function = "log_softmax"
    signature = ("x", "axis")
    dtype_rule = "float"

    axis: int | tuple[int, ...] = param(-1, convert=axis_arg)


@register_op
@entry
class Normalize(AlongAxis):
    """keras.ops.normalize: x divided by its `order`-norm along `axis` (L2 by default)."""

    keras_class = f"{_NN}.Normalize"
    function = "normalize"
    signature = ("x", "axis", "order", "epsilon")
    dtype_rule = "float"

    axis: int | tuple[int, ...] = param(-1, convert=axis_arg)
    order: int = param(2, minimum=1)
    epsilon: float | None = param(None, convert=optional(number))


# -- reductions -------------------------------------------------------------------------------
class Reduction(OpSpec):
    """Reduces `axis` (removed, or kept as 1 with keepdims)."""

    signature = ("x", "axis", "keepdims")
    op_examples = (
        ({"axis": -1}, ((4, 3),)),
        ({"axis": (1, 2), "keepdims": True}, ((4, 3, 2),)),
        ({"axis": 1}, ((None, 5),)),
    )

    axis: Any  # declared by each subclass (make_entry below)
    keepdims: bool

    def full_shape(self, shapes: list[Full]) -> Full:
        x = shapes[0]
        axis = self.axis
        if axis is None:
            raise ShapeError(
                f"{self.shown()} without an axis reduces every axis, the batch axis too",
                help=f"name the axes: {self.op_name()}(x, axis=-1) or axis=(1, 2)",
            )
        axes = axis_list(axis, len(x), self.shown(), x)
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(x))
        return tuple(d for i, d in enumerate(x) if i not in axes)


def _reduction(cls_name: str, function: str, module: str, rule: str, *extra: str) -> None:
    fields: list[Any] = [
        ("axis", Any, param(None, convert=axis_arg)),
        ("keepdims", bool, param(False, convert=boolean)),
    ]
    if "initial" in extra:
        fields.append(("initial", Any, param(None, convert=optional(scalar))))
    if "dtype" in extra:
        fields.append(("dtype", Any, param(None, convert=to_dtype)))
    namespace = {
        "keras_class": f"{module}.{cls_name}",
        "function": function,
        "dtype_rule": rule,
        "signature": ("x", "axis", "keepdims", *extra),
        "__doc__": f"keras.ops.{function}.",
        "__module__": __name__,
    }
    register_op(make_entry(cls_name, fields, Reduction, namespace))


_reduction("Sum", "sum", _NUMPY, "promote")
_reduction("Mean", "mean", _NUMPY, "float")
_reduction("Max", "max", _NUMPY, "first", "initial")
_reduction("Min", "min", _NUMPY, "first", "initial")
_reduction("Prod", "prod", _NUMPY, "promote", "dtype")
_reduction("Std", "std", _NUMPY, "float")
_reduction("Var", "var", _NUMPY, "float")
_reduction("Logsumexp", "logsumexp", _MATH, "float")
_reduction("Argmax", "argmax", _NUMPY, "int32")
_reduction("Argmin", "argmin", _NUMPY, "int32")
