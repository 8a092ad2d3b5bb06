"""Preprocessing layers: Rescaling, Normalization, Resizing, CenterCrop and image augmentation."""

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
    optional,
    param,
    register,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import axes, axis_dims, join_channels, product, show, split_channels

DATA_FORMATS = ("channels_last", "channels_first")
# keras/src/backend/tensorflow/image.py: RESIZE_INTERPOLATIONS, AFFINE_TRANSFORM_INTERPOLATIONS
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")
AFFINE_INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")

Factor = float | tuple[float, float]


def to_factor(value: Any) -> Factor:
    """A random-augmentation factor: one number (symmetric range) or a (low, high) pair."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ParamError(
                f"expected a number or a (low, high) pair, got {describe(value)}", code="wrong-kind"
            )
        return number(value[0]), number(value[1])
    return number(value)


def number_pair(value: Any) -> tuple[float, float]:
    """A (low, high) pair of numbers, such as RandomContrast's value_range."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise ParamError(f"expected a (low, high) pair, got {describe(value)}", code="wrong-kind")
    return number(value[0]), number(value[1])


def numbers(value: Any) -> float | tuple[float, ...]:
    """A number, or a tuple of numbers (per-channel values such as Rescaling's scale)."""
    if isinstance(value, tuple | list):
        return tuple(number(v) for v in value)
    return number(value)


def array(value: Any) -> float | tuple[Any, ...]:
    """A number or nested lists of numbers (Normalization's mean and variance)."""
    if isinstance(value, tuple | list):
        items = tuple(array(v) for v in value)
        if len({array_shape(v) for v in items}) > 1:
            raise ParamError(
                f"expected a rectangular array of numbers, got {describe(value)}", code="wrong-kind"
            )
        return items
    return number(value)


def array_shape(value: Any) -> tuple[int, ...]:
    if isinstance(value, tuple):
        return (len(value), *(array_shape(value[0]) if value else ()))
    return ()


def check_range(name: str, value: Factor, low: float, high: float, low_open: bool = False) -> None:
    """Every number in `value` in [low, high] (or (low, high] when `low_open`), as Keras checks."""
    for v in value if isinstance(value, tuple) else (value,):
        if v > high or v < low or (low_open and v == low):
            bracket = "(" if low_open else "["
            raise ParamError(
                f"{name} must lie in {bracket}{low:g}, {high:g}], got {v:g}",
                arg=name,
                code="out-of-range",
            )


def check_base_factor(name: str, value: Factor, low: float, high: float) -> None:
    """Keras's BaseImagePreprocessingLayer._set_factor bounds check."""
    if isinstance(value, tuple):
        if value[0] > high or value[1] < low:
            raise ParamError(
                f"{name} {value} lies outside [{low:g}, {high:g}]", arg=name, code="out-of-range"
            )
    else:
        check_range(name, value, low, high)


def image(x: Shape, data_format: str | None, layer: str) -> tuple[Shape, int | None]:
    """Check that `x` is one image (height, width, channels); return ((height, width), channels)."""
    return split_channels(x, 2, data_format, layer)


@register
@entry
class Rescaling(LayerSpec):
    """Multiplies the inputs by `scale` and adds `offset`."""

    keras_class = "keras.layers.Rescaling"
    family = "preprocessing"
    positional = ("scale", "offset")
    examples = (
        ({"scale": 1 / 255}, (28, 28, 1)),
        ({"scale": 1 / 127.5, "offset": -1}, (None, None, 3)),
        ({"scale": 2.0}, (10,)),
        ({"scale": (0.5, 0.25, 1.0)}, (32, 32, 3)),
    )

    scale: float | tuple[float, ...] = param(convert=numbers)
    offset: float | tuple[float, ...] = param(0.0, convert=numbers)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        for name in ("scale", "offset"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or len(value) == 1:
                continue
            if not x or (x[-1] is not None and x[-1] != len(value)):
                raise ShapeError(
                    f"Rescaling: {name} has {len(value)} values but the input {show(x)} "
                    f"has {x[-1] if x else 'no'} channels"
                )
        return x


@register
@entry
class Normalization(LayerSpec):
    """Standardizes features with a mean and variance, given or learned by adapt()."""

    keras_class = "keras.layers.Normalization"
    family = "preprocessing"
    positional = ("axis",)
    examples = (
        ({}, (10,)),
        ({"axis": None}, (None, 4)),
        ({"axis": (1, 2)}, (3, 4, 5)),
        ({"mean": 0.5, "variance": 0.25}, (28, 28, 1)),
        ({"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (None, 3)),
        ({"axis": (1, 2), "mean": [[0.0], [1.0]], "variance": [[1.0], [2.0]]}, (2, 5)),
        ({"invert": True}, (None, None, 6)),
    )

    axis: int | tuple[int, ...] | None = param(-1, convert=optional(axes))
    mean: Any = param(None, convert=array)
    variance: Any = param(None, convert=array)
    invert: bool = param(False, convert=boolean)

    def validate(self) -> None:
        if (self.mean is None) != (self.variance is None):
            missing = "variance" if self.variance is None else "mean"
            raise ParamError(
                f"Normalization needs both mean and variance, {missing} is missing",
                arg="mean" if missing == "variance" else "variance",
            )
        if self.mean is None:
            return
        if array_shape(self.mean) != array_shape(self.variance):
            raise ParamError(
                f"mean has shape {array_shape(self.mean)} but variance has "
                f"{array_shape(self.variance)}",
                arg="variance",
            )
        count = 0 if self.axis is None else 1 if isinstance(self.axis, int) else len(self.axis)
        if len(array_shape(self.mean)) > count:
            raise ParamError(
                f"mean has rank {len(array_shape(self.mean))}, more than the "
                f"{count} kept axes (axis={self.axis})",
                arg="mean",
            )

    def _kept(self, x: Shape) -> list[int]:
        kept = axis_dims(() if self.axis is None else self.axis, x, "Normalization")
        for i, size in kept.items():
            if size is None:
                where = "the batch axis" if i == 0 else f"axis {i}"
                raise ShapeError(
                    f"Normalization needs a known size on {where}, which it keeps, got {show(x)}"
                )
        sizes = [s for s in kept.values() if s is not None]
        stats = array_shape(self.mean) if self.mean is not None else ()
        # Keras lines the mean's axes up with the kept axes from the right, then broadcasts.
        for have, want in zip(reversed(stats), reversed(sizes), strict=False):
            if have not in (1, want):
                raise ShapeError(
                    f"Normalization: mean of shape {stats} does not broadcast to "
                    f"the kept axes {tuple(sizes)} of {show(x)}"
                )
        return sizes

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        self._kept(x)
        return x

    def count_params(self, x: Shape, **tensors: Any) -> Params:
        sizes = self._kept(x)
        if self.mean is not None:
            return Params()
        return Params(0, 2 * (product(sizes) or 0) + 1)  # adapted mean, variance and count


@entry
class _ImageLayer(LayerSpec):
    """Image layers that keep their input's shape: checks for one (height, width, channels)."""

    family = "preprocessing"
    training_default = True

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        image(x, getattr(self, "data_format", None), self.layer_name())
        return x


@register
@entry
class Resizing(LayerSpec):
    """Resizes images to (height, width)."""

    training_default = True
    keras_class = "keras.layers.Resizing"
    family = "preprocessing"
    positional = ("height", "width")
    examples = (
        ({"height": 64, "width": 64}, (28, 28, 3)),
        ({"height": 10, "width": 20, "interpolation": "nearest"}, (None, None, 1)),
        ({"height": 32, "width": 16, "crop_to_aspect_ratio": True}, (40, 40, 3)),
        ({"height": 8, "width": 8, "pad_to_aspect_ratio": True, "fill_value": 1}, (5, 9, 2)),
        ({"height": 12, "width": 14, "data_format": "channels_first"}, (3, 20, 20)),
    )

    height: int = param(convert=integer, minimum=1)
    width: int = param(convert=integer, minimum=1)
    interpolation: str = param("bilinear", choices=RESIZE_INTERPOLATIONS)
    crop_to_aspect_ratio: bool = param(False, convert=boolean)
    pad_to_aspect_ratio: bool = param(False, convert=boolean)
    fill_mode: str = param("constant", choices=("constant",))
    fill_value: float = param(0.0, convert=number)
    antialias: bool = param(False, convert=boolean)
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        if self.crop_to_aspect_ratio and self.pad_to_aspect_ratio:
            raise ParamError(
                "crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be true",
                arg="pad_to_aspect_ratio",
            )

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        _, channels = image(x, self.data_format, "Resizing")
        return join_channels((self.height, self.width), channels, self.data_format)


@register
@entry
class CenterCrop(LayerSpec):
    """Crops the center (height, width) of images, resizing those that are smaller."""

    training_default = True
    keras_class = "keras.layers.CenterCrop"
    family = "preprocessing"
    positional = ("height", "width")
    examples = (
        ({"height": 24, "width": 24}, (28, 28, 3)),
        ({"height": 10, "width": 5}, (None, None, 1)),
        ({"height": 40, "width": 40}, (32, 32, 3)),
        ({"height": 8, "width": 6, "data_format": "channels_first"}, (2, 16, 16)),
    )

    height: int = param(convert=integer, minimum=1)
    width: int = param(convert=integer, minimum=1)
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        _, channels = image(x, self.data_format, "CenterCrop")
        return join_channels((self.height, self.width), channels, self.data_format)


@register
@entry
class RandomFlip(_ImageLayer):
    """Randomly flips images horizontally and/or vertically during training."""

    keras_class = "keras.layers.RandomFlip"
    positional = ("mode",)
    examples = (
        ({}, (28, 28, 3)),
        ({"mode": "horizontal"}, (None, None, 3)),
        ({"mode": "vertical", "seed": 1}, (32, 32, 1)),
        ({"mode": "horizontal_and_vertical", "data_format": "channels_first"}, (3, 8, 8)),
    )

    mode: str = param(
        "horizontal_and_vertical", choices=("horizontal", "vertical", "horizontal_and_vertical")
    )
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)


@register
@entry
class RandomRotation(_ImageLayer):
    """Randomly rotates images by up to `factor` * 2pi during training."""

    keras_class = "keras.layers.RandomRotation"
    positional = ("factor",)
    examples = (
        ({"factor": 0.1}, (28, 28, 3)),
        ({"factor": (-0.2, 0.3), "fill_mode": "constant"}, (None, None, 1)),
        ({"factor": 0.5, "interpolation": "nearest", "seed": 4}, (16, 16, 3)),
        ({"factor": 0.05, "data_format": "channels_first"}, (3, 10, 12)),
    )

    factor: Factor = param(convert=to_factor)
    fill_mode: str = param("reflect", choices=FILL_MODES)
    interpolation: str = param("bilinear", choices=AFFINE_INTERPOLATIONS)
    seed: int | None = param(None, convert=optional(integer))
    fill_value: float = param(0.0, convert=number)
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_base_factor("factor", self.factor, -1, 1)


@register
@entry
class RandomZoom(_ImageLayer):
    """Randomly zooms images in or out during training."""

    keras_class = "keras.layers.RandomZoom"
    positional = ("height_factor", "width_factor")
    examples = (
        ({"height_factor": 0.2}, (28, 28, 3)),
        ({"height_factor": (-0.3, 0.1), "width_factor": (-0.2, 0.2)}, (None, None, 3)),
        ({"height_factor": 0.5, "width_factor": 0.1, "fill_mode": "nearest"}, (20, 10, 1)),
        ({"height_factor": 1.0, "data_format": "channels_first"}, (2, 8, 8)),
    )

    height_factor: Factor = param(convert=to_factor)
    width_factor: Factor | None = param(None, convert=optional(to_factor))
    fill_mode: str = param("reflect", choices=FILL_MODES)
    interpolation: str = param("bilinear", choices=AFFINE_INTERPOLATIONS)
    seed: int | None = param(None, convert=optional(integer))
    fill_value: float = param(0.0, convert=number)
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_range("height_factor", self.height_factor, -1, 1, low_open=True)
        if self.width_factor is not None:
            check_range("width_factor", self.width_factor, -1, 1, low_open=True)


@register
@entry
class RandomTranslation(_ImageLayer):
    """Randomly shifts images by fractions of their height and width during training."""

    keras_class = "keras.layers.RandomTranslation"
    positional = ("height_factor", "width_factor")
    examples = (
        ({"height_factor": 0.1, "width_factor": 0.1}, (28, 28, 3)),
        ({"height_factor": (-0.2, 0.0), "width_factor": 0.3}, (None, None, 1)),
        ({"height_factor": 1.0, "width_factor": (0.1, 0.2), "fill_mode": "wrap"}, (16, 8, 2)),
        ({"height_factor": 0.2, "width_factor": 0.2, "data_format": "channels_first"}, (3, 9, 9)),
    )

    height_factor: Factor = param(convert=to_factor)
    width_factor: Factor = param(convert=to_factor)
    fill_mode: str = param("reflect", choices=FILL_MODES)
    interpolation: str = param("bilinear", choices=AFFINE_INTERPOLATIONS)
    seed: int | None = param(None, convert=optional(integer))
    fill_value: float = param(0.0, convert=number)
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_range("height_factor", self.height_factor, -1, 1)
        check_range("width_factor", self.width_factor, -1, 1)


@register
@entry
class RandomContrast(_ImageLayer):
    """Randomly adjusts the contrast of images by up to `factor` during training."""

    keras_class = "keras.layers.RandomContrast"
    positional = ("factor",)
    examples = (
        ({"factor": 0.2}, (28, 28, 3)),
        ({"factor": (0.1, 0.5), "value_range": (0, 1)}, (None, None, 3)),
        ({"factor": 1.0, "seed": 8}, (16, 16, 1)),
    )

    factor: Factor = param(convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)
