"""A nested model that is a keras.applications model, recognised so that `kspec import` writes
`MobileNetV2(include_top=false, weights=none, alpha=0.35)` instead of 154 layers.

A candidate is traced for the nested model's input shape (kspec/catalog/applications/trace.py,
Keras's own application code) and accepted only when its layer list is the nested model's:
the same classes in Keras's order, the same names (automatic ones aside, which depend on the
Keras session), and the same parameters per layer where the catalog can count them. Anything
else stays a nested model.
"""

from __future__ import annotations

import re
from typing import Any

from kspec.catalog import APPLICATIONS, LayerSpec, ParamError, Params, ShapeError
from kspec.interop.keras_config import Notes, entry_name, input_shape, layer_spec
from kspec.interop.reader import ConfigError, Field

MIN_LAYERS = 19  # VGG16 without its top, the smallest application
ALPHAS = (1.0, 0.35, 0.5, 0.75, 0.25, 1.3, 1.4)  # the values Keras has weights for, first


def recognise(entry: Field) -> LayerSpec | None:
    """The application step a serialized nested model is, or None."""
    try:
        return _recognise(entry)
    except (ConfigError, ParamError, ShapeError, KeyError, TypeError, ValueError):
        return None


def _recognise(entry: Field) -> LayerSpec | None:
    config = entry["config"]
    if entry["class_name"].value != "Functional" or not config.has("layers"):
        return None
    layers = list(config["layers"].each())
    if len(layers) < MIN_LAYERS or layers[0]["class_name"].value != "InputLayer":
        return None
    shape = input_shape(layers[0]["config"])
    if len(shape) != 3:
        return None
    found = [(entry_name(e), str(e["class_name"].value)) for e in layers]
    model_name = entry_name(entry, "model")
    params: list[Params | None] | None = None
    for name in _candidates(model_name):
        cls = APPLICATIONS[name]
        for variant in _variants(cls):
            head = _trace(cls, {"include_top": False, **variant}, shape)
            if head is None or not _same_layers(head.layers, found[: len(head.layers)]):
                continue
            top = _top(cls, layers[len(head.layers) :])
            if top is None:
                continue
            for alpha in _alphas(cls, model_name):
                kwargs = {**variant, **top, **alpha}
                traced = _trace(cls, kwargs, shape)
                if traced is None or not _same_layers(traced.layers, found):
                    continue
                if params is None:
                    params = [_params(e) for e in layers]
                if all(
                    mine is None or mine == t.params
                    for mine, t in zip(params, traced.layers, strict=True)
                ):
                    return cls.create((), {"weights": None, **kwargs})
    return None


def _candidates(model_name: str) -> list[str]:
    """Every constructor, those whose name starts the model's name first (longest first):
    Keras names the models after them (`mobilenetv2_0.35_96`, `efficientnetv2-b0`)."""
    key = re.sub(r"[^a-z0-9]", "", model_name.lower())
    hinted = sorted((n for n in APPLICATIONS if key.startswith(n.lower())), key=lambda n: -len(n))
    return [*hinted, *(n for n in APPLICATIONS if n not in hinted)]


def _variants(cls: type[LayerSpec]) -> list[dict[str, Any]]:
    """The arguments that change the layer list below the top."""
    params = cls.params()
    out: list[dict[str, Any]] = [{}]
    if "include_preprocessing" in params:
        out += [{**v, "include_preprocessing": False} for v in out]
    if "minimalistic" in params:
        out += [{**v, "minimalistic": True} for v in out]
    return out


def _alphas(cls: type[LayerSpec], model_name: str) -> list[dict[str, Any]]:
    if "alpha" not in cls.params():
        return [{}]
    named = re.search(r"_(\d\.\d\d)_", model_name)  # mobilenet_0.25_128, mobilenetv2_1.00_96
    first = (float(named.group(1)),) if named else ()
    return [{"alpha": a} for a in dict.fromkeys((*first, *ALPHAS))]


def _top(cls: type[LayerSpec], tail: list[Field]) -> dict[str, Any] | None:
    """include_top, pooling, classes, classifier_activation and dropout from the layers after
    the headless model's, or None when they are not an application's top."""
    classes = [e["class_name"].value for e in tail]
    if not tail:
        return {"include_top": False}
    if classes == ["GlobalAveragePooling2D"]:
        return {"include_top": False, "pooling": "avg"}
    if classes == ["GlobalMaxPooling2D"]:
        return {"include_top": False, "pooling": "max"}
    out: dict[str, Any] = {"include_top": True}
    sizes = [
        e["config"][key].value for e in tail for key in ("units", "filters") if e["config"].has(key)
    ]
    if not sizes:
        return None
    out["classes"] = sizes[-1]
    activation = next(
        (e["config"]["activation"].value for e in reversed(tail) if e["config"].has("activation")),
        "linear",
    )
    out["classifier_activation"] = None if activation == "linear" else activation
    rates = [e["config"]["rate"].value for e in tail if e["class_name"].value == "Dropout"]
    for key in ("dropout", "dropout_rate"):
        if key in cls.params() and rates:
            out[key] = rates[0]
    return out


def _trace(cls: type[LayerSpec], kwargs: dict[str, Any], shape: tuple[int | None, ...]) -> Any:
    from kspec.catalog.applications.trace import trace

    try:
        return trace(cls.create((), {"weights": None, **kwargs}), shape)
    except (ParamError, ShapeError):
        return None


def _same_layers(traced: Any, found: list[tuple[str, str]]) -> bool:
    if len(traced) != len(found):
        return False
    for layer, (name, class_name) in zip(traced, found, strict=True):
        if layer.class_name != class_name:
            return False
        if layer.name != name and not (
            _automatic(layer.name, class_name) and _automatic(name, class_name)
        ):
            return False
    return True


def _automatic(name: str, class_name: str) -> bool:
    """Keras's automatic name for the class (`conv2d_17`): its number depends on the session
    (and the stand-in spells `GlobalMaxPooling2D` as `global_max_pooling2_d`)."""
    bare = re.sub(r"_\d+$", "", name).replace("_", "")
    return bare == class_name.lower()


def _params(entry: Field) -> Params | None:
    """The layer's parameters as the catalog counts them, for its built input shape; None
    where that is not known (a layer without build_config, an unchecked class)."""
    config = entry["config"]
    build = entry["build_config"] if entry.has("build_config") else None
    if build is None or not build.has("input_shape"):
        return None
    raw = build["input_shape"].value
    if not isinstance(raw, list) or not raw or isinstance(raw[0], list):
        return None
    try:
        spec = layer_spec(entry, Notes(), entry_name(entry))
        if not spec.statically_checked or config.value is None:
            return None
        return spec.count_params(tuple(raw[1:]))
    except (ConfigError, ParamError, ShapeError, TypeError, ValueError):
        return None
