"""Image color augmentation: brightness, hue, saturation, sharpness, grayscale, posterization, ...

Each keeps its input's shape and has no weights; the checks are the argument bounds Keras's
constructors enforce (BaseImagePreprocessingLayer._set_factor and each layer's own).
"""

from __future__ import annotations

from kspec.catalog.base import integer, number, optional, pair, param, register
from kspec.catalog.preprocessing import (
    DATA_FORMATS,
    Factor,
    _ImageLayer,
    check_base_factor,
    check_range,
    number_pair,
    to_factor,
)
from kspec.catalog.record import entry

IMAGE = (16, 16, 3)  # an example input: one RGB image


@register
@entry
class RandomBrightness(_ImageLayer):
    """Randomly adds up to `factor` times the value range to images during training."""

    keras_class = "keras.layers.RandomBrightness"
    positional = ("factor", "value_range", "seed")
    examples = (
        ({"factor": 0.2}, IMAGE),
        ({"factor": (-0.5, 0.1), "value_range": (0, 1)}, (None, None, 3)),
        ({"factor": 1.0, "seed": 3}, (8, 8, 1)),
    )

    factor: Factor = param(convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_base_factor("factor", self.factor, -1, 1)


@register
@entry
class RandomGrayscale(_ImageLayer):
    """Turns images to grayscale (kept as 3 channels) with probability `factor` during training."""

    keras_class = "keras.layers.RandomGrayscale"
    positional = ("factor", "data_format", "seed")
    examples = (
        ({}, IMAGE),
        ({"factor": 1.0, "seed": 1}, (None, None, 3)),
        ({"factor": 0.2, "data_format": "channels_first"}, (3, 8, 8)),
    )

    factor: float = param(0.5, convert=number, minimum=0, maximum=1)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))


@register
@entry
class RandomHue(_ImageLayer):
    """Randomly shifts the hue of RGB images by up to `factor` during training."""

    keras_class = "keras.layers.RandomHue"
    positional = ("factor", "value_range", "data_format", "seed")
    examples = (({"factor": 0.5}, IMAGE), ({"factor": (0.1, 0.4), "value_range": (0, 1)}, IMAGE))

    factor: Factor = param(convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)


@register
@entry
class RandomSaturation(_ImageLayer):
    """Randomly scales the saturation of RGB images by `factor` during training."""

    keras_class = "keras.layers.RandomSaturation"
    positional = ("factor", "value_range", "data_format", "seed")
    examples = (({"factor": 0.5}, IMAGE), ({"factor": (0.2, 0.8), "seed": 2}, (None, None, 3)))

    factor: Factor = param(convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_base_factor("factor", self.factor, -1, 1)


@register
@entry
class RandomSharpness(_ImageLayer):
    """Randomly sharpens or blurs images by up to `factor` during training."""

    keras_class = "keras.layers.RandomSharpness"
    positional = ("factor", "value_range", "data_format", "seed")
    examples = (({"factor": 0.5}, IMAGE), ({"factor": (0.0, 1.0), "value_range": (0, 1)}, IMAGE))

    factor: Factor = param(convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_base_factor("factor", self.factor, -1, 1)


@register
@entry
class RandomColorDegeneration(_ImageLayer):
    """Randomly blends images with their grayscale version by up to `factor` during training."""

    keras_class = "keras.layers.RandomColorDegeneration"
    positional = ("factor", "value_range", "data_format", "seed")
    examples = (({"factor": 0.5}, IMAGE), ({"factor": (0.1, 0.9), "seed": 5}, (None, None, 3)))

    factor: Factor = param(convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_base_factor("factor", self.factor, -1, 1)


@register
@entry
class RandomColorJitter(_ImageLayer):
    """Random brightness, contrast, saturation and hue in one layer, each when its factor is set."""

    keras_class = "keras.layers.RandomColorJitter"
    positional = ("value_range", "brightness_factor", "contrast_factor", "saturation_factor",
                  "hue_factor", "seed")  # fmt: skip
    examples = (
        ({}, IMAGE),
        ({"brightness_factor": 0.2, "contrast_factor": 0.3}, IMAGE),
        ({"saturation_factor": 0.5, "hue_factor": 0.5, "value_range": (0, 1)}, (None, None, 3)),
    )

    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    brightness_factor: Factor | None = param(None, convert=optional(to_factor))
    contrast_factor: Factor | None = param(None, convert=optional(to_factor))
    saturation_factor: Factor | None = param(None, convert=optional(to_factor))
    hue_factor: Factor | None = param(None, convert=optional(to_factor))
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        # The bounds of the RandomBrightness, RandomContrast, ... it creates.
        bounds = {"brightness_factor": (-1, 1), "contrast_factor": (0, 1),
                  "saturation_factor": (-1, 1), "hue_factor": (0, 1)}  # fmt: skip
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if value is not None:
                check_base_factor(name, value, low, high)


@register
@entry
class RandomPosterization(_ImageLayer):
    """Randomly reduces images to `factor` bits per channel (1 to 8) during training."""

    keras_class = "keras.layers.RandomPosterization"
    positional = ("factor", "value_range", "data_format", "seed")
    examples = (({"factor": 4}, IMAGE), ({"factor": (2, 6), "value_range": (0, 1)}, IMAGE))

    factor: Factor = param(convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 1, 8)


@register
@entry
class RandomInvert(_ImageLayer):
    """Inverts images (value_range high minus the value) with probability `factor`."""

    keras_class = "keras.layers.RandomInvert"
    positional = ("factor", "value_range", "seed", "data_format")
    examples = (({}, IMAGE), ({"factor": 0.5, "value_range": (0, 1)}, (None, None, 1)))

    factor: Factor = param(1.0, convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)


@register
@entry
class AutoContrast(_ImageLayer):
    """Stretches each image's values to span the whole value range."""

    keras_class = "keras.layers.AutoContrast"
    positional = ("value_range",)
    examples = (({}, IMAGE), ({"value_range": (0, 1)}, (None, None, 3)))

    value_range: tuple[float, float] = param((0, 255), convert=number_pair)


@register
@entry
class Equalization(_ImageLayer):
    """Equalizes each image's histogram over `bins` bins."""

    keras_class = "keras.layers.Equalization"
    positional = ("value_range", "bins", "data_format")
    examples = (({}, IMAGE), ({"bins": 128, "value_range": (0, 1)}, (None, None, 1)))

    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    bins: int = param(256, convert=integer, minimum=1)
    data_format: str | None = param(None, choices=DATA_FORMATS)


@register
@entry
class Solarization(_ImageLayer):
    """Randomly inverts the values above a random threshold, after a random addition."""

    keras_class = "keras.layers.Solarization"
    positional = ("addition_factor", "threshold_factor", "value_range", "seed")
    examples = (
        ({}, IMAGE),
        ({"addition_factor": 0.2, "threshold_factor": (0.1, 0.5), "value_range": (0, 1)}, IMAGE),
    )

    addition_factor: Factor = param(0.0, convert=to_factor)
    threshold_factor: Factor = param(0.0, convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_range("addition_factor", self.addition_factor, 0, 1)
        check_range("threshold_factor", self.threshold_factor, 0, 1)


@register
@entry
class ContrastLimitedAdaptiveHistogramEqualization(_ImageLayer):
    """Equalizes each tile's histogram (CLAHE), clipping it at `clip_limit`."""

    keras_class = "keras.layers.ContrastLimitedAdaptiveHistogramEqualization"
    positional = ("value_range", "clip_limit", "tile_grid_size", "data_format")
    examples = (({}, IMAGE), ({"clip_limit": 2.0, "tile_grid_size": (4, 4)}, (16, 24, 1)))

    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    clip_limit: float = param(4.0, convert=number, minimum=0)
    tile_grid_size: tuple[int, int] = param((8, 8), convert=pair)
    data_format: str | None = param(None, choices=DATA_FORMATS)
