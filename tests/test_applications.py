"""keras.applications as steps: static shapes, parameters and layer lists equal Keras's.

Every application is traced statically in three configurations (Keras's default, headless at
a non-default non-square size, headless with pooling). A bounded sample is built in Keras on
every run; all 40 x 3 are built with KSPEC_ALL_APPLICATIONS=1 (slow: minutes on 2 cores).
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

import pytest
from conftest import python_exe

from kspec.catalog import APPLICATIONS, Params, ShapeError
from kspec.catalog.applications.trace import trace

CONFIGS: dict[str, tuple[dict[str, Any], tuple[int | None, ...] | None]] = {
    "default": ({}, None),  # None: Keras's default size
    "headless": ({"include_top": False}, (96, 128, 3)),
    "pooled": ({"include_top": False, "pooling": "avg"}, (None, None, 3)),
}
DEFAULT_SIZE = {"InceptionV3": 299, "InceptionResNetV2": 299, "Xception": 299, "NASNetLarge": 331}
DEFAULT_SIZE |= {
    f"EfficientNetB{i}": s for i, s in enumerate((224, 240, 260, 300, 380, 456, 528, 600))
}
DEFAULT_SIZE |= {"EfficientNetV2B1": 240, "EfficientNetV2B2": 260, "EfficientNetV2B3": 300}
DEFAULT_SIZE |= {"EfficientNetV2S": 384, "EfficientNetV2M": 480, "EfficientNetV2L": 480}
SAMPLE = [  # built in Keras on every run: one per family shape, the cheap ones
    ("MobileNetV2", "headless"),
    ("MobileNetV3Small", "pooled"),
    ("VGG16", "pooled"),
    ("EfficientNetB0", "headless"),
    ("ResNet50V2", "headless"),
    ("ConvNeXtTiny", "pooled"),
]


def static(name: str, config: str) -> tuple[Any, Params, list[tuple[str, Params]], str]:
    kwargs, shape = CONFIGS[config]
    size = DEFAULT_SIZE.get(name, 224)
    spec = APPLICATIONS[name].create((), {"weights": None, **kwargs})
    t = trace(spec, shape or (size, size, 3))
    return t.output, t.params, [(layer.class_name, layer.params) for layer in t.layers], t.name


def keras_built(name: str, config: str) -> tuple[Any, Params, list[tuple[str, Params]], str]:
    import keras
    import numpy as np

    kwargs, shape = CONFIGS[config]
    size = DEFAULT_SIZE.get(name, 224)
    keras.backend.clear_session()
    model = getattr(keras.applications, name)(
        input_shape=shape or (size, size, 3), weights=None, **kwargs
    )

    def count(layer: Any) -> Params:
        def n(ws: Any) -> int:
            return int(sum(np.prod(w.shape) for w in ws))

        return Params(n(layer.trainable_weights), n(layer.non_trainable_weights))

    layers = [(type(layer).__name__, count(layer)) for layer in model.layers]
    return tuple(model.output.shape[1:]), count(model), layers, model.name


def test_all_forty_are_steps() -> None:
    assert len(APPLICATIONS) == 40


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_every_application_traces_statically(name: str, config: str) -> None:
    output, params, layers, model_name = static(name, config)
    kwargs, _ = CONFIGS[config]
    assert params.total > 0 and layers and model_name
    assert len(output) == (1 if kwargs.get("pooling") or not kwargs else 3)
    assert sum((p for _, p in layers), Params()) == params


@pytest.mark.keras
@pytest.mark.parametrize(("name", "config"), SAMPLE)
def test_sample_equals_keras(name: str, config: str) -> None:
    assert static(name, config) == keras_built(name, config)


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("KSPEC_ALL_APPLICATIONS"), reason="set KSPEC_ALL_APPLICATIONS=1"
)
@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_every_application_equals_keras(name: str, config: str) -> None:
    assert static(name, config) == keras_built(name, config)


@pytest.mark.parametrize(
    ("name", "kwargs", "shape", "message"),
    [
        ("VGG16", {"include_top": False}, (16, 16, 3), "Input size must be at least 32x32"),
        ("InceptionV3", {"include_top": False}, (64, 64, 3), "at least 75x75"),
        ("VGG16", {}, (160, 160, 3), "`input_shape` should be (224, 224, 3)"),
        ("ResNet50", {"classes": 10}, (224, 224, 3), "`classes` should be 1000"),
        ("MobileNet", {"alpha": 0.3, "include_top": False}, (128, 128, 3), "alpha"),
        ("VGG16", {"classifier_activation": "relu"}, (224, 224, 3), "`classifier_activation`"),
        ("VGG16", {"include_top": False}, (64, 64, 4), "The input must have 3 channels"),
    ],
)
def test_keras_argument_rules_statically(
    name: str, kwargs: dict[str, Any], shape: Any, message: str
) -> None:
    spec = APPLICATIONS[name].create((), kwargs)
    with pytest.raises(ShapeError) as info:
        trace(spec, shape)
    assert message in info.value.message and info.value.message.startswith(f"{name}: ")


def test_keras_names_and_weight_files() -> None:
    spec = APPLICATIONS["MobileNetV2"].create((), {"include_top": False, "alpha": 0.35})
    t = trace(spec, (96, 96, 3))
    assert t.name == "mobilenetv2_0.35_96"
    assert [f for f, _ in t.weight_files] == [
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    ]
    assert (
        trace(APPLICATIONS["VGG16"].create((), {"weights": None}), (224, 224, 3)).weight_files == ()
    )


def test_convnext_xlarge_checks_fast_without_tensorflow(tmp_path: Any) -> None:
    spec = tmp_path / "big.kspec"
    spec.write_text(
        "model big {\n    input image: (224, 224, 3)\n"
        "    ConvNeXtXLarge(include_top=false, weights=imagenet, pooling=avg)\n"
        "    Dense(5)\n}\n"
    )
    code = (
        "import sys, time; t = time.perf_counter()\n"
        "from kspec.cli import main\n"
        f"rc = main(['summary', {str(spec)!r}])\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
        "print('seconds', time.perf_counter() - t)\n"
        "sys.exit(rc)\n"
    )
    start = time.perf_counter()
    out = subprocess.run([python_exe(), "-c", code], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    assert out.returncode == 0, out.stderr
    expected = trace(
        APPLICATIONS["ConvNeXtXLarge"].create((), {"include_top": False, "pooling": "avg"}),
        (224, 224, 3),
    ).params.total + (2048 * 5 + 5)
    assert "convnext_xlarge (Functional)" in out.stdout
    assert f"Total params: {expected:,}" in out.stdout
    assert wall < 10, wall  # a loaded 2-core machine; bench/ has the quiet figure


# -- weights ------------------------------------------------------------------------------
SMALL = "MobileNetV2(include_top=false, alpha=0.35, weights={weights})"


def small_spec(weights: str) -> str:
    return (
        "model m {\n    input image: (32, 32, 3)\n"
        f"    layer base = {SMALL.format(weights=weights)}\n"
        "    base\n    GlobalAveragePooling2D()\n    Dense(3)\n}\n"
    )


def write_weights(path: Any) -> list[Any]:
    """A weights file for the small base, made in Keras (no download): its arrays."""
    import keras

    base = keras.applications.MobileNetV2(
        include_top=False, alpha=0.35, weights=None, input_shape=(32, 32, 3)
    )
    base.save_weights(str(path))
    return [w.numpy() for w in base.weights]


@pytest.mark.keras
def test_a_weights_file_relative_to_the_spec_is_loaded(tmp_path: Any) -> None:
    import numpy as np

    import kspec

    (tmp_path / "w").mkdir()
    saved = write_weights(tmp_path / "w" / "base.weights.h5")
    spec = tmp_path / "m.kspec"
    spec.write_text(small_spec('"w/base.weights.h5"'))
    model = kspec.load(str(spec)).build()
    loaded = [w.numpy() for w in model.get_layer("base").weights]
    assert len(loaded) == len(saved) and all(
        np.array_equal(a, b) for a, b in zip(loaded, saved, strict=True)
    )


def test_offline_imagenet_weights_fail_before_tensorflow_loads(tmp_path: Any) -> None:
    """No cached file, no network: the error names the file and the folder, TensorFlow unused."""
    from conftest import EXAMPLES

    spec = EXAMPLES / "transfer.kspec"
    script = (
        "import sys\nfrom kspec.cli import main\n"
        f"code = main(['run', {str(spec)!r}, '-q', '--set', 'data.source=synthetic'])\n"
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'\nsys.exit(code)\n"
    )
    env = {**os.environ, "KERAS_HOME": str(tmp_path), "KSPEC_OFFLINE": "1"}
    done = subprocess.run([python_exe(), "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    lines = spec.read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if "MobileNetV2(" in t)
    text = lines[line - 1]
    column = len(text) - len(text.lstrip()) + 1
    file = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
    url = f"https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/{file}"
    expected = (
        f"{spec}:{line}:{column}: error: MobileNetV2's ImageNet weights {file} are not in "
        "Keras's cache and cannot be downloaded (KSPEC_OFFLINE is set)\n"
        f"{line:>5} | {text}\n"
        f"      | {' ' * (column - 1)}{'^' * (len(text) - column + 1)}\n"
        f"      = help: put {file} (from {url}) in {tmp_path / 'models'}/, Keras's cache "
        "($KERAS_HOME/models/, else ~/.keras/models/); or load a local file: "
        'weights = "path/to/file.weights.h5"\n'
    )
    assert (done.returncode, done.stderr) == (1, expected)
    assert not list(tmp_path.glob("runs")), "no run folder for a run that never started"


def test_the_transfer_example_checks_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import EXAMPLES

    from kspec.cli import main

    monkeypatch.setenv("KSPEC_OFFLINE", "1")
    assert main(["check", str(EXAMPLES / "transfer.kspec")]) == 0


@pytest.mark.keras
@pytest.mark.slow
def test_the_transfer_example_trains_from_a_local_weights_file(tmp_path: Any) -> None:
    """The recipe runs end to end: the base starts from a file the test wrote, synthetic data."""
    import json

    import keras
    import numpy as np
    from conftest import EXAMPLES

    from kspec.cli import main

    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(160, 160, 3)
    )
    base.save_weights(str(tmp_path / "base.weights.h5"))
    code = main(
        [
            "run", str(EXAMPLES / "transfer.kspec"), "-q", "--output", str(tmp_path / "runs"),
            "--set", f"weights={json.dumps(str(tmp_path / 'base.weights.h5'))}",
            "--set", "data.source=synthetic(samples=16)", "--set", "train.batch_size=8",
            "--set", "train.epochs=1", "--set", "train.finetune.epochs=1",
        ]
    )  # fmt: skip
    assert code == 0
    run = tmp_path / "runs"  # --output names the run folder itself
    history = json.loads((run / "history.json").read_text())
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()  # 1 + 1 epochs
    trained = keras.saving.load_model(run / "model.keras").get_layer("base")
    assert len(trained.weights) == len(base.weights)
    # base.layers[:100] stayed frozen through both phases: they keep the file's weights (the
    # layers pair by position: the InputLayer's automatic name depends on the session)
    pairs = list(zip(trained.layers, base.layers, strict=True))
    for mine, theirs in pairs[:100]:
        for a, b in zip(mine.weights, theirs.weights, strict=True):
            assert np.array_equal(a.numpy(), b.numpy()), theirs.name
    moved = [
        theirs.name
        for mine, theirs in pairs[100:]
        if theirs.trainable_weights
        and not np.array_equal(
            mine.trainable_weights[0].numpy(), theirs.trainable_weights[0].numpy()
        )
    ]
    assert moved  # the fine-tuned top of the base trained
