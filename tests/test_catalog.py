"""The catalog's static name lists and naming rules agree with the installed Keras."""

from __future__ import annotations

import pytest

from kspec.catalog import ALIASES, CATALOG, names
from kspec.check.model import to_snake_case

pytestmark = pytest.mark.keras


def test_layer_names_exist_in_keras() -> None:
    import keras

    missing = [n for n in names.KERAS_LAYERS if not hasattr(keras.layers, n)]
    assert missing == []
    assert all(hasattr(keras.layers, n) for n in names.REFUSED_LAYERS)


def _in_keras_layers() -> set[str]:
    """Catalog entries that keras.layers exports (the rest, like ConvNeXt's LayerScale, are
    layers that keras.applications registers for its own graphs)."""
    return {n for n, cls in CATALOG.items() if not cls.keras_class.startswith("keras.src.app")}


def test_catalog_and_aliases_are_keras_layers() -> None:
    assert _in_keras_layers() <= set(names.KERAS_LAYERS)
    assert set(ALIASES) <= set(names.KERAS_LAYERS)
    assert set(ALIASES.values()) <= set(CATALOG)


# keras.layers classes still without an entry: each is accepted and built as written, unchecked,
# and named in the closing note as work left.
PENDING = {
    "MaxNumBoundingBoxes": "pending: bounding-box dicts are not spec values yet",
}


def keras_layer_classes() -> dict[str, type]:
    import inspect

    import keras

    return {
        n: getattr(keras.layers, n)
        for n in dir(keras.layers)
        if not n.startswith("_") and inspect.isclass(getattr(keras.layers, n))
    }


def test_every_keras_layers_class_has_an_entry_or_a_reason() -> None:
    """Each class is a catalog entry, an alias of one, refused, not a step, or pending."""
    from kspec.keras.build import resolve_class

    excluded = {**dict.fromkeys(names.REFUSED_LAYERS, "runs code"), **names.NOT_STEPS, **PENDING}
    classes = keras_layer_classes()
    neither = sorted(
        n for n in classes if n not in CATALOG and n not in ALIASES and n not in excluded
    )
    assert neither == [], "give each a catalog entry, or an exclusion with its reason"
    assert not set(excluded) & set(CATALOG), "an excluded class has an entry: drop the exclusion"
    for name in _in_keras_layers():
        assert resolve_class(CATALOG[name].keras_class) is classes[name], name
    for alias, target in ALIASES.items():
        assert classes[alias] is classes[target], f"{alias} is not {target}"
    stale = sorted(set(excluded) - set(classes))
    assert stale == [], "these are no longer in keras.layers"
    unlisted = sorted(set(classes) - set(names.KERAS_LAYERS) - set(excluded))
    assert unlisted == [], "add them to names.KERAS_LAYERS"


@pytest.mark.parametrize(
    ("names_", "module"),
    [
        (names.OPTIMIZERS, "optimizers"),
        (names.SCHEDULES, "optimizers.schedules"),
        (names.LOSS_CLASSES, "losses"),
        (names.METRIC_CLASSES, "metrics"),
        (names.CALLBACKS, "callbacks"),
        (names.INITIALIZERS, "initializers"),
        (names.REGULARIZERS, "regularizers"),
        (names.CONSTRAINTS, "constraints"),
    ],
)
def test_object_names_resolve(names_: tuple[str, ...], module: str) -> None:
    from operator import attrgetter

    import keras

    mod = attrgetter(module)(keras)
    assert [n for n in names_ if not hasattr(mod, n)] == []


def test_string_names_resolve_through_keras_registries() -> None:
    import keras

    for act in names.ACTIVATIONS:
        keras.activations.get(act)
    for loss in names.LOSS_FUNCTIONS:
        keras.losses.get(loss)
    for get, listed in (
        (keras.initializers.get, names.INITIALIZERS),
        (keras.regularizers.get, names.REGULARIZERS),
        (keras.constraints.get, names.CONSTRAINTS),
    ):
        for name in listed:
            if name[0].islower():  # a string the checker accepts as the whole value
                get(name)
    for metric in names.METRIC_FUNCTIONS:
        if metric not in ("accuracy", "acc"):  # resolved by compile() against the loss
            keras.metrics.get(metric)


def test_keras_object_modules() -> None:
    from kspec.keras.build import resolve_class

    for name, module in names.KERAS_OBJECTS.items():
        assert resolve_class(f"{module}.{name}") is not None


@pytest.mark.parametrize("cls_name", sorted(CATALOG))
def test_auto_names_match_keras(cls_name: str) -> None:
    from keras.src.utils.naming import to_snake_case as keras_snake

    assert to_snake_case(cls_name) == keras_snake(cls_name)
