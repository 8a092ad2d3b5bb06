"""The checked graph: layers, calls and tensors with static shapes. Backends read only this."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kspec.catalog import LayerSpec, Params, Shape
from kspec.diagnostics import Diagnostic, KspecError, suggest
from kspec.source import NO_SPAN, Source, Span
from kspec.syntax import ir


@dataclass(eq=False)
class Tensor:
    """One output of one call (or a model input); `shape` has no batch axis, None = unknown."""

    call: Call
    index: int
    shape: Shape | None
    label: str | None = None  # the spec name it was bound to, for readable generated code
    dtype: str | None = "float32"  # None when unknown (after a layer kspec does not check)

    @property
    def layer(self) -> Layer:
        return self.call.layer

    def ref(self) -> str:
        """Keras's summary notation: `conv2d[0][0]`."""
        return f"{self.call.layer.name}[{self.call.node_index}][{self.index}]"


@dataclass(eq=False)
class Layer:
    """One Keras layer object: applied once, or several times when shared."""

    name: str
    spec: LayerSpec | Graph | None  # None for an input layer; a Graph for a nested model
    span: Span
    weights: Params | None = Params()  # as if trainable; None when not statically known
    calls: list[Call] = field(default_factory=list)
    input_shape: Shape | None = None  # for inputs: the declared shape
    dtype: str | None = None  # for inputs
    block_path: tuple[str, ...] = ()  # block instances it was created in, outermost first
    trainable: bool = True  # False: `trainable=false` on the step, or inside a frozen block

    @property
    def params(self) -> Params | None:
        """Keras's split: a frozen layer's weights (all of a frozen model's) are non-trainable."""
        if self.weights is None or self.trainable:
            return self.weights
        return Params(0, self.weights.total)

    @property
    def is_input(self) -> bool:
        return self.spec is None

    @property
    def is_op(self) -> bool:
        """A keras.ops operation: in model.operations and the summary, not in model.layers."""
        from kspec.catalog.opbase import OpSpec

        return isinstance(self.spec, OpSpec)

    @property
    def class_name(self) -> str:
        if self.spec is None:
            return "InputLayer"
        if isinstance(self.spec, Graph):  # a nested model is built as its own graph says
            return "Sequential" if self.spec.is_sequential else "Functional"
        from kspec.catalog import keras_class_of

        return self.spec.built_class or keras_class_of(self.spec).rsplit(".", 1)[-1]


@dataclass(eq=False)
class Call:
    """One application of a layer to input tensors."""

    layer: Layer
    node_index: int  # 0 for the first call of the layer, 1 for the second, ...
    inputs: Tensor | list[Tensor] | None  # None for input layers
    tensors: dict[str, Tensor | list[Tensor]]  # call-time tensor arguments
    outputs: list[Tensor]
    span: Span
    multi_output: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # non-tensor call arguments: training

    def input_list(self) -> list[Tensor]:
        if self.inputs is None:
            return []
        flat = self.inputs if isinstance(self.inputs, list) else [self.inputs]
        for value in self.tensors.values():
            flat = flat + (value if isinstance(value, list) else [value])
        return flat


@dataclass(eq=False)
class BlockUse:
    """One block instance: its call site and result, for editors' inline shapes and hovers."""

    span: Span
    outputs: list[Tensor]
    path: tuple[str, ...]  # the block_path its layers carry


@dataclass(eq=False)
class Binding:
    """A name bound in a model or block body, with the value it got there, for editors' hovers."""

    name: str
    span: Span  # the statement that binds it
    value: Any  # a Tensor, a list of them, a shared layer or a local constant
    path: tuple[str, ...]  # the block instance it was bound in; () in the model itself


@dataclass(eq=False)
class Graph:
    """A checked model."""

    name: str
    span: Span
    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)
    output_names: list[str | None] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    complete: bool = True  # False when errors left parts of it unchecked
    # `layer base = encoder`: names a model step is known by besides its own (selectors use it)
    step_names: dict[str, str] = field(default_factory=dict)
    block_uses: list[BlockUse] = field(default_factory=list)
    bindings: list[Binding] = field(default_factory=list)

    @property
    def params(self) -> Params | None:
        """Keras's count_params(): layers that no output depends on are not in the model."""
        return self.count(self.keras_layers() if self.complete else self.layers)

    @staticmethod
    def count(layers: list[Layer]) -> Params | None:
        """The layers' parameters together; None when one's are not statically known."""
        total = Params()
        for layer in layers:
            if layer.params is None:
                return None
            total = total + layer.params
        return total

    @property
    def is_sequential(self) -> bool:
        """A single chain from one input to one output: Keras builds it as keras.Sequential."""
        if len(self.inputs) != 1 or len(self.outputs) != 1:
            return False
        prev = self.inputs[0]
        for call in self.calls:
            if call.layer.is_input:
                continue
            if len(call.layer.calls) != 1 or call.tensors or call.options:
                return False
            if call.inputs is not prev:
                return False
            if len(call.outputs) != 1 or isinstance(call.layer.spec, Graph):
                return False
            if call.layer.spec is not None and (
                call.layer.spec.takes_list or call.layer.spec.call_inputs
            ):
                return False
            prev = call.outputs[0]
        return prev is self.outputs[0] and all(n is None for n in self.output_names)

    def adapted_layers(self) -> list[Layer]:
        """Preprocessing layers given no state, in call order: adapted before training."""
        return [
            layer
            for layer in self.layers
            if isinstance(layer.spec, LayerSpec) and layer.spec.needs_adapt()
        ]

    def keras_layers(self, sequential: bool | None = None) -> list[Layer]:
        """The layers in the order Keras lists them (model.layers, model.summary()).

        Keras's map_graph (keras/src/ops/function.py): a depth-first walk from the outputs
        numbers the layers as it first meets them; layers are then listed by depth (the
        longest path to an output), deepest first, ties in walk order. A layer that no output
        depends on is not part of the Keras model. `sequential` is `is_sequential`, when the
        caller knows it (it walks every call).
        """
        if self.is_sequential if sequential is None else sequential:
            return [layer for layer in self.layers if not layer.is_input]
        index: dict[int, int] = {}  # id(Layer) -> walk order
        layers: dict[int, Layer] = {}
        finished: set[int] = set()  # id(Call)
        post_order: list[Call] = []

        def enter(call: Call) -> tuple[Call, Iterator[Tensor]]:
            index.setdefault(id(call.layer), len(index))
            layers[id(call.layer)] = call.layer
            return call, iter(_keras_inputs(call))

        for output in self.outputs:  # iterative: a model may unroll to many thousands of layers
            if id(output.call) in finished:
                continue
            stack = [enter(output.call)]
            while stack:
                call, pending = stack[-1]
                for tensor in pending:
                    if id(tensor.call) not in finished:
                        stack.append(enter(tensor.call))
                        break
                else:
                    stack.pop()
                    finished.add(id(call))
                    post_order.append(call)
        call_depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        for call in reversed(post_order):
            depth = max(call_depth.setdefault(id(call), 0), layer_depth.get(id(call.layer), 0))
            layer_depth[id(call.layer)] = call_depth[id(call)] = depth
            for tensor in _keras_inputs(call):
                parent = id(tensor.call)
                call_depth[parent] = max(depth + 1, call_depth.get(parent, 0))
        for tensor in self.inputs:  # Keras keeps inputs that no output uses
            if id(tensor.layer) not in layer_depth:
                layer_depth[id(tensor.layer)], index[id(tensor.layer)] = 0, -1
                layers[id(tensor.layer)] = tensor.layer
        return sorted(layers.values(), key=lambda lay: (-layer_depth[id(lay)], index[id(lay)]))


def _keras_inputs(call: Call) -> list[Tensor]:
    """A call's input tensors in Keras's node order: positional, then keyword arguments by name."""
    if call.inputs is None:
        return []
    flat = list(call.inputs) if isinstance(call.inputs, list) else [call.inputs]
    for key in sorted(call.tensors):  # Keras flattens the call's kwargs dict in key order
        value = call.tensors[key]
        flat += value if isinstance(value, list) else [value]
    return flat


@dataclass
class Setting:
    """A resolved data/train field: its value and where it was written."""

    value: Any
    span: Span = NO_SPAN


@dataclass(frozen=True)
class Selector:
    """One item of a freeze/unfreeze list, as written."""

    text: str  # spec syntax, for messages and comments in generated code
    span: Span
    step: str | None = None  # a step by name: a layer, shared layer, model step, block instance
    index: int | tuple[int | None, int | None] | None = None  # with step: its model's layers
    pattern: str | None = None  # layer names at any depth, `*` matching any text


@dataclass
class Phase:
    """A checked phase: the train fields it overrides and the selectors it applies, in order."""

    name: str
    span: Span
    fields: dict[str, Setting] = field(default_factory=dict)
    changes: list[tuple[bool, Selector]] = field(default_factory=list)  # (trainable, selector)


@dataclass
class Checked:
    """Everything `kspec check` learned about a file; the input to summary, build and codegen."""

    spec: ir.Spec
    path: str
    models: dict[str, Graph]
    data: dict[str, Setting]
    train: dict[str, Setting]
    constants: dict[str, Any]
    sources: dict[str, Source]
    warnings: list[Diagnostic] = field(default_factory=list)
    uses: dict[str, str] = field(default_factory=dict)  # bound name -> "package.module:Class"
    use_spans: dict[str, Span] = field(default_factory=dict)  # bound name -> where it was written
    # Each file's top-level names after checking (file key -> name -> value): the code generator
    # spells constants and finds blocks and models here instead of loading the files again.
    scopes: dict[str, dict[str, Any]] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)  # train's `phase NAME { ... }`, in order

    def model(self, name: str | None = None) -> Graph:
        """The model to build: `name`, else train.model, else the only (or last) one.

        The one place an unknown or missing model is reported, for every command and the API.
        """
        where = Span(0, 0, 0, 0, self.path)
        if not self.models:
            raise KspecError(
                [
                    Diagnostic(
                        "no-model",
                        f"{self.path} defines no model",
                        where,
                        help="add `model NAME { ... }`, or import a file that defines one",
                    )
                ],
                self.sources,
            )
        if name is None and "model" in self.train:
            name = str(self.train["model"].value)
        if name is None:
            return list(self.models.values())[-1]
        if name not in self.models:
            known = ", ".join(self.models)
            raise KspecError(
                [
                    Diagnostic(
                        "unknown-model",
                        f"no model named '{name}' in {self.path}",
                        where,
                        help=suggest(name, self.models) or f"models: {known}",
                    )
                ],
                self.sources,
            )
        return self.models[name]
