"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, Cropping, ZeroPadding, UpSampling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from kspec.catalog.base import (
    Converter,
    Dim,
    LayerSpec,
    ParamError,
    Shape,
    ShapeError,
    describe,
    integer,
    ints,
    pair,
    param,
    register,
    triple,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import (
    SPATIAL_AXES,
    expect_rank,
    join_channels,
    product,
    show,
    split_channels,
)

Ints = tuple[int, ...]
Pairs = tuple[tuple[int, int], ...]
FORMATS = ("channels_last", "channels_first")


def pairs(n: int) -> Converter:
    """An int, n ints or n (before, after) pairs, normalized to n pairs (Cropping2D)."""

    def convert(value: Any) -> Pairs:
        if isinstance(value, int) and not isinstance(value, bool):
            return ((value, value),) * n
        if isinstance(value, tuple | list) and len(value) == n:
            try:
                return tuple(pair(v) for v in value)
            except ParamError:
                pass
        raise ParamError(
            f"expected an integer, a tuple of {n} integers or a tuple of {n} (before, after) "
            f"pairs, got {describe(value)}",
            code="wrong-kind",
        )

    return convert


@register
@entry
class Flatten(LayerSpec):
    """Flattens every axis but the batch into one."""

    keras_class = "keras.layers.Flatten"
    family: ClassVar[str] = "reshaping"
    positional = ("data_format",)
    examples = (
        ({}, (28, 28, 1)),
        ({}, (None, 4)),
        ({}, (5,)),
        ({}, (2, 3, 4, 5)),
        ({"data_format": "channels_first"}, (3, 4, 5)),
    )

    data_format: str | None = param(None, choices=FORMATS)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        return (product(x),) if x else (1,)


def _dims(shape: Sequence[int]) -> str:
    return f"({', '.join(str(d) for d in shape)})"


@register
@entry
class Reshape(LayerSpec):
    """Reshapes the non-batch axes to `target_shape` (one -1 is inferred)."""

    keras_class = "keras.layers.Reshape"
    family: ClassVar[str] = "reshaping"
    positional = ("target_shape",)
    examples = (
        ({"target_shape": (28, 28, 1)}, (784,)),
        ({"target_shape": (-1, 4)}, (8, 6)),
        ({"target_shape": (3, -1)}, (None, 6)),
        ({"target_shape": (6, 2)}, (3, 4)),
        ({"target_shape": (-1,)}, (2, 3, 5)),
        ({"target_shape": (2, 1, 5)}, (10,)),
    )

    target_shape: Ints = param(convert=ints, minimum=-1)

    def validate(self) -> None:
        if self.target_shape.count(-1) > 1:
            raise ParamError(
                f"target_shape may have only one -1, got {_dims(self.target_shape)}",
                arg="target_shape",
            )

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        target = self.target_shape
        total = product(x)
        if total is None:
            return tuple(None if d == -1 else d for d in target)
        known = math.prod(d for d in target if d != -1)
        if -1 not in target:
            if known != total:
                raise ShapeError(
                    f"cannot reshape {show(x)} ({total} elements) into {_dims(target)} "
                    f"({known} elements)",
                    help=f"choose a target_shape whose sizes multiply to {total}, "
                    "or put -1 on one axis",
                )
            return target
        if known == 0 or total % known:
            why = f"{total} is not a multiple of {known}" if known else "the target has a 0 axis"
            raise ShapeError(
                f"cannot reshape {show(x)} ({total} elements) into {_dims(target)}: {why}",
                help=f"the sizes other than -1 must multiply to a divisor of {total}",
            )
        return tuple(total // known if d == -1 else d for d in target)


@register
@entry
class Permute(LayerSpec):
    """Reorders the non-batch axes; dims counts from 1."""

    keras_class = "keras.layers.Permute"
    family: ClassVar[str] = "reshaping"
    positional = ("dims",)
    examples = (
        ({"dims": (2, 1)}, (10, 64)),
        ({"dims": (3, 1, 2)}, (4, 5, 6)),
        ({"dims": (1, 3, 2)}, (None, 7, 3)),
        ({"dims": (1,)}, (5,)),
    )

    dims: Ints = param(convert=ints)

    def validate(self) -> None:
        n = len(self.dims)
        if sorted(self.dims) != list(range(1, n + 1)):
            raise ParamError(
                f"dims must be a permutation of 1..{n}, got {_dims(self.dims)}",
                arg="dims",
                help="axes count from 1 (0 is the batch axis)",
            )

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        expect_rank(x, len(self.dims), f"to match dims={_dims(self.dims)}", "Permute")
        return tuple(x[d - 1] for d in self.dims)


@register
@entry
class RepeatVector(LayerSpec):
    """Repeats a (features,) input n times: (n, features)."""

    keras_class = "keras.layers.RepeatVector"
    family: ClassVar[str] = "reshaping"
    positional = ("n",)
    examples = (
        ({"n": 3}, (32,)),
        ({"n": 1}, (None,)),
        ({"n": 10}, (4,)),
    )

    n: int = param(convert=integer, minimum=1)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        (features,) = expect_rank(x, 1, "(batch, features)", "RepeatVector")
        return (self.n, features)


class _Spatial(LayerSpec):
    """Shared rule of cropping, padding and upsampling: each spatial axis changed on its own."""

    family: ClassVar[str] = "reshaping"
    rank: ClassVar[int]
    data_format: str | None = None

    def _axis(self, x: Shape, axis: str, n: int, i: int) -> Dim:
        raise NotImplementedError

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        spatial, channels = split_channels(x, self.rank, self.data_format, self.layer_name())
        names = SPATIAL_AXES[self.rank]
        out = [None if n is None else self._axis(x, names[i], n, i) for i, n in enumerate(spatial)]
        return join_channels(out, channels, self.data_format)


class _Cropping(_Spatial):
    cropping: Any

    def _axis(self, x: Shape, axis: str, n: int, i: int) -> Dim:
        crop: tuple[int, int] = self.cropping if self.rank == 1 else self.cropping[i]
        before, after = crop
        if before + after >= n:
            raise ShapeError(
                f"{self.layer_name()} cannot crop {before}+{after} from a {axis} axis of {n}, "
                f"input {show(x)}",
                help="cropping must leave at least one element on every axis",
            )
        return n - before - after


@register
@entry
class Cropping1D(_Cropping):
    """Crops (before, after) steps of (steps, channels) inputs."""

    keras_class = "keras.layers.Cropping1D"
    rank = 1
    positional = ("cropping",)
    examples = (
        ({}, (10, 3)),
        ({"cropping": (2, 0)}, (None, 4)),
        ({"cropping": 3}, (9, 2)),
        ({"cropping": (0, 4)}, (5, 1)),
    )

    cropping: Ints = param((1, 1), convert=pair, minimum=0)


@register
@entry
class Cropping2D(_Cropping):
    """Crops rows and columns of (height, width, channels) inputs."""

    keras_class = "keras.layers.Cropping2D"
    rank = 2
    positional = ("cropping", "data_format")
    examples = (
        ({}, (4, 4, 1)),
        ({"cropping": 2}, (28, 28, 3)),
        ({"cropping": ((1, 2), (3, 0))}, (10, 12, 1)),
        ({"cropping": (1, 2)}, (None, 9, 4)),
        ({"cropping": 1, "data_format": "channels_first"}, (3, 8, 8)),
    )

    cropping: Pairs = param(((0, 0), (0, 0)), convert=pairs(2), minimum=0)
    data_format: str | None = param(None, choices=FORMATS)


@register
@entry
class Cropping3D(_Cropping):
    """Crops each spatial axis of (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.Cropping3D"
    rank = 3
    positional = ("cropping", "data_format")
    examples = (
        ({}, (5, 5, 5, 1)),
        ({"cropping": 2}, (6, 7, 8, 2)),
        ({"cropping": ((0, 1), (2, 0), (1, 1))}, (None, 4, 5, 3)),
        ({"cropping": (1, 0, 2)}, (3, 3, 5, 1)),
        ({"data_format": "channels_first"}, (2, 4, 4, 4)),
    )

    cropping: Pairs = param(((1, 1), (1, 1), (1, 1)), convert=pairs(3), minimum=0)
    data_format: str | None = param(None, choices=FORMATS)


class _ZeroPadding(_Spatial):
    padding: Any

    def _axis(self, x: Shape, axis: str, n: int, i: int) -> Dim:
        pad: tuple[int, int] = self.padding if self.rank == 1 else self.padding[i]
        return n + sum(pad)


@register
@entry
class ZeroPadding1D(_ZeroPadding):
    """Pads (before, after) zero steps onto (steps, channels) inputs."""

    keras_class = "keras.layers.ZeroPadding1D"
    rank = 1
    positional = ("padding", "data_format")
    examples = (
        ({}, (10, 3)),
        ({"padding": (2, 0)}, (None, 4)),
        ({"padding": 3}, (5, 2)),
        ({"padding": (1, 2), "data_format": "channels_first"}, (4, 6)),
    )

    padding: Ints = param(1, convert=pair, minimum=0)
    data_format: str | None = param(None, choices=FORMATS)


@register
@entry
class ZeroPadding2D(_ZeroPadding):
    """Pads zero rows and columns onto (height, width, channels) inputs."""

    keras_class = "keras.layers.ZeroPadding2D"
    rank = 2
    positional = ("padding", "data_format")
    examples = (
        ({}, (28, 28, 1)),
        ({"padding": 2}, (None, 5, 3)),
        ({"padding": ((1, 0), (0, 2))}, (4, 4, 2)),
        ({"padding": (1, 3)}, (7, 7, 1)),
        ({"padding": 1, "data_format": "channels_first"}, (3, 6, 5)),
    )

    padding: Pairs = param((1, 1), convert=pairs(2), minimum=0)
    data_format: str | None = param(None, choices=FORMATS)


@register
@entry
class ZeroPadding3D(_ZeroPadding):
    """Pads zeros onto each spatial axis of (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.ZeroPadding3D"
    rank = 3
    positional = ("padding", "data_format")
    examples = (
        ({}, (4, 4, 4, 1)),
        ({"padding": 2}, (None, 3, 3, 2)),
        ({"padding": ((0, 1), (2, 0), (1, 1))}, (3, 4, 5, 1)),
        ({"padding": (1, 0, 2)}, (2, 2, 2, 3)),
        ({"data_format": "channels_first"}, (2, 3, 3, 3)),
    )

    padding: Pairs = param(((1, 1), (1, 1), (1, 1)), convert=pairs(3), minimum=0)
    data_format: str | None = param(None, choices=FORMATS)


class _UpSampling(_Spatial):
    size: Any

    def _axis(self, x: Shape, axis: str, n: int, i: int) -> Dim:
        factor: int = self.size if self.rank == 1 else self.size[i]
        return n * factor


@register
@entry
class UpSampling1D(_UpSampling):
    """Repeats each step `size` times in (steps, channels) inputs."""

    keras_class = "keras.layers.UpSampling1D"
    rank = 1
    positional = ("size",)
    examples = (
        ({}, (10, 3)),
        ({"size": 3}, (None, 4)),
        ({"size": 1}, (5, 2)),
    )

    size: int = param(2, convert=integer, minimum=1)


@register
@entry
class UpSampling2D(_UpSampling):
    """Repeats (or interpolates) rows and columns of (height, width, channels) inputs."""

    keras_class = "keras.layers.UpSampling2D"
    rank = 2
    positional = ("size", "data_format", "interpolation")
    examples = (
        ({}, (7, 7, 16)),
        ({"size": (2, 3)}, (None, 5, 3)),
        ({"size": 3, "interpolation": "bilinear"}, (4, 4, 2)),
        ({"data_format": "channels_first"}, (3, 5, 5)),
    )

    size: Ints = param((2, 2), convert=pair, minimum=1)
    data_format: str | None = param(None, choices=FORMATS)
    interpolation: str = param(
        "nearest", choices=("nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5")
    )


@register
@entry
class UpSampling3D(_UpSampling):
    """Repeats each spatial step of (depth, height, width, channels) inputs."""

    keras_class = "keras.layers.UpSampling3D"
    rank = 3
    positional = ("size", "data_format")
    examples = (
        ({}, (4, 4, 4, 1)),
        ({"size": (1, 2, 3)}, (None, 3, 3, 2)),
        ({"size": 2, "data_format": "channels_first"}, (2, 3, 3, 3)),
    )

    size: Ints = param((2, 2, 2), convert=triple, minimum=1)
    data_format: str | None = param(None, choices=FORMATS)
