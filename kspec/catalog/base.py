"""The catalog's building blocks: LayerSpec, param(), Params, value converters, errors.

A catalog entry is a frozen dataclass (`@entry`, kspec/catalog/record.py) whose fields are
Keras's constructor arguments (names, order and defaults as in Keras), with a pure-Python shape
rule and parameter count. Nothing here imports Keras: `keras_class` is a dotted string that
only the backends resolve.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias, TypeGuard, TypeVar

from kspec.catalog import names
from kspec.catalog.record import Record, entry
from kspec.codes import Code

Dim: TypeAlias = int | None
Shape: TypeAlias = tuple[Dim, ...]
# A layer's input: one shape, or a list of shapes for layers that take several tensors.
Shapes: TypeAlias = Shape | list[Shape]


class ShapeError(Exception):
    """An input shape a layer cannot take; the message is a sentence without position."""

    def __init__(self, message: str, help: str | None = None):
        super().__init__(message)
        self.message = message
        self.help = help


class ParamError(Exception):
    """A bad constructor argument; `arg` names it (or its position) so the checker can point."""

    def __init__(
        self,
        message: str,
        arg: str | int | None = None,
        help: str | None = None,
        code: Code = "bad-argument",
    ):
        super().__init__(message)
        self.message = message
        self.arg = arg
        self.help = help
        self.code = code


@dataclass(frozen=True, slots=True)
class Params:
    """Parameter counts as Keras's summary splits them."""

    trainable: int = 0
    non_trainable: int = 0

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    def __add__(self, other: Params) -> Params:
        return Params(self.trainable + other.trainable, self.non_trainable + other.non_trainable)


@dataclass(frozen=True, slots=True)
class KerasObject:
    """A call to a Keras class that is not a layer: `Adam(learning_rate=1e-3)`, `L2(1e-4)`."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    def kwargs_dict(self) -> dict[str, Any]:
        return dict(self.kwargs)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
Converter = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Param:
    """One constructor argument's rule: how to convert a spec value and which values are legal."""

    name: str
    default: Any
    convert: Converter | None
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...] | None
    exclusive_max: bool

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, value: Any) -> Any:
        """Convert and range-check `value`; raise ParamError (without `arg`) when it is wrong."""
        if self.convert is not None and not (value is None and self.default is None):
            value = self.convert(value)
        if value is None:
            return value
        if self.choices is not None:
            if not isinstance(value, str):
                raise ParamError(
                    f"{self.name} must be one of {_quoted(self.choices)}, got {describe(value)}"
                )
            if value not in self.choices:
                from kspec.diagnostics import suggest

                raise ParamError(
                    f"unknown {self.name} '{value}'",
                    help=suggest(value, self.choices) or f"expected one of {_quoted(self.choices)}",
                    code="bad-choice",
                )
        for item in _numbers_in(value):
            bounded = self.minimum is not None or self.maximum is not None
            if bounded and item != item:  # NaN passes every comparison
                raise ParamError(f"{self.name} must be a number, got nan", code="out-of-range")
            if self.minimum is not None and item < self.minimum:
                raise ParamError(
                    f"{self.name} must be >= {self.minimum:g}, got {item!r}", code="out-of-range"
                )
            if self.maximum is not None and (
                item >= self.maximum if self.exclusive_max else item > self.maximum
            ):
                op = "<" if self.exclusive_max else "<="
                raise ParamError(
                    f"{self.name} must be {op} {self.maximum:g}, got {item!r}", code="out-of-range"
                )
        return value


def param(
    default: Any = REQUIRED,
    *,
    convert: Converter | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: Sequence[str] | None = None,
    exclusive_max: bool = False,
) -> Any:
    """Declare a Keras constructor argument on a catalog dataclass."""
    rule = {
        "convert": convert,
        "minimum": minimum,
        "maximum": maximum,
        "choices": tuple(choices) if choices is not None else None,
        "exclusive_max": exclusive_max,
        "default": default,
    }
    if default is REQUIRED:
        return field(metadata={"kspec": rule})
    return field(default=default, metadata={"kspec": rule})


def spatial(
    per_axis: Any = REQUIRED,
    *,
    minimum: float | None = None,
    optional: bool = False,
    scalar_default: bool = False,
) -> Any:
    """Declare a per-axis argument (kernel_size, strides, pool_size) once on a family's base.

    Each entry that sets `rank` gets an int-or-rank-tuple converter and Keras's default for its
    rank: `strides=1` on Conv1D, `(1, 1)` on Conv2D (or the plain int on every rank with
    `scalar_default`, as the ConvLSTM layers write it).
    """
    rule = {"per_axis": per_axis, "minimum": minimum, "optional": optional}
    rule["scalar_default"] = scalar_default
    meta = {"kspec_rank": rule}
    if per_axis is REQUIRED:
        return field(metadata=meta)
    return field(default=per_axis, metadata=meta)


def _rank_fields(cls: type, rank: int) -> None:
    """Give `cls` its own field for every `spatial()` argument it inherits, resolved for `rank`."""
    base = next((b for b in cls.__mro__[1:] if "__dataclass_fields__" in b.__dict__), None)
    if base is None:
        return
    own = inspect.get_annotations(cls)
    annotations = dict(own)
    for f in dataclasses.fields(base):
        rule = f.metadata.get("kspec_rank")
        if rule is None or f.name in own:
            continue
        convert = {1: single, 2: pair, 3: triple}[rank]  # the same objects codegen recognizes
        per_axis = rule["per_axis"]
        default = per_axis
        if isinstance(per_axis, int) and rank > 1 and not rule["scalar_default"]:
            default = (per_axis,) * rank
        setattr(
            cls,
            f.name,
            param(
                default,
                convert=optional(convert) if rule["optional"] else convert,
                minimum=rule["minimum"],
            ),
        )
        annotations[f.name] = f.type
    cls.__annotations__ = annotations


L = TypeVar("L", bound="LayerSpec")
# Step-level arguments every step takes: `trainable` freezes the layer's weights (a constructor
# argument of every Keras layer, set as an attribute on models), `training` is a call argument.
STEP_ARGUMENTS = ("trainable",)
CALL_OPTIONS = ("training",)
_PARAMS: dict[type, Mapping[str, Param]] = {}
_REQUIRED: dict[type, tuple[str, ...]] = {}
_CONVERTED: dict[type, tuple[tuple[str, Param], ...]] = {}


def _required(cls: type[LayerSpec]) -> tuple[str, ...]:
    """A class's required arguments, in declaration order (read on every layer call)."""
    names = _REQUIRED.get(cls)
    if names is None:
        names = _REQUIRED[cls] = tuple(n for n, p in cls.params().items() if p.required)
    return names


def _converted(cls: type[LayerSpec]) -> tuple[tuple[str, Param], ...]:
    """A class's arguments that have a converter (their defaults are converted on creation)."""
    found = _CONVERTED.get(cls)
    if found is None:
        found = _CONVERTED[cls] = tuple(
            (n, p) for n, p in cls.params().items() if p.convert is not None
        )
    return found


class LayerSpec(Record):
    """Base of every catalog entry. Subclasses are `@register`ed `@entry` classes: frozen,
    keyword-only dataclasses whose fields are Keras's constructor arguments."""

    keras_class: ClassVar[str]
    # Keras's __init__ order for the arguments a spec may pass positionally.
    positional: ClassVar[tuple[str, ...]] = ()
    # (params, input shape) pairs that the differential tests build in Keras.
    examples: ClassVar[tuple[tuple[dict[str, Any], Shapes], ...]] = ()
    # True for layers called on a list of tensors (Add, Concatenate, Attention, Dot).
    takes_list: ClassVar[bool] = False
    # Call arguments a list source is unpacked into, in order (MultiHeadAttention: query, value,
    # key); empty for layers called on one tensor or on the list itself.
    call_inputs: ClassVar[tuple[str, ...]] = ()
    # Call-time keyword arguments that take tensors (`initial_state=[h, c]`, `mask=m`).
    call_tensors: ClassVar[tuple[str, ...]] = ()
    # Non-tensor call arguments Keras's call() takes besides `training`, which every step takes
    # (MultiHeadAttention: use_causal_mask, return_attention_scores).
    call_options: ClassVar[tuple[str, ...]] = ()
    # The `training` Keras's call() defaults to, which Keras writes into a model's config when
    # the call gave none: True for the image preprocessing layers (they augment unless told).
    training_default: ClassVar[bool | None] = None
    statically_checked: ClassVar[bool] = True
    # False for recurrent cells: an argument of RNN, never a step of a model.
    is_step: ClassVar[bool] = True
    family: ClassVar[str] = "core"
    # The class of the object Keras builds when it is not keras_class (an application is a
    # function that returns a Functional model).
    built_class: ClassVar[str | None] = None
    # True when the Keras constructor takes the input shape (keras.applications: input_shape).
    takes_input_shape: ClassVar[bool] = False

    @classmethod
    def unpacks(cls, inputs: object) -> TypeGuard[list[Any]]:
        """Whether a call passes a list source as separate tensors, `layer(q, v)`, rather than
        as one argument, `layer([a, b])`. The builder and the code generator both ask this."""
        return bool(cls.call_inputs) and isinstance(inputs, list)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Runs before @dataclass sees the class body, so per-rank fields keep their places.
        super().__init_subclass__(**kwargs)
        rank = cls.__dict__.get("rank")
        if isinstance(rank, int):
            _rank_fields(cls, rank)

    # -- declaration ------------------------------------------------------------------
    @classmethod
    def layer_name(cls) -> str:
        return cls.keras_class.rsplit(".", 1)[-1]

    @classmethod
    def params(cls) -> Mapping[str, Param]:
        """The constructor arguments in declaration order (read-only, built once per class)."""
        cached = _PARAMS.get(cls)
        if cached is None:
            out: dict[str, Param] = {}
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                rule = f.metadata.get("kspec")
                if rule is not None:
                    out[f.name] = Param(name=f.name, **rule)
            # Every layer call, __post_init__ and keras_kwargs() reads this: dataclasses.fields
            # on each was a fifth of the checking time of a 10,000-layer spec.
            cached = _PARAMS[cls] = MappingProxyType(out)
        return cached

    @classmethod
    def required(cls) -> tuple[str, ...]:
        return tuple(n for n, p in cls.params().items() if p.required)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def create(
        cls: type[L], args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ) -> L:
        """Bind spec arguments the way Keras's __init__ would, converting and checking each."""
        kwargs = dict(kwargs or {})
        params = cls.params()
        values: dict[str, Any] = {}
        where: dict[str, str | int] = {}
        name = cls.layer_name()
        if len(args) > len(cls.positional):
            raise ParamError(
                f"{name} takes at most {len(cls.positional)} positional argument"
                f"{'s' if len(cls.positional) != 1 else ''}, got {len(args)}",
                arg=len(cls.positional),
                help=f"{name} takes {', '.join(cls.positional)} by position; pass the rest by name"
                if cls.positional
                else f"pass arguments to {name} by name",
                code="too-many-arguments",
            )
        for i, value in enumerate(args):
            values[cls.positional[i]] = value
            where[cls.positional[i]] = i
        from kspec.diagnostics import suggest

        for key, value in kwargs.items():
            if key not in params:
                raise ParamError(
                    f"{name} has no argument '{key}'",
                    arg=key,
                    help=suggest(key, [*params, *STEP_ARGUMENTS, *cls.call_option_names()])
                    or f"{name} takes: {', '.join(params)}",
                    code="unknown-argument",
                )
            if key in values:
                raise ParamError(
                    f"{name} got '{key}' twice, by position and by name",
                    arg=key,
                    code="duplicate-argument",
                )
            values[key] = value
            where[key] = key
        missing = [n for n in _required(cls) if n not in values]
        if missing:
            raise ParamError(
                f"{name} is missing required argument{'s' if len(missing) > 1 else ''} "
                + ", ".join(f"'{m}'" for m in missing),
                help=f"e.g. {name}({', '.join(f'{m}=...' for m in missing)})",
                code="missing-argument",
            )
        converted: dict[str, Any] = {}
        for key, value in values.items():
            try:
                converted[key] = params[key].check(value)
            except ParamError as e:
                message = (
                    e.message
                    if e.message.startswith(key) or key in e.message.split(" ")[:3]
                    else f"{key}: {e.message}"
                )
                raise ParamError(message, arg=where[key], help=e.help, code=e.code) from None
        instance = cls(**converted)
        try:
            instance.validate()
        except ParamError as e:  # point at the argument as written: by position or by name
            raise ParamError(
                e.message, arg=where.get(str(e.arg), e.arg), help=e.help, code=e.code
            ) from None
        return instance

    def __post_init__(self) -> None:
        # Defaults go through their converters too, so shape rules and backends see one form:
        # Conv1D's default strides as (1,), ZeroPadding2D's padding as ((1, 1), (1, 1)).
        for name, p in _converted(type(self)):
            value = getattr(self, name)
            if value is not None and value is p.default:
                object.__setattr__(self, name, p.convert(value))  # type: ignore[misc]

    def validate(self) -> None:
        """Cross-argument rules; raise ParamError naming the argument at fault."""

    # -- static semantics -------------------------------------------------------------
    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        """Output shape (or list of shapes) for input shape(s) `x`, without the batch axis."""
        raise NotImplementedError

    def count_params(self, x: Any, **tensors: Any) -> Params:
        """Weights this layer creates for input shape(s) `x` (already accepted by output_shape)."""
        return Params()

    def auto_name(self, x: Any) -> str | None:
        """Keras's default name for this object when it is not the snake-cased class name."""
        return None

    # -- dtypes and state -------------------------------------------------------------
    def input_dtypes(self) -> tuple[str, ...]:
        """The dtypes this layer reads; the first is what the differential tests feed it.

        Only strings against numbers is checked: Keras casts between numeric dtypes.
        """
        return names.NUMERIC_DTYPES

    def output_dtype(self, dtype: str | None) -> str | None:
        """The output's dtype for an input of `dtype` (None when unknown).

        Keras layers compute in the float32 policy; lookups and encodings say otherwise.
        """
        return "float32"

    def needs_adapt(self) -> bool:
        """A preprocessing layer given no state: `adapt()`ed on the training split before fit."""
        return False

    def call_output_shape(self, x: Any, options: Mapping[str, Any], **tensors: Any) -> Any:
        """The output shape(s) of a call with non-tensor call arguments `options`."""
        return self.compute_output_shape(x, **tensors)

    @classmethod
    def call_option_names(cls) -> tuple[str, ...]:
        """Every non-tensor call argument this layer takes, `training` first."""
        return (*CALL_OPTIONS, *cls.call_options)

    # -- what the backends read -------------------------------------------------------
    def arguments(self) -> dict[str, Any]:
        return {n: getattr(self, n) for n in self.params()}

    def keras_kwargs(self) -> dict[str, Any]:
        """Normalized arguments that differ from Keras's defaults, in declaration order."""
        out: dict[str, Any] = {}
        for n, p in self.params().items():
            value = getattr(self, n)
            if p.required or not _same(value, p.default, p):
                out[n] = value
        return out


def _same(value: Any, default: Any, p: Param) -> bool:
    if p.convert is not None and default is not None:
        try:
            default = p.convert(default)
        except ParamError:
            return False
    return bool(value == default and type(value) is type(default))


# -- registry -------------------------------------------------------------------------
CATALOG: dict[str, type[LayerSpec]] = {}
ALIASES: dict[str, str] = {}
# keras.applications constructors (kspec/catalog/applications): steps like layers, kept apart
# because they are functions that build whole models, not keras.layers classes.
APPLICATIONS: dict[str, type[LayerSpec]] = {}
# Steps of kspec's own that the checker spells out as Keras layers (PreprocessInput): no Keras
# class has their name, so they are kept out of CATALOG, which mirrors keras.layers.
KSPEC_STEPS: dict[str, type[LayerSpec]] = {}


def register(cls: type[L]) -> type[L]:
    CATALOG[cls.layer_name()] = cls
    return cls


def alias(name: str, target: str) -> None:
    """Keras's alternative spellings (MaxPool2D, Convolution2D) resolve to one entry."""
    ALIASES[name] = target


@entry
class GenericLayer(LayerSpec):
    """A keras.layers class without a catalog entry: built as written, shapes unknown."""

    statically_checked: ClassVar[bool] = False
    class_name: str = ""
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def generic_keras_class(self) -> str:
        return f"keras.layers.{self.class_name}"

    def compute_output_shape(self, x: Any, **tensors: Any) -> Any:
        return None

    def input_dtypes(self) -> tuple[str, ...]:
        return names.DTYPES

    def output_dtype(self, dtype: str | None) -> str | None:
        return None

    def arguments(self) -> dict[str, Any]:
        return dict(self.kwargs)

    def keras_kwargs(self) -> dict[str, Any]:
        return dict(self.kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GenericLayer) and (self.class_name, self.args, self.kwargs) == (
            other.class_name,
            other.args,
            other.kwargs,
        )

    def __hash__(self) -> int:
        return hash((self.class_name, repr(self.args), repr(self.kwargs)))


def keras_class_of(spec: LayerSpec) -> str:
    return spec.generic_keras_class if isinstance(spec, GenericLayer) else spec.keras_class


def lookup(name: str) -> type[LayerSpec] | None:
    return CATALOG.get(ALIASES.get(name, name)) or APPLICATIONS.get(name) or KSPEC_STEPS.get(name)


# -- converters: each checks the kind of a spec value and normalizes it ---------------------
def describe(value: Any) -> str:
    """A value's kind in spec words, for 'expected X, got Y' messages."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value:g})"
    if isinstance(value, str):
        return f"a string ('{value}')"
    if isinstance(value, tuple):
        return f"a tuple {_spec_repr(value)}"
    if isinstance(value, list):
        return f"a list {_spec_repr(value)}"
    if isinstance(value, dict):
        return "a dict"
    if isinstance(value, LayerSpec):
        return f"a layer ({type(value).__name__})"
    if isinstance(value, KerasObject):
        return f"{value.name}(...)"
    return type(value).__name__


def _spec_repr(value: Any) -> str:
    text = repr(value).replace("None", "none").replace("True", "true").replace("False", "false")
    return text if len(text) <= 40 else text[:37] + "..."


def _quoted(choices: Sequence[str]) -> str:
    return ", ".join(f"'{c}'" for c in choices)


def _numbers_in(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, tuple | list):
        return [v for item in value for v in _numbers_in(item)]
    return []


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(f"expected an integer, got {describe(value)}", code="wrong-kind")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParamError(f"expected a number, got {describe(value)}", code="wrong-kind")
    return float(value)


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParamError(f"expected true or false, got {describe(value)}", code="wrong-kind")
    return value


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise ParamError(f"expected a name or string, got {describe(value)}", code="wrong-kind")
    return value


def ntuple(n: int) -> Converter:
    """An int or an n-tuple of ints, normalized to an n-tuple (Keras's standardize_tuple)."""

    def convert(value: Any) -> tuple[int, ...]:
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,) * n
        if isinstance(value, tuple | list) and len(value) == n:
            return tuple(integer(v) for v in value)
        raise ParamError(
            f"expected an integer or a tuple of {n} integers, got {describe(value)}",
            code="wrong-kind",
        )

    return convert


single, pair, triple = ntuple(1), ntuple(2), ntuple(3)


def ints(value: Any) -> tuple[int, ...]:
    """A tuple of integers (Reshape's target_shape, Permute's dims)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if isinstance(value, tuple | list):
        return tuple(integer(v) for v in value)
    raise ParamError(f"expected a tuple of integers, got {describe(value)}", code="wrong-kind")


def optional(convert: Converter) -> Converter:
    def wrapped(value: Any) -> Any:
        return None if value is None else convert(value)

    return wrapped


def to_activation(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParamError(f"expected an activation name, got {describe(value)}", code="wrong-kind")
    if value not in names.ACTIVATIONS:
        from kspec.diagnostics import suggest

        raise ParamError(
            f"unknown activation '{value}'",
            help=suggest(value, names.ACTIVATIONS),
            code="bad-choice",
        )
    return value


def _keras_object(kind: str, known: Sequence[str]) -> Converter:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            if value not in known:
                from kspec.diagnostics import suggest

                raise ParamError(
                    f"unknown {kind} '{value}'", help=suggest(value, known), code="bad-choice"
                )
            return value
        if isinstance(value, KerasObject):
            if value.name not in known:
                from kspec.diagnostics import suggest

                raise ParamError(
                    f"unknown {kind} '{value.name}'",
                    help=suggest(value.name, known),
                    code="bad-choice",
                )
            return value
        if isinstance(value, dict):
            return value  # a Keras config dict, passed through
        raise ParamError(
            f"expected a {kind} name or call, got {describe(value)}", code="wrong-kind"
        )

    return convert


to_initializer = _keras_object("initializer", names.INITIALIZERS)
to_regularizer = _keras_object("regularizer", names.REGULARIZERS)
to_constraint = _keras_object("constraint", names.CONSTRAINTS)


def to_dtype(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in names.DTYPES:
        from kspec.diagnostics import suggest

        raise ParamError(
            f"unknown dtype {describe(value)}",
            help=suggest(str(value), names.DTYPES),
            code="bad-choice",
        )
    return value


def to_layer(value: Any) -> LayerSpec:
    """A layer given as an argument to a wrapper: `Bidirectional(LSTM(64))`."""
    if not isinstance(value, LayerSpec):
        raise ParamError(
            f"expected a layer such as LSTM(64), got {describe(value)}", code="wrong-kind"
        )
    return value


def to_layers(value: Any) -> list[LayerSpec]:
    """A list of layers given as one argument: `Pipeline([Dense(8), Dense(3)])`."""
    if not isinstance(value, list) or not value:
        raise ParamError(
            f"expected a list of layers such as [Dense(8), Dense(3)], got {describe(value)}",
            code="wrong-kind",
        )
    return [to_layer(v) for v in value]


def anything(value: Any) -> Any:
    return value
