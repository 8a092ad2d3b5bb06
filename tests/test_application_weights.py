"""`weights = "file.weights.h5"` on an application: a file that fits is loaded; one from another
application, with other input channels or another include_top is an error before training that
names the file and what differs (Keras itself matches by structure, and loads a file with an
extra top without a word)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kspec
from kspec.diagnostics import KspecError

pytestmark = pytest.mark.keras

BASE = 'MobileNetV2(include_top=false, weights="base.weights.h5", alpha=0.35)'


def spec_file(tmp_path: Path, base: str = BASE, channels: int = 3) -> Path:
    path = tmp_path / "m.kspec"
    path.write_text(
        f"model m {{\n    input image: (32, 32, {channels})\n    layer base = {base}\n"
        "    base\n    GlobalAveragePooling2D()\n    Dense(2)\n}\n",
        encoding="utf-8",
    )
    return path


def save_base(tmp_path: Path, make: str = "MobileNetV2", **kwargs: object) -> None:
    import keras

    arguments = {"include_top": False, "weights": None, "input_shape": (32, 32, 3), **kwargs}
    model = getattr(keras.applications, make)(**arguments)
    model.save_weights(str(tmp_path / "base.weights.h5"))


def build_error(path: Path) -> str:
    with pytest.raises(KspecError) as err:
        kspec.load(path).build()
    assert [d.code for d in err.value.diagnostics] == ["weights-mismatch"]
    return str(err.value)


def test_a_fitting_file_is_loaded(tmp_path: Path) -> None:
    import keras

    save_base(tmp_path, alpha=0.35)
    source = keras.applications.MobileNetV2(
        include_top=False, weights=None, alpha=0.35, input_shape=(32, 32, 3)
    )
    source.load_weights(str(tmp_path / "base.weights.h5"))
    base = kspec.load(spec_file(tmp_path)).build().get_layer("base")
    for mine, theirs in zip(base.weights, source.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))


def test_another_alpha_names_the_layers_that_differ(tmp_path: Path) -> None:
    save_base(tmp_path, alpha=0.5)
    text = build_error(spec_file(tmp_path))
    assert "m.kspec:3:5" in text
    assert "the weights file base.weights.h5 does not fit it" in text
    assert (
        "76 layers differ ('block_1_project' kernel is (1, 1, 48, 8), in the file (1, 1, 48, 16);"
        in text
    )
    assert "Conv1' kernel" not in text  # 16 filters at either alpha: the same shape


def test_other_input_channels_are_named(tmp_path: Path) -> None:
    save_base(tmp_path, alpha=0.35)
    text = build_error(spec_file(tmp_path, channels=1))
    assert "1 layer differs ('Conv1' kernel is (3, 3, 1, 16), in the file (3, 3, 3, 16))" in text


def test_a_file_with_a_top_does_not_fit_a_headless_base(tmp_path: Path) -> None:
    save_base(tmp_path, alpha=0.35, include_top=True, classes=3)
    text = build_error(spec_file(tmp_path))
    assert "the file has 1 layer more ('predictions')" in text


def test_another_application_is_named(tmp_path: Path) -> None:
    save_base(tmp_path, "MobileNet", alpha=0.25)
    text = build_error(spec_file(tmp_path))
    assert "base.weights.h5 does not fit it" in text and "not in the file" in text
