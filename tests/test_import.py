"""kspec import / kspec.from_keras: Keras models -> specs that build the same model.

The round trip is judged against Keras itself: parameter counts, output shapes, the multiset of
layer classes, the weights loaded layer by layer, and the predictions of the rebuilt model.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import kspec
from kspec.cli import main
from tests.conftest import EXAMPLE_OFFLINE, EXAMPLES

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")


def layer_classes(model: Any) -> collections.Counter[str]:
    return collections.Counter(
        type(x).__name__ for x in model.layers if type(x).__name__ != "InputLayer"
    )


def assert_same_model(original: Any, spec: kspec.Spec, predict: bool = True) -> None:
    """The spec's model is the original: counts, shapes, classes, weights and predictions."""
    assert spec.check() == [] or all(d.severity == "warning" for d in spec.check())
    assert spec.summary()["total_params"] == original.count_params()
    rebuilt = spec.build()
    assert [tuple(o.shape) for o in rebuilt.outputs] == [tuple(o.shape) for o in original.outputs]
    assert layer_classes(rebuilt) == layer_classes(original)
    weighted = [x for x in original.layers if x.weights], [x for x in rebuilt.layers if x.weights]
    assert len(weighted[0]) == len(weighted[1])
    for source, target in zip(*weighted, strict=True):
        target.set_weights(source.get_weights())
    if predict:
        rng = np.random.default_rng(0)
        xs = [rng.random((2, *i.shape[1:])).astype(i.dtype) for i in original.inputs]
        if any(i.dtype == "int32" for i in original.inputs):
            xs = [
                x if i.dtype != "int32" else rng.integers(0, 10, x.shape).astype("int32")
                for x, i in zip(xs, original.inputs, strict=True)
            ]
        feed = xs[0] if len(xs) == 1 else xs
        want, got = original.predict(feed, verbose=0), rebuilt.predict(feed, verbose=0)
        for a, b in zip(*(w if isinstance(w, list) else [w] for w in (want, got)), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.kspec")), ids=lambda p: p.stem)
def test_every_example_model_round_trips(path: Path) -> None:
    original = kspec.load(path, EXAMPLE_OFFLINE.get(path.stem)).build()
    assert_same_model(original, kspec.from_keras(original))


APPLICATIONS = ["MobileNetV2", "ResNet50", "DenseNet121"]


@pytest.mark.parametrize("name", APPLICATIONS)
def test_applications_round_trip_through_the_cli(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = getattr(keras.applications, name)(weights=None)
    config = tmp_path / "config.json"
    config.write_text(original.to_json())
    out = tmp_path / "imported.kspec"
    assert main(["import", str(config), "-o", str(out)]) == 0
    assert main(["check", str(out)]) == 0
    capsys.readouterr()
    assert main(["summary", str(out), "--format", "json"]) == 0
    (summary,) = json.loads(capsys.readouterr().out)  # a list: one entry per model
    assert summary["total_params"] == original.count_params()
    assert_same_model(original, kspec.load(out), predict=name == "MobileNetV2")


def test_kspec_import_never_loads_tensorflow(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(kspec.load(EXAMPLES / "unet.kspec").build().to_json())
    probe = (
        "import sys\nfrom kspec.interop.importer import import_file\n"
        f"text = import_file({str(path)!r})\n"
        "print('tensorflow' in sys.modules or 'keras' in sys.modules, 'model unet {' in text)"
    )
    command = [sys.executable, "-c", probe]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["False", "True"]


def test_a_keras_file_is_read_as_a_zip_without_loading_it(tmp_path: Path) -> None:
    original = kspec.load(EXAMPLES / "two_inputs.kspec").build()
    path = tmp_path / "listing.keras"
    original.save(path)
    with zipfile.ZipFile(path) as z:
        assert "config.json" in z.namelist()
    text = kspec.load(EXAMPLES / "two_inputs.kspec")  # the spec the model came from
    imported = kspec.loads(Path(path).read_bytes() and _import(path), "listing.kspec")
    assert imported.summary()["layers"] == text.summary()["layers"]
    assert "output price = " in imported.text and "output category = " in imported.text


def _import(path: Path) -> str:
    from kspec.interop.importer import import_file

    return import_file(path)


def test_readable_output_for_a_chain_and_a_branching_model() -> None:
    text = kspec.from_keras(kspec.load(EXAMPLES / "mnist.kspec").build()).text
    assert "\n    Conv2D(32, 3, activation=relu)\n    MaxPooling2D()\n" in text  # one step per line
    assert "name=" not in text  # automatic names are left out
    text = kspec.from_keras(kspec.load(EXAMPLES / "unet.kspec").build()).text
    assert "= [" in text and "-> Concatenate()" in text  # named tensors where the graph branches
    assert "data_format" not in text and "strides=2, data_format" not in text


def test_shared_layers_states_attention_and_nested_models() -> None:
    seq, meta = keras.Input((10, 8), name="seq"), keras.Input((6,), name="meta")
    shared = keras.layers.Dense(8, name="shared_proj")
    x = shared(seq)
    y = shared(keras.layers.Reshape((1, 8))(keras.layers.Dense(8)(meta)))
    out, h, c = keras.layers.LSTM(16, return_sequences=True, return_state=True)(x)
    z = keras.layers.LSTM(16)(y, initial_state=[h, c])
    att = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(out, out)
    head = keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(
                4, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4)
            ),
            keras.layers.Dense(2),
        ],
        name="head",
    )
    p, q = head(z), head(keras.layers.GlobalAveragePooling1D()(att))
    probs = keras.layers.Dense(
        3,
        activation="softmax",
        name="probs",
        kernel_initializer=keras.initializers.HeNormal(seed=3),
    )(keras.layers.Concatenate()([p, q]))
    original = keras.Model([seq, meta], [probs, p], name="tricky")
    spec = kspec.from_keras(original)
    assert "layer shared_proj = Dense(8)" in spec.text
    assert "initial_state=[" in spec.text and "model head {" in spec.text
    assert "kernel_regularizer=L2(l2=0.0001)" in spec.text  # float32 noise tidied
    assert "kernel_initializer=HeNormal(seed=3)" in spec.text
    assert_same_model(original, spec)


def test_sequential_without_an_input_layer_uses_its_build_shape() -> None:
    original = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(1)], name="small")
    original.build((None, 5))
    assert_same_model(original, kspec.from_keras(original))


def test_code_is_refused_naming_the_layer() -> None:
    x = keras.Input((4,))
    original = keras.Model(
        x, keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t, name="twice")(x))
    )
    with pytest.raises(kspec.KspecError) as err:
        kspec.from_keras(original)
    (d,) = err.value.diagnostics
    assert d.code == "import-error" and "'twice' is a Lambda" in d.message and d.help

    @keras.saving.register_keras_serializable(package="mine")
    class Scale(keras.layers.Layer):  # type: ignore[misc]
        def call(self, t: Any) -> Any:
            return t * 3

    with pytest.raises(kspec.KspecError, match="'scale' has the custom class 'mine>Scale'"):
        kspec.from_keras(keras.Sequential([keras.Input((4,)), Scale(name="scale")]))


def test_what_a_spec_cannot_say_is_an_error_or_a_note(tmp_path: Path) -> None:
    frozen = keras.layers.Dense(2, name="frozen")
    frozen.trainable = False
    text = kspec.from_keras(keras.Sequential([keras.Input((4,)), frozen])).text
    assert 'Dense(2, name="frozen", trainable=false)' in text  # on the step, not a note
    compiled = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    compiled.compile(optimizer="adam", loss="mse")
    assert "# note: the model was compiled" in kspec.from_keras(compiled).text
    config = json.loads(
        keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")]).to_json()
    )
    config["config"]["layers"][1]["config"]["lora_rank"] = 4
    path = tmp_path / "lora.json"
    path.write_text(json.dumps(config))
    with pytest.raises(kspec.KspecError, match="layer 'd' \\(Dense\\) has lora_rank=4"):
        _import(path)


def test_unreadable_files_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.h5").write_bytes(b"\x89HDF")
    assert main(["import", str(tmp_path / "m.h5")]) == 1
    assert "legacy HDF5" in capsys.readouterr().err
    (tmp_path / "x.json").write_text("{not json")
    assert main(["import", str(tmp_path / "x.json")]) == 1
    assert "is not JSON" in capsys.readouterr().err


def test_importing_runs_nothing_from_the_file(tmp_path: Path) -> None:
    """A config naming a module that would run code on import is refused, not imported."""
    config = json.loads(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).to_json())
    config["config"]["layers"][1]["module"] = "evil_module_for_kspec_test"
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(config))
    with pytest.raises(kspec.KspecError, match="custom class"):
        _import(path)
    assert "evil_module_for_kspec_test" not in sys.modules


def test_keras_object_defaults_match_keras() -> None:
    from kspec.interop.keras_config import OBJECT_DEFAULTS

    for name, (defaults, aliases) in OBJECT_DEFAULTS.items():
        cls = next(
            getattr(m, name)
            for m in (keras.initializers, keras.regularizers, keras.constraints)
            if hasattr(m, name)
        )
        config = {k: v for k, v in cls().get_config().items() if v is not None}
        assert config.keys() == defaults.keys(), name
        for key, value in config.items():
            expected = defaults[key]
            if isinstance(expected, float | int):
                expected = pytest.approx(expected, rel=1e-6)
            assert value == expected, (name, key)
        for alias in aliases:
            module = next(
                m
                for m in (keras.initializers, keras.regularizers, keras.constraints)
                if hasattr(m, name)
            )
            assert type(module.get(alias)).__name__ == name, alias


def unnamed(config: Any) -> Any:
    """A config without layer names (Keras numbers the names of wrapped layers per session)."""
    if isinstance(config, dict):
        return {k: unnamed(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list | tuple):
        return [unnamed(v) for v in config]
    return config


def test_every_catalog_example_imports_to_the_same_keras_config() -> None:
    from kspec.catalog import CATALOG
    from kspec.interop.keras_config import Notes, layer_spec
    from kspec.keras.build import make_layer

    checked = 0
    for cls in CATALOG.values():
        for params, _ in cls.examples:
            layer = make_layer(cls.create((), params), name="x")
            entry = json.loads(json.dumps(keras.saving.serialize_keras_object(layer)))
            again = make_layer(layer_spec(entry, Notes()), name="x")
            assert unnamed(again.get_config()) == unnamed(layer.get_config()), (
                cls.layer_name(),
                params,
            )
            checked += 1
    assert checked > 200
