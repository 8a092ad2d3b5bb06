"""Layers that keras.applications models register and use in their graphs: ConvNeXt's LayerScale.

Keras serializes them by their module inside keras.src; `kspec import` reads them back and a spec
may use them like any layer, so an imported ConvNeXt checks, builds and counts as Keras's does.
"""

from __future__ import annotations

from typing import Any

from kspec.catalog.base import LayerSpec, Params, Shape, ShapeError, number, param, register
from kspec.catalog.record import entry
from kspec.catalog.shapes import expect_min_rank, show


@register
@entry
class LayerScale(LayerSpec):
    """ConvNeXt's per-channel learned scale: x * gamma, gamma of size projection_dim."""

    keras_class = "keras.src.applications.convnext.LayerScale"
    family = "applications"
    positional = ("init_values", "projection_dim")
    examples = (
        ({"init_values": 1e-6, "projection_dim": 8}, (4, 4, 8)),
        ({"init_values": 0.1, "projection_dim": 5}, (None, 5)),
    )

    init_values: float = param(convert=number)
    projection_dim: int = param(minimum=1)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        expect_min_rank(x, 1, "LayerScale")
        if x[-1] not in (None, 1, self.projection_dim):
            raise ShapeError(
                f"LayerScale({self.projection_dim}) scales {self.projection_dim} channels, "
                f"got {show(x)}",
                help=f"projection_dim must be the channel count, {x[-1]}",
            )
        return (*x[:-1], self.projection_dim)

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        return Params(trainable=self.projection_dim)
