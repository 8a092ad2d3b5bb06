"""One application, traced for one input shape: output shape, parameters, layers, weight file."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from kspec.catalog.base import LayerSpec, Params, Shape, ShapeError


@dataclass(frozen=True)
class TracedLayer:
    """One entry of the application's `model.layers`, in Keras's order."""

    name: str
    class_name: str
    params: Params


@dataclass(frozen=True)
class Traced:
    name: str  # Keras's model name
    output: Shape
    params: Params
    layers: tuple[TracedLayer, ...]
    # (file name, URL) of each file Keras would fetch into its cache (weights=imagenet)
    weight_files: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...]


def trace(spec: LayerSpec, x: Any) -> Traced:
    """`spec` is an application entry (it names its Keras module); x its input shape."""
    return _trace(spec, tuple(x) if isinstance(x, tuple | list) else x)


@lru_cache(maxsize=64)
def _trace(spec: LayerSpec, x: Any) -> Traced:
    from kspec.catalog.applications import keras_source, standin

    name = spec.layer_name()
    if not isinstance(x, tuple) or any(isinstance(d, list) for d in x):
        raise ShapeError(f"{name} takes one image tensor (height, width, channels)")
    try:
        constructor = getattr(keras_source.module(cast(Any, spec).module), name)
    except keras_source.KerasSourceMissing as e:
        raise ShapeError(f"cannot read Keras's {name}: {e}") from None
    kwargs = spec.arguments()
    with warnings.catch_warnings(record=True) as caught, standin.tracing() as t:
        warnings.simplefilter("always")
        try:
            model = constructor(input_shape=x, **kwargs)
        except ValueError as e:  # Keras's own argument and input-size checks, in its words
            raise ShapeError(f"{name}: {_sentence(e)}", help=_help(str(e), x)) from None
        except ShapeError as e:
            raise ShapeError(
                f"{name} cannot be built for input {_show(x)}: {e.message}",
                help="Keras's own build fails the same way; try another input size",
            ) from None
        except standin.StandInError as e:
            raise ShapeError(
                f"{name} with these arguments is not statically checked: {e}",
                help="this is a kspec limitation; please report it",
            ) from None
    layers = tuple(TracedLayer(op.name, op.class_name, op.params) for op in model.layers())
    total = sum((layer.params for layer in layers), Params())
    return Traced(
        model.name,
        model.outputs.dims,
        total,
        layers,
        tuple(t.weight_files),
        tuple(str(w.message) for w in caught),
    )


def _sentence(e: ValueError) -> str:
    return " ".join(str(a) for a in e.args) if len(e.args) > 1 else str(e)


def _help(message: str, x: Any) -> str | None:
    if "at least" in message and isinstance(x, tuple) and len(x) == 3:
        size = message.split("at least ", 1)[1].split(";")[0].split("x")[0].strip()
        return f"resize the images first, e.g. Resizing({size}, {size}) before this step"
    if "should be (" in message or "`input_shape` should be" in message:
        return (
            "with include_top=true and weights=imagenet the input must be Keras's fixed size; "
            "use include_top=false for other sizes"
        )
    if "classes" in message:
        return "use include_top=false and add your own classifier, or weights=none"
    if "alpha" in message:
        return "use one of the alpha values Keras has weights for, or weights=none"
    if "activation" in message:
        return "use classifier_activation=softmax or none with pretrained weights"
    return None


def _show(x: Any) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in x) + ")"
