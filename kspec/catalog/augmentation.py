"""Image augmentation beyond color: crops, shears, perspective, erasing, blur and mixing.

All but RandomCrop keep their input's shape; none has weights. The checks are the argument
bounds Keras's constructors enforce.
"""

from __future__ import annotations

from typing import Any

from kspec.catalog.base import (
    ParamError,
    Shape,
    boolean,
    describe,
    integer,
    number,
    optional,
    param,
    register,
)
from kspec.catalog.preprocessing import (
    AFFINE_INTERPOLATIONS,
    DATA_FORMATS,
    FILL_MODES,
    Factor,
    _ImageLayer,
    check_base_factor,
    check_range,
    image,
    number_pair,
    to_factor,
)
from kspec.catalog.record import entry
from kspec.catalog.shapes import join_channels

IMAGE = (16, 16, 3)  # an example input: one RGB image


@register
@entry
class RandomCrop(_ImageLayer):
    """Crops a random (height, width) window during training, the center one at inference."""

    keras_class = "keras.layers.RandomCrop"
    positional = ("height", "width", "seed", "data_format")
    examples = (
        ({"height": 10, "width": 12}, (28, 28, 3)),
        ({"height": 10, "width": 12}, (None, None, 1)),
        ({"height": 4, "width": 6, "seed": 1, "data_format": "channels_first"}, (3, 16, 16)),
        ({"height": 20, "width": 20}, (8, 8, 3)),
    )

    height: int = param(convert=integer, minimum=1)
    width: int = param(convert=integer, minimum=1)
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def compute_output_shape(self, x: Shape, **tensors: Any) -> Shape:
        _, channels = image(x, self.data_format, "RandomCrop")
        return join_channels((self.height, self.width), channels, self.data_format)


@register
@entry
class RandomShear(_ImageLayer):
    """Randomly shears images along x and y by up to the given factors during training."""

    keras_class = "keras.layers.RandomShear"
    positional = ("x_factor", "y_factor", "interpolation", "fill_mode", "fill_value")
    examples = (
        ({}, IMAGE),
        # Pairs only: Keras saves x_factor=0.2 as (-0.2, 0.2), which its own check then refuses.
        ({"x_factor": (0, 0.2), "y_factor": (0.1, 0.3), "fill_mode": "constant"}, (None, None, 3)),
        (
            {"x_factor": (0.5, 1), "interpolation": "nearest", "data_format": "channels_first"},
            (3, 8, 8),
        ),
    )

    x_factor: Factor = param(0.0, convert=to_factor)
    y_factor: Factor = param(0.0, convert=to_factor)
    interpolation: str = param("bilinear", choices=AFFINE_INTERPOLATIONS)
    fill_mode: str = param("reflect", choices=FILL_MODES)
    fill_value: float = param(0.0, convert=number)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_range("x_factor", self.x_factor, 0, 1)
        check_range("y_factor", self.y_factor, 0, 1)


@register
@entry
class RandomPerspective(_ImageLayer):
    """Randomly moves the image corners by up to `scale` (with probability `factor`)."""

    keras_class = "keras.layers.RandomPerspective"
    positional = ("factor", "scale", "interpolation", "fill_value", "seed", "data_format")
    examples = (({}, IMAGE), ({"factor": 0.5, "scale": 0.2, "fill_value": 1}, (None, None, 3)))

    factor: Factor = param(1.0, convert=to_factor)
    scale: float = param(1.0, convert=number, minimum=0, maximum=1)
    interpolation: str = param("bilinear", choices=AFFINE_INTERPOLATIONS)
    fill_value: float = param(0.0, convert=number)
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)


@register
@entry
class RandomElasticTransform(_ImageLayer):
    """Randomly distorts images with a smooth displacement field during training."""

    keras_class = "keras.layers.RandomElasticTransform"
    positional = ("factor", "scale", "interpolation", "fill_mode", "fill_value", "value_range")
    examples = (
        ({}, IMAGE),
        ({"factor": 0.5, "scale": (0.1, 0.4), "fill_mode": "mirror"}, (None, None, 3)),
    )

    factor: Factor = param(1.0, convert=to_factor)
    scale: Factor = param(1.0, convert=to_factor)
    interpolation: str = param("bilinear", choices=AFFINE_INTERPOLATIONS)
    fill_mode: str = param("reflect", choices=("reflect", "wrap", "constant", "nearest", "mirror"))
    fill_value: float = param(0.0, convert=number)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)
        check_base_factor("scale", self.scale, 0, 1)


@register
@entry
class RandomErasing(_ImageLayer):
    """Randomly erases a rectangle covering a `scale` fraction of images during training."""

    keras_class = "keras.layers.RandomErasing"
    positional = ("factor", "scale", "fill_value", "value_range", "seed", "data_format")
    examples = (({}, IMAGE), ({"factor": 0.5, "scale": (0.1, 0.2), "fill_value": 0}, IMAGE))

    factor: Factor = param(1.0, convert=to_factor)
    scale: Factor = param((0.02, 0.33), convert=to_factor)
    fill_value: float | None = param(None, convert=optional(number))
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)
        check_base_factor("scale", self.scale, 0, 1)


def odd_size(value: Any) -> int | tuple[int, int]:
    """RandomGaussianBlur's kernel_size: an odd integer, or a pair of them."""
    sizes = value if isinstance(value, tuple | list) else (value,)
    if len(sizes) not in (1, 2) or any(
        isinstance(v, bool) or not isinstance(v, int) or v % 2 == 0 for v in sizes
    ):
        raise ParamError(
            f"expected an odd integer or a pair of them, got {describe(value)}", code="wrong-kind"
        )
    return (sizes[0], sizes[1]) if len(sizes) == 2 else sizes[0]


@register
@entry
class RandomGaussianBlur(_ImageLayer):
    """Blurs images with a random-sigma Gaussian kernel with probability `factor`."""

    keras_class = "keras.layers.RandomGaussianBlur"
    positional = ("factor", "kernel_size", "sigma", "value_range", "data_format", "seed")
    examples = (({}, IMAGE), ({"factor": 0.5, "kernel_size": 5, "sigma": (0.1, 0.9)}, IMAGE))

    factor: Factor = param(1.0, convert=to_factor)
    kernel_size: int | tuple[int, int] = param(3, convert=odd_size)
    sigma: Factor = param(1.0, convert=to_factor)
    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)
        check_base_factor("sigma", self.sigma, 0, 1)


@register
@entry
class MixUp(_ImageLayer):
    """Blends each image of a training batch with another, weights drawn from Beta(alpha, alpha)."""

    keras_class = "keras.layers.MixUp"
    positional = ("alpha", "data_format", "seed")
    examples = (({}, IMAGE), ({"alpha": 0.5, "seed": 1}, (None, None, 3)))

    alpha: float = param(0.2, convert=number, minimum=0)
    data_format: str | None = param(None, choices=DATA_FORMATS)
    seed: int | None = param(None, convert=optional(integer))


@register
@entry
class CutMix(_ImageLayer):
    """Pastes a random patch of another image of the batch into each image during training."""

    keras_class = "keras.layers.CutMix"
    positional = ("factor", "seed", "data_format")
    examples = (({}, IMAGE), ({"factor": 0.5, "seed": 2}, (None, None, 1)))

    factor: Factor = param(1.0, convert=to_factor)
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)


@register
@entry
class AugMix(_ImageLayer):
    """Mixes `num_chains` chains of random augmentations of each image (AugMix)."""

    keras_class = "keras.layers.AugMix"
    positional = ("value_range", "num_chains", "chain_depth", "factor", "alpha", "all_ops")
    examples = (({}, IMAGE), ({"num_chains": 2, "chain_depth": 1, "all_ops": False}, IMAGE))

    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    num_chains: int = param(3, convert=integer, minimum=1)
    chain_depth: int = param(3, convert=integer, minimum=1)
    factor: Factor = param(0.3, convert=to_factor)
    alpha: float = param(1.0, convert=number, minimum=0)
    all_ops: bool = param(True, convert=boolean)
    interpolation: str = param("bilinear", choices=AFFINE_INTERPOLATIONS)
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)


@register
@entry
class RandAugment(_ImageLayer):
    """Applies `num_ops` augmentations, drawn at random, of strength `factor` (RandAugment)."""

    keras_class = "keras.layers.RandAugment"
    positional = ("value_range", "num_ops", "factor", "interpolation", "seed")
    examples = (({}, IMAGE), ({"num_ops": 3, "factor": 0.2, "value_range": (0, 1)}, IMAGE))

    value_range: tuple[float, float] = param((0, 255), convert=number_pair)
    num_ops: int = param(2, convert=integer, minimum=0)
    factor: Factor = param(0.5, convert=to_factor)
    interpolation: str = param("bilinear", choices=AFFINE_INTERPOLATIONS)
    seed: int | None = param(None, convert=optional(integer))
    data_format: str | None = param(None, choices=DATA_FORMATS)

    def validate(self) -> None:
        check_base_factor("factor", self.factor, 0, 1)
