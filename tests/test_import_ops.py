"""Import of graphs that compute with keras.ops, dict outputs, and every error in one run."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest

import kspec
from tests.test_import import assert_same_model

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")


def operations(model: Any) -> collections.Counter[str]:
    return collections.Counter(type(op).__name__ for op in model.operations)


@pytest.mark.parametrize("name", ["MobileNetV3Small", "ConvNeXtTiny"])
def test_applications_with_operations_round_trip(name: str, tmp_path: Path) -> None:
    original = getattr(keras.applications, name)(input_shape=(32, 32, 3), weights=None, classes=10)
    spec = kspec.from_keras(original)
    assert_same_model(original, spec)
    assert operations(spec.build()) == operations(original)  # the ops nodes too
    path = tmp_path / "model.keras"
    original.save(path)
    from kspec.interop.importer import import_file

    body = import_file(path).split("\n", 1)[1]  # the first line says where it came from
    assert body == spec.text.split("\n", 1)[1]  # a .keras file and model.to_json() agree


def test_operations_are_not_layers_of_the_same_class_name() -> None:
    x = keras.Input((4,), name="x")
    a = keras.layers.Dense(4, name="d")(x)
    layer_add = keras.layers.Add(name="merge")([a, x])
    y = keras.ops.add(layer_add, 3.0) * 2 - keras.ops.sum(a, axis=-1, keepdims=True)
    original = keras.Model(x, {"out": y, "other": a})  # Keras 3's dict outputs
    spec = kspec.from_keras(original)
    assert "-> Add(" in spec.text
    assert " + 3.0" in spec.text and "ops.sum(" in spec.text
    assert_same_model(original, spec, predict=False)
    assert operations(spec.build()) == operations(original)


def test_every_unsupported_item_is_reported_at_once(tmp_path: Path) -> None:
    x = keras.Input((4,), name="x")
    y = keras.layers.Dense(4, name="d")(x)
    z = keras.ops.cumsum(y, axis=-1)  # not in kspec's ops catalog
    w = keras.layers.Lambda(lambda t: t, name="code")(z)
    config = json.loads(keras.Model(x, w).to_json())
    path = tmp_path / "m.json"
    path.write_text(json.dumps(config))
    from kspec.interop.importer import import_file

    with pytest.raises(kspec.KspecError) as err:
        import_file(path)
    messages = [d.message for d in err.value.diagnostics]
    assert len(messages) == 2, messages
    assert "keras.src.ops.numpy.Cumsum" in messages[0] and "'code' is a Lambda" in messages[1]
    assert all(d.help for d in err.value.diagnostics)
