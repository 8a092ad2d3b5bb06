"""Differential tests: every catalog example built in real Keras; shapes and counts must agree."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from kspec.catalog import CATALOG, LayerSpec, Params
from kspec.catalog.base import REQUIRED

pytestmark = pytest.mark.keras


def catalog_examples() -> list[Any]:
    cases = []
    for name, cls in sorted(CATALOG.items()):
        for i, (kwargs, shape) in enumerate(cls.examples):
            cases.append(pytest.param(cls, kwargs, shape, id=f"{name}-{i}"))
    return cases


def keras_inputs(keras: Any, shape: Any, dtype: str = "float32") -> Any:
    if isinstance(shape, list):
        return [keras.Input(s, dtype=dtype) for s in shape]
    return keras.Input(shape, dtype=dtype)


def static_shape(t: Any) -> Any:
    if isinstance(t, list | tuple):
        return [tuple(x.shape[1:]) for x in t]
    return tuple(t.shape[1:])


def weight_counts(layer: Any) -> Params:
    import numpy as np

    def count(ws: list[Any]) -> int:
        return int(sum(np.prod(w.shape) for w in ws))

    return Params(count(layer.trainable_weights), count(layer.non_trainable_weights))


@pytest.mark.parametrize(("cls", "kwargs", "shape"), catalog_examples())
def test_catalog_matches_keras(cls: type[LayerSpec], kwargs: dict[str, Any], shape: Any) -> None:
    import keras

    from kspec.keras import build as keras_build

    spec = cls.create((), kwargs)
    expected_shape = spec.compute_output_shape(shape)
    dtype = spec.input_dtypes()[0]
    layer = keras_build.make_layer(spec)
    if spec.is_step:
        out = keras_build.call_layer(layer, spec, keras_inputs(keras, shape, dtype))
        got = static_shape(out)
    else:  # a cell maps one step to one step: run it in RNN over 3 steps, read the last
        out = keras.layers.RNN(layer)(keras.Input((3, *shape)))
        got = static_shape(out)
    assert got == expected_shape, f"Keras {got} != static {expected_shape}"
    assert weight_counts(layer) == spec.count_params(shape)
    if isinstance(out, list | tuple):
        return
    want = spec.output_dtype(dtype)
    if want == "string":  # Keras's symbolic dtype is int64 here; what comes out is strings
        import numpy as np

        concrete = [d or 1 for d in shape] if isinstance(shape, tuple) else shape
        out = layer(np.zeros((1, *concrete), dtype))
    assert out.dtype == want, f"Keras {out.dtype} for {dtype} input"


def test_there_are_enough_cases() -> None:
    assert len(catalog_examples()) >= 150


@pytest.mark.parametrize("cls", sorted(CATALOG.values(), key=lambda c: c.layer_name()), ids=str)
def test_catalog_signature_is_keras(cls: type[LayerSpec]) -> None:
    """Names, order and defaults are Keras's, so what Keras accepts positionally a spec accepts."""
    from kspec.keras.build import resolve_class

    assert cls.examples, f"{cls.layer_name()} has no examples"
    sig = inspect.signature(resolve_class(cls.keras_class).__init__)
    keras_params = [p for p in sig.parameters.values() if p.name != "self"]
    order = [p.name for p in keras_params]
    assert list(cls.positional) == order[: len(cls.positional)]
    for name, p in cls.params().items():
        assert name in sig.parameters, f"{name} is not a Keras argument of {cls.layer_name()}"
        kp = sig.parameters[name]
        if p.required:
            assert kp.default is inspect.Parameter.empty, name
        else:
            assert kp.default is not inspect.Parameter.empty, name
            assert p.default == kp.default, f"{name}: {p.default!r} != Keras {kp.default!r}"
    assert REQUIRED not in [p.default for p in cls.params().values() if not p.required]
    # Keras writes call()'s `training` default into a model's config; the importer reads it back
    call = inspect.signature(resolve_class(cls.keras_class).call).parameters.get("training")
    assert cls.training_default == (None if call is None else call.default)
