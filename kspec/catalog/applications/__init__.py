"""keras.applications constructors as steps: `MobileNetV2(include_top=false, weights=imagenet)`.

Each of the 40 constructors is one catalog entry whose arguments are Keras's own (names,
order, defaults; `input_shape` comes from the incoming tensor, `input_tensor` is never
written). Shapes, parameter counts, the layer list and Keras's argument and input-size
errors come from tracing Keras's own application source against the shape-only stand-in
(trace.py): nothing here reads Keras until a spec uses an application.
"""

from __future__ import annotations

from typing import Any, ClassVar

from kspec.catalog.base import (
    APPLICATIONS,
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
    to_activation,
)
from kspec.catalog.record import entry, make_entry


def to_weights(value: Any) -> str | None:
    """`imagenet`, `none` (random), or a path to a weights file (relative to the spec file)."""
    if value is None or isinstance(value, str):
        return value
    raise ParamError(
        f"expected imagenet, none or a weights file path, got {describe(value)}",
        help='weights = imagenet, weights = none, or weights = "path/to/file.weights.h5"',
        code="wrong-kind",
    )


@entry
class Application(LayerSpec):
    """Base of the keras.applications entries; `module` is keras/src/applications/<module>.py."""

    family: ClassVar[str] = "applications"
    module: ClassVar[str]
    built_class: ClassVar[str | None] = "Functional"  # what Keras's summary calls the object
    takes_input_shape: ClassVar[bool] = True

    def compute_output_shape(self, x: Any, **tensors: Any) -> Shape:
        from kspec.catalog.applications.trace import trace

        return trace(self, x).output

    def count_params(self, x: Any, **tensors: Any) -> Params:
        from kspec.catalog.applications.trace import trace

        return trace(self, x).params

    def auto_name(self, x: Any) -> str | None:
        """Keras's name for the model (MobileNetV2's depends on alpha and the input size)."""
        from kspec.catalog.applications.trace import trace

        try:
            return trace(self, x).name
        except ShapeError:
            return None


_COMMON: list[tuple[str, Any, Any]] = [  # name, default, param(...) rules
    ("include_top", True, {"convert": boolean}),
    ("weights", "imagenet", {"convert": to_weights}),
    ("pooling", None, {"choices": ("avg", "max")}),
    ("classes", 1000, {"convert": integer, "minimum": 1}),
    ("classifier_activation", "softmax", {"convert": to_activation}),
]
_EXTRA: dict[str, tuple[str, Any, Any]] = {
    "alpha": ("alpha", 1.0, {"convert": number, "minimum": 0}),
    "depth_multiplier": ("depth_multiplier", 1, {"convert": integer, "minimum": 1}),
    "dropout": ("dropout", 1e-3, {"convert": number, "minimum": 0, "maximum": 1}),
    "dropout_rate": ("dropout_rate", 0.2, {"convert": number, "minimum": 0, "maximum": 1}),
    "minimalistic": ("minimalistic", False, {"convert": boolean}),
    "include_preprocessing": ("include_preprocessing", True, {"convert": boolean}),
}
# constructor -> (module, argument names in Keras's order, summary line)
FAMILIES: dict[str, tuple[str, tuple[str, ...], str]] = {}


def _family(module: str, names: list[str], args: tuple[str, ...], doc: str) -> None:
    for name in names:
        FAMILIES[name] = (module, args, doc)


_PLAIN = ("include_top", "weights", "pooling", "classes", "classifier_activation")
_family("vgg16", ["VGG16"], _PLAIN, "VGG16 (Simonyan & Zisserman, 2014).")
_family("vgg19", ["VGG19"], _PLAIN, "VGG19 (Simonyan & Zisserman, 2014).")
_family("resnet", ["ResNet50", "ResNet101", "ResNet152"], _PLAIN, "ResNet (He et al., 2015).")
_family(
    "resnet_v2",
    ["ResNet50V2", "ResNet101V2", "ResNet152V2"],
    _PLAIN,
    "ResNet v2, pre-activation (He et al., 2016).",
)
_family("inception_v3", ["InceptionV3"], _PLAIN, "Inception v3 (Szegedy et al., 2015).")
_family(
    "inception_resnet_v2",
    ["InceptionResNetV2"],
    _PLAIN,
    "Inception-ResNet v2 (Szegedy et al., 2016).",
)
_family("xception", ["Xception"], _PLAIN, "Xception (Chollet, 2017).")
_family(
    "mobilenet",
    ["MobileNet"],
    ("alpha", "depth_multiplier", "dropout", *_PLAIN),
    "MobileNet (Howard et al., 2017).",
)
_family("mobilenet_v2", ["MobileNetV2"], ("alpha", *_PLAIN), "MobileNetV2 (Sandler et al., 2018).")
_family(
    "mobilenet_v3",
    ["MobileNetV3Small", "MobileNetV3Large"],
    (
        "alpha",
        "minimalistic",
        "include_top",
        "weights",
        "classes",
        "pooling",
        "dropout_rate",
        "classifier_activation",
        "include_preprocessing",
    ),
    "MobileNetV3 (Howard et al., 2019).",
)
_family(
    "densenet",
    ["DenseNet121", "DenseNet169", "DenseNet201"],
    _PLAIN,
    "DenseNet (Huang et al., 2017).",
)
_family("nasnet", ["NASNetMobile", "NASNetLarge"], _PLAIN, "NASNet (Zoph et al., 2018).")
_family(
    "efficientnet",
    [f"EfficientNetB{i}" for i in range(8)],
    _PLAIN,
    "EfficientNet (Tan & Le, 2019).",
)
_family(
    "efficientnet_v2",
    [f"EfficientNetV2{v}" for v in ("B0", "B1", "B2", "B3", "S", "M", "L")],
    (*_PLAIN, "include_preprocessing"),
    "EfficientNetV2 (Tan & Le, 2021).",
)
_family(
    "convnext",
    [f"ConvNeXt{v}" for v in ("Tiny", "Small", "Base", "Large", "XLarge")],
    (
        "include_top",
        "include_preprocessing",
        "weights",
        "pooling",
        "classes",
        "classifier_activation",
    ),
    "ConvNeXt (Liu et al., 2022).",
)


def _declare(name: str, module: str, args: tuple[str, ...], doc: str) -> type[Application]:
    rules = {n: (d, r) for n, d, r in _COMMON} | {n: (d, r) for n, d, r in _EXTRA.values()}
    fields = [(a, Any, param(rules[a][0], **rules[a][1])) for a in args]
    namespace = {
        "__doc__": f"keras.applications.{name}: {doc}",
        "keras_class": f"keras.applications.{name}",
        "module": module,
        "__module__": __name__,
    }
    cls = make_entry(name, fields, Application, namespace)
    APPLICATIONS[name] = cls
    return cls


for _name, (_module, _args, _doc) in FAMILIES.items():
    globals()[_name] = _declare(_name, _module, _args, _doc)


from kspec.catalog.applications import preprocess  # noqa: E402, F401  (registers PreprocessInput)
