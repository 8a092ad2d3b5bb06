"""The catalog's keras.ops entries: OpSpec, broadcasting, axes and dtype promotion.

An operation (`x + 3`, `ops.sum(x, axis=-1)`) is a node of a Keras functional graph like a
layer, but it is a `keras.Operation`, not a `keras.layers.Layer`: Keras lists it in
`model.summary()` and `model.operations`, not in `model.layers`, and it has no weights. Its
config records the Operation class (`keras.src.ops.numpy.Add`) and its constructor arguments;
the tensors and Python numbers it is called with are the node's call arguments. So an entry's
dataclass fields are the Operation's constructor arguments, `signature` is the `keras.ops`
function's argument order, and `operands` says which of those arguments are the call's tensors.

Shape rules here work on full Keras shapes (batch axis first, as `axis` arguments count it);
`compute_output_shape` adds and strips the batch axis, which an operation must keep.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, ClassVar, TypeAlias

from kspec.catalog.base import Dim, LayerSpec, ParamError, Shape, ShapeError, describe, integer
from kspec.catalog.record import entry

Full: TypeAlias = tuple[Dim, ...]  # a shape with the batch axis first


@entry
class OpSpec(LayerSpec):
    """Base of every keras.ops entry; subclasses are `@register_op`ed frozen dataclasses."""

    family: ClassVar[str] = "ops"
    function: ClassVar[str]  # keras.ops.<function>
    # The keras.ops function's arguments in order; "*operands" takes the rest (einsum).
    signature: ClassVar[tuple[str, ...]]
    # The arguments that are the call's tensors (a Python number may stand for one when
    # `scalar_operands`); the other arguments are the Operation's constructor arguments.
    operands: ClassVar[tuple[str, ...]] = ("x",)
    scalar_operands: ClassVar[bool] = False
    list_operand: ClassVar[bool] = False  # the one operand is a list of tensors (concatenate)
    # How the result dtype follows the operands': "promote" (Keras's result_type), "float"
    # (integers become float32), "first" (the first operand's), "int32", "bool", "cast".
    dtype_rule: ClassVar[str] = "promote"
    # (keyword arguments, operands) pairs the differential tests build in Keras; an operand is
    # a shape without the batch axis (a tuple), a list of shapes, or a Python number.
    op_examples: ClassVar[tuple[tuple[dict[str, Any], tuple[Any, ...]], ...]] = ()
    operator: ClassVar[str | None] = None  # the spec operator that makes this operation

    # Not Keras constructor arguments: the Python numbers among the call arguments, by operand
    # position, and whether the spec wrote the operator (`x + 3`) rather than `ops.add(x, 3)`.
    scalars: tuple[tuple[int, Any], ...] = field(default=(), compare=True)
    written_as_operator: bool = field(default=False, compare=False)

    @classmethod
    def op_name(cls) -> str:
        """How a spec names it: `ops.sum`."""
        return f"ops.{cls.function}"

    def shown(self) -> str:
        """The name in messages: the operator as written, else `ops.NAME`."""
        if self.written_as_operator and self.operator is not None:
            return f"'{self.operator}'"
        return self.op_name()

    # -- static semantics -------------------------------------------------------------------
    def full_shape(self, shapes: list[Full]) -> Full | list[Full]:
        """The output shape(s) for the operands' full shapes (numbers have shape ())."""
        raise NotImplementedError

    def operand_shapes(self, x: Any) -> list[Full]:
        tensors = iter(x if isinstance(x, list) else [x])
        scalars = dict(self.scalars)
        count = len(x) if isinstance(x, list) else 1
        out: list[Full] = []
        for i in range(count + len(scalars)):
            out.append(value_shape(scalars[i]) if i in scalars else (None, *next(tensors)))
        return out

    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        out = self.full_shape(self.operand_shapes(x))
        if isinstance(out, list):
            return [_batchless(o, self) for o in out]
        return _batchless(out, self)


def _batchless(full: Full, op: OpSpec) -> Shape:
    if not full or full[0] is not None:
        raise ShapeError(
            f"{op.shown()} would remove or resize the batch axis",
            help="kspec keeps the batch axis: use axes from 1 (or negative axes)",
        )
    return tuple(full[1:])


def value_shape(value: Any) -> Full:
    """The shape of a constant operand: () for a number, (n, ...) for nested lists."""
    if isinstance(value, list | tuple):
        inner = value_shape(value[0]) if value else ()
        return (len(value), *inner)
    return ()


OPS: dict[str, type[OpSpec]] = {}  # keras.ops function name -> entry
OP_ALIASES: dict[str, str] = {}  # Keras's other spellings: abs -> absolute
OPERATORS: dict[str, str] = {}  # spec operator -> function ("+" -> "add", "neg" -> "negative")


def register_op(cls: type[OpSpec]) -> type[OpSpec]:
    OPS[cls.function] = cls
    if cls.operator is not None:
        OPERATORS[cls.operator] = cls.function
    return cls


def lookup_op(name: str) -> type[OpSpec] | None:
    """`sqrt`, `nn.relu6`, `numpy.sum`, `math.logsumexp`: Keras's public paths to one op."""
    for module in ("nn.", "numpy.", "math.", "core.", "image.", "linalg."):
        name = name.removeprefix(module)
    return OPS.get(OP_ALIASES.get(name, name))


# -- shape rules shared by several operations ---------------------------------------------
def show_full(shape: Full) -> str:
    """A full shape as Keras prints it: (None, 4, 3)."""
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def broadcast(a: Full, b: Full, op: str) -> Full:
    """NumPy broadcasting as Keras's broadcast_shapes does it (None meets n as n)."""
    rank = max(len(a), len(b))
    left, right = (1,) * (rank - len(a)) + a, (1,) * (rank - len(b)) + b
    out: list[Dim] = []
    for i, (p, q) in enumerate(zip(left, right, strict=True)):
        if p == 1:
            out.append(q)
        elif p is None:
            out.append(None if q == 1 else q)
        elif q in (1, None, p):
            out.append(p)
        else:
            raise ShapeError(
                f"{op} cannot broadcast {show_full(a)} and {show_full(b)}: axis {i - rank} "
                f"has {p} and {q}",
                help="sizes must be equal or 1 on every axis, counted from the last",
            )
    return tuple(out)


def axis_of(axis: int, rank: int, op: str, shape: Full, *, batch: bool = False) -> int:
    """A Keras axis as a position in a rank-`rank` shape; the batch axis only if `batch`."""
    if not -rank <= axis < rank:
        raise ShapeError(
            f"{op}: axis {axis} is out of range for {show_full(shape)}",
            help=f"use an axis from 1 to {rank - 1}, or from {-(rank - 1)} to -1 "
            "(axis 0 is the batch axis)",
        )
    position = axis % rank
    if position == 0 and not batch:
        raise ShapeError(
            f"{op}: axis {axis} is the batch axis of {show_full(shape)}",
            help=f"kspec keeps the batch axis: use an axis from 1 to {rank - 1}, or negative",
        )
    return position


def axis_list(value: int | tuple[int, ...], rank: int, op: str, shape: Full) -> list[int]:
    out: list[int] = []
    for a in (value,) if isinstance(value, int) else value:
        i = axis_of(a, rank, op, shape)
        if i in out:
            raise ShapeError(f"{op}: axis {a} is named twice for {show_full(shape)}")
        out.append(i)
    return out


# -- argument converters ------------------------------------------------------------------
def axis_arg(value: Any) -> int | tuple[int, ...] | None:
    """Keras's `axis`: none, an integer or a tuple of integers."""
    if value is None:
        return None
    if isinstance(value, tuple | list):
        return tuple(integer(v) for v in value)
    return integer(value)


def int_tuple(value: Any) -> tuple[int, ...]:
    if isinstance(value, tuple | list):
        return tuple(integer(v) for v in value)
    return (integer(value),)


def scalar(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParamError(f"expected a number, got {describe(value)}", code="wrong-kind")
    return value


# -- dtypes -------------------------------------------------------------------------------
_FLOATS = ("bfloat16", "float16", "float32", "float64")
_INTS = ("uint8", "int8", "int16", "int32", "int64")


def _bits(dtype: str) -> int:
    return 16 if dtype == "bfloat16" else int("".join(c for c in dtype if c.isdigit()) or 8)


def promote(dtypes: list[str | float | int | None]) -> str | None:
    """Keras's result_type for the common cases; None when an operand's dtype is not known.

    Python numbers are weak: an int takes the tensor's dtype, a float takes a float tensor's
    dtype and makes an integer or bool tensor float32 (Keras's floatx).
    """
    tensors = [d for d in dtypes if isinstance(d, str) or d is None]
    if any(d is None for d in tensors):
        return None
    names = [d for d in tensors if isinstance(d, str)]
    weak_float = any(isinstance(d, float) for d in dtypes)
    weak_int = any(isinstance(d, int) and not isinstance(d, bool) for d in dtypes)
    floats = [d for d in names if d in _FLOATS]
    ints = [d for d in names if d in _INTS]
    if floats:
        if len(set(floats)) == 1:
            return floats[0]
        return "float32" if set(floats) == {"bfloat16", "float16"} else max(floats, key=_bits)
    if weak_float:
        return "float32"
    if ints:
        return max(ints, key=_bits) if len(set(ints)) > 1 else ints[0]
    if names and all(d == "bool" for d in names):
        return "int32" if weak_int else "bool"
    return "int32" if weak_int else "float32"


def result_dtype(op: OpSpec, dtypes: list[str | float | int | None]) -> str | None:
    """The dtype of an operation's result, following `dtype_rule`."""
    for d in dtypes:
        if d == "string":
            raise ShapeError(
                f"{op.shown()} cannot compute with a string tensor",
                help="turn strings into numbers first, e.g. with StringLookup()",
            )
    rule = op.dtype_rule
    if rule == "cast":
        return str(op.dtype)  # type: ignore[attr-defined]
    if rule in ("int32", "bool"):
        return rule
    if rule == "where":  # the condition does not take part
        return promote(dtypes[1:])
    if rule == "first":
        first = dtypes[0]
        return first if isinstance(first, str) or first is None else promote([first])
    dtype = promote(dtypes)
    if rule == "float" and dtype is not None and dtype not in _FLOATS:
        return "float32"
    return dtype
