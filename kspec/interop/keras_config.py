"""Keras's saved layer configs -> catalog entries, reading JSON only (the importer's vocabulary).

A config lists every constructor argument with its value, defaults included, and writes Keras
objects (initializers, regularizers, constraints, nested layers) as `{"class_name", "config"}`
dicts. Here those become spec values, so that the catalog can say which arguments differ from
Keras's defaults. Nothing is imported from the file or from Keras: the default configs of
Keras's own objects are listed below (tests/test_import.py checks them against Keras).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kspec.catalog import GenericLayer, KerasObject, LayerSpec, ParamError, lookup
from kspec.catalog import names as keras_names
from kspec.catalog.base import to_activation
from kspec.catalog.opbase import OPS, OpSpec

# Non-None entries of each object's default get_config() (Keras 3), and its string aliases.
OBJECT_DEFAULTS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "Zeros": ({}, ("zeros",)),
    "Ones": ({}, ("ones",)),
    "Constant": ({"value": 0.0}, ()),  # keras.initializers.get("constant") cannot build it
    "Identity": ({}, ("identity",)),
    "RandomNormal": ({"mean": 0.0, "stddev": 0.05}, ("random_normal", "normal")),
    "RandomUniform": ({"minval": -0.05, "maxval": 0.05}, ("random_uniform", "uniform")),
    "TruncatedNormal": ({"mean": 0.0, "stddev": 0.05}, ("truncated_normal",)),
    "VarianceScaling": (
        {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"},
        ("variance_scaling",),
    ),
    "GlorotNormal": ({}, ("glorot_normal",)),
    "GlorotUniform": ({}, ("glorot_uniform",)),
    "HeNormal": ({}, ("he_normal",)),
    "HeUniform": ({}, ("he_uniform",)),
    "LecunNormal": ({}, ("lecun_normal",)),
    "LecunUniform": ({}, ("lecun_uniform",)),
    "Orthogonal": ({"gain": 1.0}, ("orthogonal",)),
    "L1": ({"l1": 0.01}, ("l1",)),
    "L2": ({"l2": 0.01}, ("l2",)),
    "L1L2": ({"l1": 0.0, "l2": 0.0}, ()),  # keras.regularizers.get("l1_l2") fails
    "OrthogonalRegularizer": ({"factor": 0.01, "mode": "rows"}, ()),
    "MaxNorm": ({"max_value": 2, "axis": 0}, ("max_norm",)),
    "MinMaxNorm": ({"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}, ("min_max_norm",)),
    "NonNeg": ({}, ("non_neg",)),
    "UnitNorm": ({"axis": 0}, ("unit_norm",)),
}
# Config entries that are not constructor arguments in the catalog, with the values that mean
# "as by default"; any other value is an error (the spec could not say it).
IGNORED_DEFAULTS: dict[str, tuple[Any, ...]] = {
    "activity_regularizer": (None,),
    "data_format": ("channels_last",),
    "quantization_config": (None,),
    "oov_method": ("floormod",),  # StringLookup's config has it (and salt) from IndexLookup
    "ragged": (False,),  # TextVectorization's ragged and the lookups' sparse outputs
    "rms_scaling": (False,),
    "salt": (None,),
    "seed": (None,),
    "sparse": (False,),
    "vocabulary_dtype": ("int64",),  # IntegerLookup's only one
    "unroll": (False,),
    "zero_output_for_mask": (False, True),  # Bidirectional sets it on the layers it wraps
    "lora_rank": (None,),
    "lora_alpha": (None,),
}
LAYER_MODULES = ("keras.layers", "keras.src.layers")
OP_MODULE = "keras.src.ops."


class ConfigError(Exception):
    """A config the spec cannot express; the message names the layer."""

    def __init__(self, message: str, help: str | None = None):
        super().__init__(message)
        self.message = message
        self.help = help


@dataclass
class Notes:
    """What an import drops on purpose (frozen layers, dtype policies), said to the user."""

    items: list[str] = field(default_factory=list)
    errors: list[ConfigError] = field(default_factory=list)  # every item the spec cannot say


def tidy_float(x: float) -> float:
    """The shortest decimal with the same float32 value, for floats Keras stored as float32
    (`0.009999999776482582` -> `0.01`); any other float unchanged."""
    if not math.isfinite(x):
        return x
    try:
        single = struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return x
    if single != x:
        return x
    for digits in range(1, 10):
        y = float(f"{x:.{digits}g}")
        if struct.unpack("f", struct.pack("f", y))[0] == single:
            return y
    return x


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)
    return bool(a == b)


def is_object(value: Any) -> bool:
    return isinstance(value, dict) and "class_name" in value and "config" in value


def plain(value: Any) -> Any:
    """A JSON config value as a spec value: lists become tuples, floats tidied."""
    if isinstance(value, float):
        return tidy_float(value)
    if isinstance(value, list):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):
        if is_object(value):
            return keras_object(value, None)
        return {k: plain(v) for k, v in value.items()}
    return value


def keras_object(value: dict[str, Any], default: Any) -> Any:
    """An initializer/regularizer/constraint config: its alias when it is the default one."""
    name = value["class_name"]
    if name == "function" and isinstance(value["config"], str):
        return value["config"]
    if value.get("registered_name") not in (None, name) or name not in OBJECT_DEFAULTS:
        raise ConfigError(
            f"'{value.get('registered_name') or name}' is not a Keras object kspec knows",
            help="kspec imports Keras's own initializers, regularizers and constraints",
        )
    defaults, aliases = OBJECT_DEFAULTS[name]
    config = {k: plain(v) for k, v in (value["config"] or {}).items() if v is not None}
    changed = {k: v for k, v in config.items() if k not in defaults or not _close(v, defaults[k])}
    if not changed and aliases:
        return default if default in aliases else aliases[0]
    return KerasObject(name, (), tuple(changed.items()))


def layer_class(entry: dict[str, Any]) -> str:
    """The Keras class a serialized layer names, refusing code and classes outside Keras."""
    name = entry.get("class_name", "?")
    layer_name = entry.get("config", {}).get("name") or entry.get("name") or "?"
    if name in keras_names.REFUSED_LAYERS:
        raise ConfigError(
            f"layer '{layer_name}' is a {name}, which holds Python code; kspec "
            "never runs code from a model file (as Keras's safe_mode refuses it)",
            help="rewrite it with Keras layers, or as a custom layer class and a `use` line",
        )
    module = entry.get("module") or "keras.layers"
    registered = entry.get("registered_name")
    known = module in LAYER_MODULES and name in keras_names.KERAS_LAYERS
    entry_cls = lookup(name)  # or a layer that Keras registers itself (ConvNeXt's LayerScale)
    known = known or (entry_cls is not None and entry_cls.keras_class == f"{module}.{name}")
    if not known or registered not in (None, name):
        shown = registered or f"{module}.{name}"
        raise ConfigError(
            f"layer '{layer_name}' has the custom class '{shown}'; kspec does not "
            "load code from a model file (as Keras's safe_mode refuses it)",
            help='add `use "package.module:Class"` to the spec by hand',
        )
    return str(name)


def layer_spec(entry: dict[str, Any], notes: Notes) -> LayerSpec:
    """A serialized layer (`{"class_name", "config"}`) as a catalog entry or GenericLayer."""
    name = layer_class(entry)
    config = dict(entry.get("config") or {})
    layer_name = config.pop("name", None) or "?"
    config.pop("vocabulary_size", None)  # the lookups' state, which Keras derives on loading
    _note_policy(layer_name, config.pop("trainable", True), config.pop("dtype", None), notes)
    cls = lookup(name)
    if cls is None:
        return GenericLayer(class_name=name, kwargs=tuple((k, plain(v)) for k, v in config.items()))
    params = cls.params()
    kwargs: dict[str, Any] = {}
    for key, value in config.items():
        if key not in params:
            if key in IGNORED_DEFAULTS and value in IGNORED_DEFAULTS[key]:
                continue
            raise ConfigError(
                f"layer '{layer_name}' ({name}) has {key}={value!r}, which kspec's "
                f"{name} does not take"
            )
        kwargs[key] = argument(value, params[key].default, params[key].convert, notes)
    if name == "Bidirectional":
        kwargs = _bidirectional(kwargs, config)
    _unresolve(kwargs, params)
    try:
        return cls.create((), kwargs)
    except ParamError as e:
        raise ConfigError(f"layer '{layer_name}' ({name}): {e.message}", help=e.help) from None


def is_operation(entry: dict[str, Any]) -> bool:
    """A keras.ops node (`x + 3` in the model's code): `Add` of keras.src.ops.numpy is not the
    Add layer."""
    return str(entry.get("module") or "").startswith(OP_MODULE)


def op_spec(entry: dict[str, Any]) -> OpSpec:
    """A serialized operation as its ops catalog entry (without its call's numbers)."""
    qualified = f"{entry.get('module')}.{entry.get('class_name')}"
    config = dict(entry.get("config") or {})
    name = config.pop("name", None) or entry.get("name") or "?"
    cls = next((c for c in OPS.values() if c.keras_class == qualified), None)
    if cls is None or entry.get("registered_name") not in (None, entry.get("class_name")):
        raise ConfigError(
            f"operation '{name}' is {qualified}, which kspec's ops catalog does not have",
            help="docs/layers.md lists the keras.ops functions a spec may use; "
            "rewrite this step with one of them or with a layer",
        )
    params = cls.params()
    kwargs = {k: plain(v) for k, v in config.items() if k in params}
    unknown = [k for k in config if k not in params and k not in ("trainable", "dtype")]
    if unknown:
        raise ConfigError(
            f"operation '{name}' ({cls.op_name()}) has {', '.join(unknown)}, "
            f"which kspec's {cls.op_name()} does not take"
        )
    try:
        return cls.create((), kwargs)
    except ParamError as e:
        raise ConfigError(
            f"operation '{name}' ({cls.op_name()}): {e.message}", help=e.help
        ) from None


def argument(value: Any, default: Any, convert: Any, notes: Notes) -> Any:
    """One constructor argument from a config, in the form the catalog compares with its default."""
    if is_object(value):
        if (
            value.get("module", "").startswith(LAYER_MODULES)
            or value["class_name"] in keras_names.KERAS_LAYERS
        ):
            return layer_spec(value, notes)
        return keras_object(value, default)
    if isinstance(value, list) and any(is_object(v) for v in value):  # RNN(cell=[cells...])
        return [argument(v, None, None, notes) for v in value]
    if convert is to_activation and value == "linear" and default is None:
        return None  # Keras writes the identity activation as "linear"
    return plain(value)


def _unresolve(kwargs: dict[str, Any], params: Mapping[str, Any]) -> None:
    """Put back the defaults that a layer resolves in __init__ and then writes resolved."""

    def default(key: str) -> Any:
        return params[key].default if key in params else "?"

    if kwargs.get("data_format") == "channels_last" and default("data_format") is None:
        kwargs["data_format"] = None  # keras.config.image_data_format()
    if (
        "pool_size" in kwargs
        and default("strides") is None
        and kwargs.get("strides") == kwargs["pool_size"]
    ):
        kwargs["strides"] = None  # pooling: strides default to pool_size
    if (
        "key_dim" in kwargs
        and default("value_dim") is None
        and kwargs.get("value_dim") == kwargs["key_dim"]
    ):
        kwargs["value_dim"] = None  # MultiHeadAttention: value_dim defaults to key_dim
    if kwargs.get("lora_rank") is None and "lora_alpha" in kwargs and default("lora_alpha") is None:
        kwargs["lora_alpha"] = None  # only read with a LoRA rank
    elif "lora_rank" in kwargs and kwargs.get("lora_alpha") == kwargs["lora_rank"]:
        kwargs["lora_alpha"] = default("lora_alpha")  # LoRA alpha defaults to the rank
    axis = kwargs.get("axis")
    if isinstance(axis, tuple) and isinstance(default("axis"), int | None) and len(axis) <= 1:
        kwargs["axis"] = axis[0] if axis else None  # Normalization keeps axis as a tuple


def _bidirectional(kwargs: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Keras writes the backward layer it derived itself; the spec leaves it out."""
    backward, forward = config.get("backward_layer"), config.get("layer")
    if isinstance(backward, dict) and isinstance(forward, dict):
        b, f = dict(backward.get("config", {})), dict(forward.get("config", {}))
        for c in (b, f):
            c.pop("name", None)
            c.pop("go_backwards", None)
        if backward.get("class_name") == forward.get("class_name") and b == f:
            kwargs.pop("backward_layer", None)
    return kwargs


def _note_policy(layer: str, trainable: Any, dtype: Any, notes: Notes) -> None:
    if trainable is False:
        notes.items.append(
            f"layer '{layer}' is frozen (trainable=false); a spec does not record "
            "trainability, so the imported model trains it"
        )
    policy = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if policy not in (None, "float32"):
        notes.items.append(
            f"layer '{layer}' has dtype policy '{policy}'; the imported spec uses "
            "float32 (train { mixed_precision = true } sets mixed_float16)"
        )


def input_shape(config: dict[str, Any]) -> tuple[int | None, ...]:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None:
        shape = [None, *(config.get("shape") or [])]
    return tuple(shape[1:])
