"""Attention layers: MultiHeadAttention, GroupQueryAttention, dot-product Attention,
AdditiveAttention."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from kspec.catalog.base import (
    LayerSpec,
    ParamError,
    Params,
    Shape,
    ShapeError,
    boolean,
    integer,
    ints,
    number,
    optional,
    param,
    register,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import product, show


def _unpack(x: Any, layer: str) -> tuple[Shape, Shape, Shape]:
    """(query, value, key) from a list [query, value] or [query, value, key]."""
    if not isinstance(x, list) or not 2 <= len(x) <= 3:
        n = len(x) if isinstance(x, list) else 1
        raise ShapeError(
            f"{layer} needs a query and a value, got {'one tensor' if n == 1 else f'{n} tensors'}",
            help=f"feed it [query, value] or [query, value, key]: [q, v] -> {layer}(...)",
        )
    query, value = x[0], x[1]
    return query, value, x[2] if len(x) == 3 else value


def _same_rank(query: Shape, value: Shape, key: Shape, layer: str) -> int:
    rank = len(query)
    if rank < 2 or len(value) != rank or len(key) != rank:
        raise ShapeError(
            f"{layer} expects query, value and key of the same rank with a sequence axis, "
            f"e.g. (None, 10, 64), got {show(query)}, {show(value)} and {show(key)}",
            help="add Reshape((timesteps, features)) before it",
        )
    return rank


def _known_last(shapes: tuple[Shape, ...], names: tuple[str, ...], layer: str) -> None:
    for shape, name in zip(shapes, names, strict=True):
        if shape[-1] is None:
            raise ShapeError(f"{layer} needs a known last axis on {name}, got {show(shape)}")


def _differ(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a != b


@register
@entry
class MultiHeadAttention(LayerSpec):
    """Multi-head scaled dot-product attention of a query over value/key sequences."""

    keras_class = "keras.layers.MultiHeadAttention"
    positional = ("num_heads", "key_dim")
    call_inputs = ("query", "value", "key")
    call_tensors = ("query_mask", "value_mask", "key_mask", "attention_mask")
    call_options = ("use_causal_mask", "return_attention_scores")
    family: ClassVar[str] = "attention"
    examples = (
        ({"num_heads": 2, "key_dim": 16}, [(10, 32), (10, 32)]),
        ({"num_heads": 4, "key_dim": 8}, [(5, 12), (7, 20)]),
        ({"num_heads": 3, "key_dim": 8, "value_dim": 6}, [(None, 16), (None, 24), (None, 10)]),
        ({"num_heads": 2, "key_dim": 4, "use_bias": False, "dropout": 0.1}, [(6, 8), (9, 8)]),
        ({"num_heads": 2, "key_dim": 4, "use_gate": True}, [(6, 8), (9, 10)]),
        ({"num_heads": 2, "key_dim": 4, "attention_axes": (1, 2)}, [(3, 5, 8), (4, 7, 6)]),
        ({"num_heads": 2, "key_dim": 8, "output_shape": 12}, [(5, 16), (7, 16)]),
        ({"num_heads": 2, "key_dim": 4, "output_shape": (3, 5)}, [(4, 6), (7, 9), (7, 2)]),
        (
            {"num_heads": 1, "key_dim": 4, "value_dim": 2, "output_shape": (6,)},
            [(None, 3), (None, 5)],
        ),
    )

    num_heads: int = param(convert=integer, minimum=1)
    key_dim: int = param(convert=integer, minimum=1)
    value_dim: int | None = param(None, convert=optional(integer), minimum=1)
    dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    use_bias: bool = param(True, convert=boolean)
    output_shape: tuple[int, ...] | None = param(None, convert=optional(ints), minimum=1)
    attention_axes: tuple[int, ...] | None = param(None, convert=optional(ints))
    sliding_window: int | None = param(None, convert=optional(integer), minimum=1)
    flash_attention: bool | None = param(None, convert=optional(boolean))
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)
    use_gate: bool = param(False, convert=boolean)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        if self.flash_attention and self.dropout > 0:
            raise ParamError(
                "flash attention does not support dropout",
                arg="dropout",
                help="set dropout=0.0 or flash_attention=false",
            )

    def _projection(self, query: Shape) -> Shape:
        """The output projection's dims: output_shape, or else the query's last axis."""
        return tuple(self.output_shape or ()) or (query[-1],)

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        query, value, key = _unpack(x, "MultiHeadAttention")
        rank = _same_rank(query, value, key, "MultiHeadAttention")
        _known_last((query, value, key), ("query", "value", "key"), "MultiHeadAttention")
        if value[:-1] != key[:-1]:
            raise ShapeError(
                f"MultiHeadAttention value and key must match except on the last "
                f"axis, got {show(value)} and {show(key)}"
            )
        if self.attention_axes is not None:
            attended = {a - 1 if a >= 0 else rank + a for a in self.attention_axes}
            for i in range(rank - 1):
                if i not in attended and _differ(query[i], value[i]):
                    raise ShapeError(
                        f"MultiHeadAttention query and value must match on axis {i + 1}, which "
                        f"is not in attention_axes, got {show(query)} and {show(value)}"
                    )
        mask = tensors.get("attention_mask")
        expected = (query[0], value[0])
        if (
            mask is not None
            and len(mask) == 2 == rank
            and not all(m == 1 or not _differ(m, n) for m, n in zip(mask, expected, strict=True))
        ):
            raise ShapeError(
                f"attention_mask {show(mask)} does not fit query {show(query)} and value "
                f"{show(value)}: expected (batch, query length, value length)"
            )
        return (*query[:-1], *self._projection(query))

    def call_output_shape(self, x: Any, options: Mapping[str, Any], **tensors: Any) -> Any:
        out = self.compute_output_shape(x, **tensors)
        if not options.get("return_attention_scores"):
            return out
        # Keras's compute_output_spec: (batch, heads, query length, query length), whatever the
        # key's length (keras/src/layers/attention/multi_head_attention.py).
        length = x[0][0]
        return [out, (self.num_heads, length, length)]

    def count_params(self, x: Any, **tensors: Any) -> Params:
        query, value, key = _unpack(x, "MultiHeadAttention")
        heads, kdim = self.num_heads, self.key_dim
        vdim = self.value_dim or kdim
        out = product(self._projection(query)) or 0
        bias = 1 if self.use_bias else 0

        def dense(fan_in: int, units: int) -> int:
            return fan_in * units + bias * units

        total = dense(query[-1] or 0, heads * kdim) + dense(key[-1] or 0, heads * kdim)
        total += dense(value[-1] or 0, heads * vdim) + dense(heads * vdim, out)
        if self.use_gate:
            total += dense(query[-1] or 0, heads * vdim)
        return Params(total)


@register
@entry
class GroupQueryAttention(LayerSpec):
    """Attention whose query heads share fewer key/value heads (grouped-query attention)."""

    keras_class = "keras.layers.GroupQueryAttention"
    positional = ("head_dim", "num_query_heads", "num_key_value_heads")
    call_inputs = ("query", "value", "key")
    call_tensors = ("query_mask", "value_mask", "key_mask", "attention_mask")
    family: ClassVar[str] = "attention"
    examples = (
        ({"head_dim": 8, "num_query_heads": 4, "num_key_value_heads": 2}, [(10, 32), (12, 32)]),
        ({"head_dim": 4, "num_query_heads": 2, "num_key_value_heads": 1}, [(None, 6), (None, 6)]),
        (
            {"head_dim": 4, "num_query_heads": 6, "num_key_value_heads": 3, "use_bias": False},
            [(5, 8), (7, 8), (7, 3)],
        ),
        (
            {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 4, "use_gate": True},
            [(3, 5), (4, 5)],
        ),
        (
            {"head_dim": 4, "num_query_heads": 2, "num_key_value_heads": 2, "dropout": 0.1},
            [(6, 4), (6, 4)],
        ),
    )

    head_dim: int = param(convert=integer, minimum=1)
    num_query_heads: int = param(convert=integer, minimum=1)
    num_key_value_heads: int = param(convert=integer, minimum=1)
    dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    use_bias: bool = param(True, convert=boolean)
    sliding_window: int | None = param(None, convert=optional(integer), minimum=1)
    flash_attention: bool | None = param(None, convert=optional(boolean))
    kernel_initializer: Any = param("glorot_uniform", convert=to_initializer)
    bias_initializer: Any = param("zeros", convert=to_initializer)
    kernel_regularizer: Any = param(None, convert=to_regularizer)
    bias_regularizer: Any = param(None, convert=to_regularizer)
    activity_regularizer: Any = param(None, convert=to_regularizer)
    kernel_constraint: Any = param(None, convert=to_constraint)
    bias_constraint: Any = param(None, convert=to_constraint)
    use_gate: bool = param(False, convert=boolean)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        if self.num_query_heads % self.num_key_value_heads:
            raise ParamError(
                f"num_query_heads ({self.num_query_heads}) must be divisible by "
                f"num_key_value_heads ({self.num_key_value_heads})",
                arg="num_key_value_heads",
            )
        if self.flash_attention and self.dropout > 0:
            raise ParamError(
                "flash attention does not support dropout",
                arg="dropout",
                help="set dropout=0.0 or flash_attention=false",
            )

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        name = "GroupQueryAttention"
        query, value, key = _unpack(x, name)
        if not len(query) == len(value) == len(key) == 2:
            raise ShapeError(
                f"{name} expects query, value and key of shape (length, features), got "
                f"{show(query)}, {show(value)} and {show(key)}",
                help="add Reshape((timesteps, features)) before it",
            )
        _known_last((query, value, key), ("query", "value", "key"), name)
        if query[-1] != value[-1]:
            raise ShapeError(
                f"{name} query and value must have the same last axis, got {show(query)} and "
                f"{show(value)}",
                help="project them to the same size with Dense first",
            )
        if _differ(value[0], key[0]):
            raise ShapeError(
                f"{name} value and key must have the same length, got {show(value)} and {show(key)}"
            )
        return query

    def count_params(self, x: Any, **tensors: Any) -> Params:
        query, value, key = _unpack(x, "GroupQueryAttention")
        bias = 1 if self.use_bias else 0
        q_units = self.num_query_heads * self.head_dim
        kv_units = self.num_key_value_heads * self.head_dim

        def dense(fan_in: Any, units: int) -> int:
            return int(fan_in) * units + bias * units

        total = dense(query[-1], q_units) + dense(key[-1], kv_units) + dense(value[-1], kv_units)
        total += dense(q_units, int(query[-1] or 0))
        if self.use_gate:
            total += dense(query[-1], q_units)
        return Params(total)


class _ScoreAttention(LayerSpec):
    """Shared rule of Attention and AdditiveAttention: output (*query[:-1], value[-1])."""

    training_default = False

    takes_list = True
    call_tensors = ("mask",)
    call_options = ("use_causal_mask", "return_attention_scores")
    family: ClassVar[str] = "attention"

    def call_output_shape(self, x: Any, options: Mapping[str, Any], **tensors: Any) -> Any:
        out = self.compute_output_shape(x, **tensors)
        if not options.get("return_attention_scores"):
            return out
        query, _, key = _unpack(x, self.layer_name())
        return [out, (*query[:-1], key[-2])]  # Keras's compute_output_spec: (*batch, Tq, Tv)

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        name = self.layer_name()
        query, value, key = _unpack(x, name)
        _same_rank(query, value, key, name)
        if _differ(query[-1], key[-1]):
            raise ShapeError(
                f"{name} query and key must have the same last axis, got {show(query)} and "
                f"{show(key)}",
                help="project them to the same size with Dense first",
            )
        if _differ(key[-2], value[-2]):
            raise ShapeError(
                f"{name} key and value must have the same length, got {show(key)} and {show(value)}"
            )
        mask = tensors.get("mask")
        if mask is not None and (not isinstance(mask, list) or not 2 <= len(mask) <= 3):
            raise ShapeError(f"{name} mask must be a list [query_mask, value_mask]")
        return (*query[:-1], value[-1])


@register
@entry
class Attention(_ScoreAttention):
    """Dot-product (Luong-style) attention of a query over a value sequence."""

    keras_class = "keras.layers.Attention"
    positional = ("use_scale", "score_mode")
    examples = (
        ({}, [(10, 16), (12, 16)]),
        ({"use_scale": True}, [(None, 8), (None, 8)]),
        ({"score_mode": "concat"}, [(5, 8), (7, 8)]),
        ({"score_mode": "concat", "use_scale": True}, [(5, 8), (7, 8), (7, 8)]),
        ({"dropout": 0.2}, [(4, 6), (9, 3), (9, 6)]),
    )

    use_scale: bool = param(False, convert=boolean)
    score_mode: str = param("dot", choices=("dot", "concat"))
    dropout: float = param(0.0, convert=number, minimum=0, maximum=1)
    seed: int | None = param(None, convert=optional(integer))

    def count_params(self, x: Any, **tensors: Any) -> Params:
        return Params(int(self.use_scale) + int(self.score_mode == "concat"))


@register
@entry
class AdditiveAttention(_ScoreAttention):
    """Additive (Bahdanau-style) attention of a query over a value sequence."""

    keras_class = "keras.layers.AdditiveAttention"
    positional = ("use_scale",)
    examples = (
        ({}, [(10, 16), (12, 16)]),
        ({"use_scale": False}, [(None, 8), (None, 8)]),
        ({}, [(5, 8), (7, 4), (7, 8)]),
        ({"dropout": 0.1}, [(3, 32), (6, 32)]),
    )

    use_scale: bool = param(True, convert=boolean)
    dropout: float = param(0.0, convert=number, minimum=0, maximum=1)

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        out = super().compute_output_shape(x, **tensors)
        if self.use_scale and x[0][-1] is None:
            raise ShapeError(
                f"AdditiveAttention needs a known last axis on the query, got {show(x[0])}"
            )
        return out

    def count_params(self, x: Any, **tensors: Any) -> Params:
        return Params(x[0][-1] or 0 if self.use_scale else 0)
