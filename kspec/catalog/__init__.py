"""The layer catalog: one declaration per Keras layer, read by the checker, backends and docs."""

# Each family module registers its entries on import.
from kspec.catalog import (  # noqa: F401
    activations,
    attention,
    conv,
    conv_transpose,
    convnext,
    core,
    embedding,
    merging,
    normalization,
    ops,
    ops_shape,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
    wrappers,
)
from kspec.catalog.base import (
    ALIASES,
    CATALOG,
    GenericLayer,
    KerasObject,
    LayerSpec,
    ParamError,
    Params,
    Shape,
    ShapeError,
    is_keras_layer,
    keras_class_of,
    lookup,
)

__all__ = [
    "ALIASES",
    "CATALOG",
    "GenericLayer",
    "KerasObject",
    "LayerSpec",
    "ParamError",
    "Params",
    "Shape",
    "ShapeError",
    "is_keras_layer",
    "keras_class_of",
    "lookup",
]
