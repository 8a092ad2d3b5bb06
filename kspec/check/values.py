"""Values a spec expression can evaluate to, besides plain numbers, strings and containers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from kspec.catalog.base import GenericLayer, KerasObject, LayerSpec, describe
from kspec.check.graph import Graph, Layer, Tensor
from kspec.source import NO_SPAN, Span
from kspec.syntax import ir

# Non-tensor call arguments of one step, in the order written: (("training", False),).
Options: TypeAlias = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class BlockRef:
    """A block call not yet applied: `residual(64, stride=2)`."""

    block: ir.Block
    args: tuple[tuple[str, Any], ...]
    instance: str | None  # name= given at the call
    span: Span
    text: str  # how it was written, for "in residual(64, stride=2) used at ..." notes
    globals_key: str = ""  # which file's scope the block's body sees
    trainable: bool = True  # False freezes every layer the instance creates
    options: Options = ()  # call arguments (training=) for every call the instance makes


@dataclass(frozen=True, eq=False)
class SharedRef:
    """A `layer NAME = ...` declaration: one Layer applied wherever NAME is a step."""

    name: str
    spec: LayerSpec
    span: Span
    layer: list[Layer] = field(default_factory=list)  # filled on first application
    trainable: bool | None = None  # as declared, or as given at this use: `base(trainable=...)`
    options: Options = ()  # call arguments at this use: `base(training=false)`
    tensors: dict[str, Tensor | list[Tensor]] = field(default_factory=dict)  # `base(mask=m)`


@dataclass(frozen=True, eq=False)
class ModelRef:
    """A model used as a step: a nested Keras model, its weights shared wherever it is used."""

    name: str
    graph: Graph
    layer: list[Layer] = field(default_factory=list)


@dataclass(frozen=True)
class BlockDef:
    """A block name in scope, before it is called."""

    block: ir.Block
    globals_key: str


@dataclass(frozen=True)
class UseDef:
    """A `use "pkg.mod:Class"` name: calling it gives a GenericLayer built from that class."""

    target: str
    span: Span = field(
        default=NO_SPAN, compare=False
    )  # where the `use` was written, for errors raised when it is imported


@dataclass(frozen=True, eq=False)
class LayerStep:
    """A layer call as written in a chain: the catalog entry plus call-level extras."""

    spec: LayerSpec
    name: str | None  # name="..." given by the user
    tensors: dict[str, Tensor | list[Tensor]]  # call-time tensor arguments
    span: Span
    trainable: bool = True
    options: Options = ()  # non-tensor call arguments: training=, use_causal_mask=, ...

    @property
    def class_name(self) -> str:
        from kspec.catalog import keras_class_of

        return keras_class_of(self.spec).rsplit(".", 1)[-1]


@dataclass(frozen=True)
class ModelDef:
    """A model name in scope; its graph is checked on first use as a step."""

    model: ir.Model
    globals_key: str
    trainable: bool | None = None  # `encoder(trainable=false)`
    options: Options = ()  # `encoder(training=false)`


Step = LayerStep | BlockRef | SharedRef | ModelRef


def is_step(value: Any) -> bool:
    return isinstance(value, LayerStep | BlockRef | SharedRef | ModelRef | ModelDef)


def is_tensors(value: Any) -> bool:
    if isinstance(value, Tensor):
        return True
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, Tensor) for v in value)
    )


def describe_value(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {_show(value)}"
    if isinstance(value, list | tuple) and value and all(isinstance(v, Tensor) for v in value):
        return f"a list of {len(value)} tensors"
    if isinstance(value, BlockRef):
        return f"a block call ({value.block.name})"
    if isinstance(value, BlockDef):
        return f"the block '{value.block.name}'"
    if isinstance(value, LayerStep):
        return f"a layer ({value.class_name})"
    if isinstance(value, SharedRef):
        return f"the shared layer '{value.name}'"
    if isinstance(value, ModelRef):
        return f"the model '{value.name}'"
    if isinstance(value, ModelDef):
        return f"the model '{value.model.name}'"
    if isinstance(value, UseDef):
        return f"the layer class '{value.target}'"
    if isinstance(value, GenericLayer):
        return f"a layer ({value.class_name})"
    if isinstance(value, KerasObject):
        return f"{value.name}(...)"
    return describe(value)


def _show(t: Tensor) -> str:
    from kspec.catalog.shapes import show

    return show(t.shape)
