"""PreprocessInput: the step per application family is Keras's preprocess_input, statically
(shape kept, no parameters), built (differential against keras.applications.<family>.
preprocess_input) and generated (the script's model computes the same)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import kspec
from kspec.catalog import KSPEC_STEPS, lookup
from kspec.catalog.applications import FAMILIES
from kspec.catalog.applications.preprocess import MODES, PreprocessInput
from kspec.diagnostics import KspecError

# One constructor per keras.applications module, and the module name itself.
FIRST = {module: name for name, (module, _, _) in reversed(FAMILIES.items())}
CASES = [*FIRST.values(), *MODES]


def spec_text(application: str, shape: str = "(12, 10, 3)") -> str:
    return (
        f"model m {{\n    input image: {shape}\n"
        f"    layer pre = PreprocessInput({application})\n    pre\n}}\n"
    )


def test_every_family_has_a_mode() -> None:
    assert set(MODES) == {module for module, _, _ in FAMILIES.values()}
    assert lookup("PreprocessInput") is PreprocessInput is KSPEC_STEPS["PreprocessInput"]


@pytest.mark.parametrize("application", CASES)
def test_static_shape_is_kept_without_parameters(application: str) -> None:
    graph = kspec.loads(spec_text(application, "(none, 7, 3)")).graph()
    assert graph.outputs[0].shape == (None, 7, 3)
    assert sum(layer.weights.total for layer in graph.layers if layer.weights) == 0
    # the step takes the name written; Caffe's channel flip comes before it
    classes = [lay.class_name for lay in graph.keras_layers() if not lay.is_input]
    mode = PreprocessInput.create((application,)).mode
    expected = {"caffe": ["Flip", "Rescaling"], None: ["Identity"]}.get(mode, ["Rescaling"])
    assert classes == expected
    assert graph.keras_layers()[-1].name == "pre"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (spec_text("VGG61"), "unknown application 'VGG61'"),
        (spec_text("VGG16", "(8, 8, 1)"), "PreprocessInput(VGG16) takes RGB images"),
        (spec_text("densenet", "(8,)"), "PreprocessInput(densenet) takes RGB images"),
    ],
)
def test_mistakes_are_diagnostics(text: str, message: str) -> None:
    with pytest.raises(KspecError) as err:
        kspec.loads(text).graph()
    assert message in str(err.value)


def test_identity_families_take_any_channels() -> None:
    graph = kspec.loads(spec_text("ConvNeXtTiny", "(8, 8, 5)")).graph()
    assert graph.outputs[0].shape == (8, 8, 5)


def _images() -> Any:
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, size=(4, 12, 10, 3)).astype("float32")


@pytest.mark.keras
@pytest.mark.parametrize("module", sorted(MODES))
def test_built_and_generated_equal_keras_preprocess_input(module: str) -> None:
    """For every family: run's model and the generated script's model both compute exactly
    what keras.applications.<module>.preprocess_input computes."""
    import importlib

    text = f"model m {{\n    input image: (12, 10, 3)\n    PreprocessInput({FIRST[module]})\n}}\n"
    spec = kspec.loads(text)
    images = _images()
    family = importlib.import_module(f"keras.applications.{module}")
    expected = np.asarray(family.preprocess_input(images.copy()))
    built = np.asarray(spec.build()(images))
    np.testing.assert_allclose(built, expected, rtol=1e-6, atol=1e-5)
    script = spec.codegen(only="model")
    assert ("keras.ops.flip(image, axis=-1)\n" in script) == (MODES[module] == "caffe")
    namespace: dict[str, Any] = {}
    exec(compile(script, "generated.py", "exec"), namespace)
    generated = np.asarray(namespace["build_model"]()(images))
    np.testing.assert_array_equal(generated, built)


@pytest.mark.keras
@pytest.mark.parametrize("application", ["VGG16", "DenseNet121"])
def test_shared_and_looped_steps_generate_the_same_model(application: str) -> None:
    """A shared PreprocessInput and one in a loop go through the flat code path."""
    text = (
        "model m {\n    input image: (12, 10, 3)\n"
        f"    layer pre = PreprocessInput({application})\n"
        f"    pre\n    for i in range(2) {{\n        PreprocessInput({application})\n    }}\n}}\n"
    )
    spec = kspec.loads(text)
    images = _images()
    built = np.asarray(spec.build()(images))
    namespace: dict[str, Any] = {}
    exec(compile(spec.codegen(only="model"), "generated.py", "exec"), namespace)
    np.testing.assert_array_equal(np.asarray(namespace["build_model"]()(images)), built)
