"""kspec import of a model holding a keras.applications model: the nested model is written as
the application's step (`MobileNetV2(include_top=false, weights=none, alpha=0.35)`), with its
trainable flag and training= call kept, when its layer list is exactly what that constructor
builds; anything else stays a nested model."""

from __future__ import annotations

import json
from typing import Any

import pytest

import kspec
from kspec.catalog.applications import Application
from kspec.interop.importer import config_to_text
from tests.test_import import assert_same_model

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")


def holding(base: Any, frozen: bool = False) -> Any:
    """The transfer recipe around `base`: the base frozen and in inference mode, a new head."""
    if frozen:
        base.trainable = False
    image = keras.Input((32, 32, 3))
    x = base(image, training=False) if frozen else base(image)
    if len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(image, keras.layers.Dense(2)(x))


def application_step(spec: kspec.Spec) -> Any:
    (layer,) = [lay for lay in spec.graph().layers if isinstance(lay.spec, Application)]
    return layer


CASES = [
    ("MobileNetV2", {"include_top": False, "alpha": 0.35}, True),
    ("MobileNet", {"include_top": False, "alpha": 0.25, "pooling": "max"}, False),
    ("MobileNetV3Small", {"include_top": True, "classes": 3, "minimalistic": True}, True),
    pytest.param(
        "DenseNet121",
        {"include_top": True, "classes": 3, "classifier_activation": None},
        True,
        marks=pytest.mark.slow,  # 20 s on 2 cores
    ),
]


@pytest.mark.parametrize(
    ("name", "arguments", "frozen"), CASES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_nested_application_is_written_as_its_step(
    name: str, arguments: dict[str, Any], frozen: bool
) -> None:
    base = getattr(keras.applications, name)(weights=None, input_shape=(32, 32, 3), **arguments)
    original = holding(base, frozen)
    spec = kspec.from_keras(original)
    assert f"{name}(" in spec.text and "model " + base.name not in spec.text
    layer = application_step(spec)
    assert type(layer.spec).__name__ == name
    assert {k: getattr(layer.spec, k) for k in arguments} == arguments
    assert layer.spec.weights is None
    assert layer.trainable is not frozen
    assert layer.calls[0].options == ({"training": False} if frozen else {})
    summary = spec.summary()
    assert summary["trainable_params"] == sum(
        int(w.numpy().size) for w in original.trainable_weights
    )
    assert_same_model(original, spec)


def test_a_kspec_built_base_round_trips_to_the_same_step() -> None:
    text = (
        "model m {\n    input image: (32, 32, 3)\n    PreprocessInput(MobileNetV2)\n"
        "    layer base = MobileNetV2(include_top=false, weights=none, alpha=0.35, "
        "trainable=false)\n    base(training=false)\n    GlobalAveragePooling2D()\n"
        "    Dense(2)\n}\n"
    )
    original = kspec.loads(text).build()
    spec = kspec.from_keras(original)
    assert "MobileNetV2(" in spec.text and 'name="base"' in spec.text
    assert "PreprocessInput(MobileNetV2)" in spec.text and "Rescaling" not in spec.text
    assert application_step(spec).name == "base"
    assert_same_model(original, spec)


def test_caffe_preprocessing_round_trips_through_its_flip() -> None:
    text = (
        "model m {\n    input image: (32, 32, 3)\n    PreprocessInput(VGG16)\n"
        "    VGG16(include_top=false, weights=none, pooling=avg)\n    Dense(2)\n}\n"
    )
    original = kspec.loads(text).build()
    spec = kspec.from_keras(original)
    assert "PreprocessInput(VGG16)" in spec.text and "flip" not in spec.text
    assert "VGG16(include_top=false, weights=none, pooling=avg" in spec.text
    assert_same_model(original, spec)


def test_a_rescaling_before_another_family_stays_a_rescaling() -> None:
    text = (
        "model m {\n    input image: (32, 32, 3)\n    PreprocessInput(DenseNet121)\n"
        "    MobileNetV2(include_top=false, weights=none, alpha=0.35, pooling=avg)\n}\n"
    )
    imported = kspec.from_keras(kspec.loads(text).build()).text
    assert "PreprocessInput" not in imported and "Rescaling(" in imported


def test_a_partly_frozen_application_stays_a_nested_model() -> None:
    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, alpha=0.35, input_shape=(32, 32, 3)
    )
    for layer in base.layers[:50]:
        layer.trainable = False
    text = kspec.from_keras(holding(base)).text
    assert "MobileNetV2(" not in text and f"model {base.name.replace('.', '_')}" in text


def test_a_changed_application_stays_a_nested_model() -> None:
    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, alpha=0.35, input_shape=(32, 32, 3)
    )
    config = json.loads(holding(base).to_json())
    nested = next(e for e in config["config"]["layers"] if e["class_name"] == "Functional")
    conv = next(e for e in nested["config"]["layers"] if e["config"]["name"] == "Conv1")
    conv["config"]["kernel_size"] = [5, 5]  # same names and classes, other parameters
    imported = config_to_text(config, "a model")
    assert "MobileNetV2(" not in imported and "Conv2D(16, 5" in imported


@pytest.mark.parametrize(
    "step",
    [
        "encoder(training=false)",  # a call option: a Functional model, which has output_layers
        "MobileNetV2(include_top=false, weights=none, alpha=0.35, pooling=avg, training=false)",
    ],
)
def test_a_nested_model_as_the_output_imports(step: str) -> None:
    """Keras counts a nested model's own first node in output_layers (`base[1][0]`)."""
    text = (
        "model encoder {\n    input x: (32, 32, 3)\n    GlobalAveragePooling2D()\n}\n\n"
        f"model m {{\n    input image: (32, 32, 3)\n    {step}\n}}\n\n"
        "train {\n    model = m\n}\n"
    )
    original = kspec.loads(text).build()
    node = json.loads(original.to_json())["config"]["output_layers"][1]
    assert node == (0 if step.startswith("encoder") else 1)
    assert_same_model(original, kspec.from_keras(original))
