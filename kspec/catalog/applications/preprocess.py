"""`PreprocessInput(MobileNetV2)`: what `keras.applications.<family>.preprocess_input` does.

Keras's function is not a layer, so the step is spelt out in the layers Keras has: every mode
is affine per channel (a `Rescaling` with per-channel scale and offset) except Caffe's, which
also reverses the channels (RGB to BGR, `ops.flip(x, axis=-1)` first). The checker expands the
step into those (kspec/check/model.py), so the summary, the built model and the generated
script all hold Keras's own layers and nothing kspec-specific.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import APPLICATIONS, KSPEC_STEPS, LayerSpec, Shape, ShapeError, param
from kspec.catalog.record import entry
from kspec.catalog.shapes import show

# keras/src/applications/<module>.py -> the `mode` its preprocess_input passes to
# imagenet_utils.preprocess_input; None where the model includes its preprocessing and
# preprocess_input returns its input unchanged.
MODES: dict[str, str | None] = {
    "vgg16": "caffe",
    "vgg19": "caffe",
    "resnet": "caffe",
    "resnet_v2": "tf",
    "inception_v3": "tf",
    "inception_resnet_v2": "tf",
    "xception": "tf",
    "mobilenet": "tf",
    "mobilenet_v2": "tf",
    "mobilenet_v3": None,
    "densenet": "torch",
    "nasnet": "tf",
    "efficientnet": None,
    "efficientnet_v2": None,
    "convnext": None,
}
# keras/src/applications/imagenet_utils.py's constants.
CAFFE_MEAN = (103.939, 116.779, 123.68)  # B, G, R
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)
WHAT = {
    "caffe": "RGB to BGR, then subtracts ImageNet's mean per channel",
    "tf": "scales to [-1, 1]",
    "torch": "scales to [0, 1], then normalizes with ImageNet's mean and std",
    None: "nothing: the model includes its preprocessing",
}


def module_of(application: str) -> str:
    """The keras.applications module of a constructor name or of a module name."""
    cls = APPLICATIONS.get(application)
    return str(cls.module) if cls is not None else application  # type: ignore[attr-defined]


@entry
class PreprocessInput(LayerSpec):
    """keras.applications.<family>.preprocess_input as a step, for an application's name
    (`PreprocessInput(MobileNetV2)`) or its module's (`PreprocessInput(mobilenet_v2)`)."""

    keras_class = "keras.layers.Rescaling"  # what it builds, but for Caffe's flip first
    family = "applications"
    positional = ("application",)
    examples: ClassVar[Any] = (
        ({"application": "MobileNetV2"}, (32, 32, 3)),
        ({"application": "VGG16"}, (None, None, 3)),
        ({"application": "DenseNet121"}, (64, 48, 3)),
        ({"application": "EfficientNetB0"}, (32, 32, 3)),
    )

    # registered after the 40 constructors (kspec/catalog/applications/__init__.py)
    application: str = param(choices=(*APPLICATIONS, *MODES))

    @classmethod
    def layer_name(cls) -> str:
        return "PreprocessInput"

    @property
    def mode(self) -> str | None:
        return MODES[module_of(self.application)]

    @property
    def flips_channels(self) -> bool:
        """Caffe's RGB -> BGR, which no Keras layer does: an ops.flip node before the layer."""
        return self.mode == "caffe"

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        if self.mode is not None and (not isinstance(x, tuple) or not x or x[-1] != 3):
            raise ShapeError(
                f"PreprocessInput({self.application}) takes RGB images, (height, width, 3), "
                f"got {show(x) if isinstance(x, tuple) else 'a list'}",
                help="preprocess_input expects 3 channels in the last axis",
            )
        shape: Shape = x
        return shape

    def layer(self) -> LayerSpec:
        """The Keras layer that does the per-channel part (after the flip for Caffe)."""
        from kspec.catalog.core import Identity
        from kspec.catalog.preprocessing import Rescaling

        if self.mode == "tf":
            return Rescaling.create((), {"scale": 1 / 127.5, "offset": -1.0})
        if self.mode == "torch":
            scale = tuple(1 / (255 * s) for s in TORCH_STD)
            offset = tuple(-m / s for m, s in zip(TORCH_MEAN, TORCH_STD, strict=True))
            return Rescaling.create((), {"scale": scale, "offset": offset})
        if self.mode == "caffe":
            return Rescaling.create((), {"scale": 1.0, "offset": tuple(-m for m in CAFFE_MEAN)})
        return Identity.create((), {})


KSPEC_STEPS["PreprocessInput"] = PreprocessInput
