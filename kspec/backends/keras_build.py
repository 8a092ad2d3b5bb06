"""Turn catalog entries and checked graphs into Keras objects. The only module that imports Keras."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from kspec.catalog import GenericLayer, KerasObject, LayerSpec, keras_class_of


def resolve_class(dotted: str) -> Any:
    import keras  # here, so that checking a spec never loads TensorFlow

    return attrgetter(dotted.removeprefix("keras."))(keras)


def keras_value(value: Any, module: str = "keras") -> Any:
    """A checked spec value as Keras takes it: nested layers and Keras objects built."""
    if isinstance(value, LayerSpec):
        return make_layer(value)
    if isinstance(value, KerasObject):
        from kspec.catalog.names import KERAS_OBJECTS

        cls = resolve_class(f"{KERAS_OBJECTS.get(value.name, module)}.{value.name}")
        args = [keras_value(a) for a in value.args]
        kwargs = {k: keras_value(v) for k, v in value.kwargs}
        return cls(*args, **kwargs)
    if isinstance(value, list):
        return [keras_value(v, module) for v in value]
    if isinstance(value, tuple):
        return tuple(keras_value(v, module) for v in value)
    if isinstance(value, dict):
        return {k: keras_value(v, module) for k, v in value.items()}
    return value


def make_layer(spec: LayerSpec, name: str | None = None) -> Any:
    cls = resolve_class(keras_class_of(spec))
    args = [keras_value(a) for a in spec.args] if isinstance(spec, GenericLayer) else []
    kwargs = {k: keras_value(v) for k, v in spec.keras_kwargs().items()}
    if name is not None:
        kwargs["name"] = name
    return cls(*args, **kwargs)


def call_layer(layer: Any, spec: LayerSpec, inputs: Any, tensors: dict[str, Any] | None = None) -> Any:
    """Apply `layer` the way its catalog entry says it is called (one tensor, a list, unpacked)."""
    tensors = tensors or {}
    if spec.call_inputs and isinstance(inputs, list):
        return layer(*inputs, **tensors)
    return layer(inputs, **tensors)
