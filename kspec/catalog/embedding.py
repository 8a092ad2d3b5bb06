"""Embedding and ReversibleEmbedding: lookup tables from integer ids to dense vectors."""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import (
    LayerSpec,
    ParamError,
    Params,
    Shape,
    boolean,
    integer,
    number,
    optional,
    param,
    register,
    to_constraint,
    to_dtype,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.record import entry


def _initializer(value: Any) -> Any:
    """to_initializer, plus Keras's alias 'uniform' (RandomUniform), Embedding's default."""
    return value if value == "uniform" else to_initializer(value)


@register
@entry
class Embedding(LayerSpec):
    """Maps integer ids in [0, input_dim) to vectors of size output_dim."""

    keras_class = "keras.layers.Embedding"
    positional = ("input_dim", "output_dim")
    family: ClassVar[str] = "embedding"
    examples = (
        ({"input_dim": 1000, "output_dim": 64}, (10,)),
        ({"input_dim": 5000, "output_dim": 32, "mask_zero": True}, (None,)),
        ({"input_dim": 20, "output_dim": 8}, ()),
        ({"input_dim": 100, "output_dim": 16, "embeddings_initializer": "glorot_uniform"}, (4, 6)),
        ({"input_dim": 50, "output_dim": 12, "lora_rank": 4}, (None,)),
        ({"input_dim": 30, "output_dim": 6, "lora_rank": 2, "lora_alpha": 4.0}, (7,)),
    )

    input_dim: int = param(convert=integer, minimum=1)
    output_dim: int = param(convert=integer, minimum=1)
    embeddings_initializer: Any = param("uniform", convert=_initializer)
    embeddings_regularizer: Any = param(None, convert=to_regularizer)
    embeddings_constraint: Any = param(None, convert=to_constraint)
    mask_zero: bool = param(False, convert=boolean)
    lora_rank: int | None = param(None, convert=optional(integer), minimum=1)
    lora_alpha: float | None = param(None, convert=optional(number), minimum=0)

    def validate(self) -> None:
        if self.lora_rank is not None and self.embeddings_constraint is not None:
            raise ParamError("LoRA cannot be used with embeddings_constraint", arg="lora_rank")

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return (*x, self.output_dim)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        table = self.input_dim * self.output_dim
        if self.lora_rank is None:
            return Params(table)
        # LoRA freezes the table and trains two low-rank factors.
        return Params((self.input_dim + self.output_dim) * self.lora_rank, table)


@register
@entry
class ReversibleEmbedding(LayerSpec):
    """An Embedding whose table (or a second one, untied) also maps vectors back to id logits.

    A spec uses its forward direction; Keras's `reverse=True` call is not a spec call argument.
    """

    keras_class = "keras.layers.ReversibleEmbedding"
    positional = ("input_dim", "output_dim", "tie_weights")
    family: ClassVar[str] = "embedding"
    examples = (
        ({"input_dim": 100, "output_dim": 16}, (10,)),
        ({"input_dim": 50, "output_dim": 8, "tie_weights": False}, (None,)),
        ({"input_dim": 20, "output_dim": 4, "mask_zero": True, "logit_soft_cap": 30.0}, (3, 5)),
    )

    input_dim: int = param(convert=integer, minimum=1)
    output_dim: int = param(convert=integer, minimum=1)
    tie_weights: bool = param(True, convert=boolean)
    embeddings_initializer: Any = param("uniform", convert=_initializer)
    embeddings_regularizer: Any = param(None, convert=to_regularizer)
    embeddings_constraint: Any = param(None, convert=to_constraint)
    mask_zero: bool = param(False, convert=boolean)
    reverse_dtype: str | None = param(None, convert=to_dtype)
    logit_soft_cap: float | None = param(None, convert=optional(number), minimum=0)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return (*x, self.output_dim)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        table = self.input_dim * self.output_dim
        return Params(table if self.tie_weights else 2 * table)
