"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization, RMSNormalization."""

from __future__ import annotations

from typing import Any

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
    param,
    register,
    to_constraint,
    to_initializer,
    to_regularizer,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import axes, axis_dims, axis_index, product, show


def known_axis(axis: int, x: Shape, layer: str) -> int:
    """The size of the `axis` a layer keeps weights along, which must be known."""
    i = axis_index(axis, x, layer)
    size = (None, *x)[i]
    if size is None:
        where = "the batch axis" if i == 0 else f"axis {axis}"
        raise ShapeError(
            f"{layer} needs a known size on {where}, got {show(x)}",
            help="normalize along an axis of fixed size, such as the channels",
        )
    return size


def to_renorm_clipping(value: Any) -> dict[str, float] | None:
    """BatchNormalization's renorm_clipping: a dict with optional rmax, rmin and dmax numbers."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ParamError(
            f"expected a dict with rmax, rmin, dmax, got {describe(value)}", code="wrong-kind"
        )
    unknown = sorted(set(value) - {"rmax", "rmin", "dmax"})
    if unknown:
        raise ParamError(
            f"renorm_clipping has unknown key '{unknown[0]}'",
            help="its keys are rmax, rmin and dmax",
        )
    return {k: number(v) for k, v in value.items()}


@register
@entry
class BatchNormalization(LayerSpec):
    """Normalizes with batch statistics in training and moving averages in inference."""

    keras_class = "keras.layers.BatchNormalization"
    family = "normalization"
    positional = ("axis",)
    examples = (
        ({}, (10,)),
        ({}, (28, 28, 16)),
        ({"axis": 1}, (8, None, None)),
        ({"axis": -2, "center": False}, (None, 5, 3)),
        ({"scale": False, "center": False, "momentum": 0.9}, (None, 12)),
        ({"renorm": True, "renorm_clipping": {"rmax": 3.0, "rmin": 0.3}}, (6, 4)),
    )

    axis: int = param(-1, convert=integer)
    momentum: float = param(0.99, convert=number, minimum=0, maximum=1)
    epsilon: float = param(0.001, convert=number, minimum=0)
    center: bool = param(True, convert=boolean)
    scale: bool = param(True, convert=boolean)
    beta_initializer: Any = param("zeros", convert=to_initializer)
    gamma_initializer: Any = param("ones", convert=to_initializer)
    moving_mean_initializer: Any = param("zeros", convert=to_initializer)
    moving_variance_initializer: Any = param("ones", convert=to_initializer)
    beta_regularizer: Any = param(None, convert=to_regularizer)
    gamma_regularizer: Any = param(None, convert=to_regularizer)
    beta_constraint: Any = param(None, convert=to_constraint)
    gamma_constraint: Any = param(None, convert=to_constraint)
    renorm: bool = param(False, convert=boolean)
    renorm_clipping: dict[str, float] | None = param(None, convert=to_renorm_clipping)
    renorm_momentum: float = param(0.99, convert=number, minimum=0, maximum=1)
    synchronized: bool = param(False, convert=boolean)

    def validate(self) -> None:
        clip = self.renorm_clipping or {}
        if not self.renorm:
            return
        if clip.get("rmax", 1.0) < clip.get("rmin", 0.0):
            raise ParamError("renorm_clipping: rmax must be >= rmin", arg="renorm_clipping")
        if clip.get("dmax", 0.0) < 0:
            raise ParamError("renorm_clipping: dmax must be >= 0", arg="renorm_clipping")

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        known_axis(self.axis, x, "BatchNormalization")
        return x

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        c = known_axis(self.axis, x, "BatchNormalization")
        # gamma, beta; moving mean and variance (renorm adds moving stddev, renorm mean, stddev)
        return Params((self.scale + self.center) * c, (5 if self.renorm else 2) * c)


@register
@entry
class LayerNormalization(LayerSpec):
    """Normalizes each sample over the given axes (the last by default)."""

    keras_class = "keras.layers.LayerNormalization"
    family = "normalization"
    positional = ("axis",)
    examples = (
        ({}, (10,)),
        ({}, (None, 64)),
        ({"axis": (2, 3)}, (None, 4, 5)),
        ({"axis": [-1, -2], "center": False}, (None, 6, 3)),
        ({"axis": 1, "scale": False, "epsilon": 1e-6}, (7, None)),
    )

    axis: int | tuple[int, ...] = param(-1, convert=axes)
    epsilon: float = param(0.001, convert=number, minimum=0)
    center: bool = param(True, convert=boolean)
    scale: bool = param(True, convert=boolean)
    beta_initializer: Any = param("zeros", convert=to_initializer)
    gamma_initializer: Any = param("ones", convert=to_initializer)
    beta_regularizer: Any = param(None, convert=to_regularizer)
    gamma_regularizer: Any = param(None, convert=to_regularizer)
    beta_constraint: Any = param(None, convert=to_constraint)
    gamma_constraint: Any = param(None, convert=to_constraint)

    def _weight_size(self, x: Shape) -> int:
        sizes = axis_dims(self.axis, x, "LayerNormalization")
        if (self.scale or self.center) and None in sizes.values():
            raise ShapeError(
                f"LayerNormalization needs known sizes on the axes it normalizes "
                f"(axis={self.axis}), got {show(x)}",
                help="normalize along axes of fixed size, such as the features",
            )
        return product(list(sizes.values())) or 0

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        self._weight_size(x)
        return x

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        return Params((self.scale + self.center) * self._weight_size(x))


@register
@entry
class GroupNormalization(LayerSpec):
    """Normalizes each sample over groups of channels."""

    keras_class = "keras.layers.GroupNormalization"
    family = "normalization"
    positional = ("groups",)
    examples = (
        ({"groups": 4}, (28, 28, 16)),
        ({}, (None, 64)),
        ({"groups": -1}, (10, 6)),
        ({"groups": 2, "axis": 1, "center": False}, (8, None, None)),
        ({"groups": 3, "scale": False}, (5, 9)),
    )

    groups: int = param(32, convert=integer)
    axis: int = param(-1, convert=integer)
    epsilon: float = param(0.001, convert=number, minimum=0)
    center: bool = param(True, convert=boolean)
    scale: bool = param(True, convert=boolean)
    beta_initializer: Any = param("zeros", convert=to_initializer)
    gamma_initializer: Any = param("ones", convert=to_initializer)
    beta_regularizer: Any = param(None, convert=to_regularizer)
    gamma_regularizer: Any = param(None, convert=to_regularizer)
    beta_constraint: Any = param(None, convert=to_constraint)
    gamma_constraint: Any = param(None, convert=to_constraint)

    def validate(self) -> None:
        if self.groups <= 0 and self.groups != -1:
            raise ParamError(
                f"groups must be a positive integer or -1, got {self.groups}",
                arg="groups",
                help="-1 makes one group per channel (instance norm)",
                code="out-of-range",
            )

    def _channels(self, x: Shape) -> int:
        channels = known_axis(self.axis, x, "GroupNormalization")
        groups = channels if self.groups == -1 else self.groups
        if channels < groups:
            raise ShapeError(
                f"GroupNormalization: groups ({groups}) cannot exceed the channel "
                f"axis ({channels}) of {show(x)}"
            )
        if channels % groups:
            raise ShapeError(
                f"GroupNormalization: groups ({groups}) must divide the channel axis "
                f"({channels}) of {show(x)}",
                help=f"use a divisor of {channels}, e.g. groups="
                f"{max(d for d in range(1, groups + 1) if channels % d == 0)}",
            )
        return channels

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        self._channels(x)
        return x

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        return Params((self.scale + self.center) * self._channels(x))


@register
@entry
class UnitNormalization(LayerSpec):
    """Scales each sample to unit L2 norm over the given axes."""

    keras_class = "keras.layers.UnitNormalization"
    family = "normalization"
    positional = ("axis",)
    examples = (
        ({}, (10,)),
        ({"axis": 1}, (None, 4)),
        ({"axis": (1, 2)}, (3, 4, 5)),
        ({"axis": -2}, (None, None, 8)),
    )

    axis: int | tuple[int, ...] = param(-1, convert=axes)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        axis_dims(self.axis, x, "UnitNormalization")
        return x


@register
@entry
class RMSNormalization(LayerSpec):
    """Scales each sample by its root mean square over the given axes, with a learned scale."""

    keras_class = "keras.layers.RMSNormalization"
    family = "normalization"
    positional = ("axis", "epsilon")
    examples = (
        ({}, (10, 16)),
        ({"axis": 1}, (6, 4)),
        ({"axis": (1, 2)}, (3, 4, 5)),
        ({"epsilon": 1e-3}, (None, 8)),
        ({"axis": -2}, (7, 3)),
    )

    axis: int | tuple[int, ...] = param(-1, convert=axes)
    epsilon: float = param(1e-06, convert=number, minimum=0)

    def _sizes(self, x: Shape) -> list[int]:
        ids = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        axis_dims(self.axis, x, "RMSNormalization")
        return [known_axis(a, x, "RMSNormalization") for a in ids]

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        self._sizes(x)
        return x

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        return Params(product(self._sizes(x)) or 0)
