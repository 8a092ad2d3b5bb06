"""The layer catalog: one declaration per Keras layer, read by the checker, backends and docs."""

# Each family module registers its entries on import.
from kspec.catalog import (  # noqa: F401
    activations,
    applications,
    attention,
    conv,
    conv_transpose,
    core,
    embedding,
    merging,
    normalization,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
    wrappers,
)
from kspec.catalog.base import (
    ALIASES,
    APPLICATIONS,
    CATALOG,
    GenericLayer,
    KerasObject,
    LayerSpec,
    ParamError,
    Params,
    Shape,
    ShapeError,
    keras_class_of,
    lookup,
)

__all__ = [
    "ALIASES",
    "APPLICATIONS",
    "CATALOG",
    "GenericLayer",
    "KerasObject",
    "LayerSpec",
    "ParamError",
    "Params",
    "Shape",
    "ShapeError",
    "keras_class_of",
    "lookup",
]
