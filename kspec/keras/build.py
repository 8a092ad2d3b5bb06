"""Turn catalog entries and checked graphs into Keras objects: the only module importing Keras."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from operator import attrgetter
from typing import Any

from kspec.catalog import GenericLayer, KerasObject, LayerSpec, keras_class_of
from kspec.catalog.opbase import OpSpec
from kspec.check.graph import Call, Checked, Graph, Layer, Tensor
from kspec.diagnostics import Diagnostic, KspecError
from kspec.keras.weights import WeightsFileMismatch, keras_message
from kspec.source import Source, Span


def resolve_class(dotted: str) -> Any:
    import keras  # here, so that checking a spec never loads TensorFlow

    return attrgetter(dotted.removeprefix("keras."))(keras)


def keras_value(value: Any, module: str = "keras") -> Any:
    """A checked spec value as Keras takes it: nested layers and Keras objects built."""
    if isinstance(value, LayerSpec):
        return make_layer(value)
    if isinstance(value, KerasObject):
        from kspec.catalog.names import object_module

        cls = resolve_class(f"{object_module(value.name, module)}.{value.name}")
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


def make_layer(
    spec: LayerSpec,
    name: str | None = None,
    *,
    cls: Any = None,
    input_shape: Any = None,
    spec_path: str = "",
) -> Any:
    """A Keras layer for a catalog entry; `cls` replaces the class for `use`d layers.

    An application (spec.takes_input_shape) is built for `input_shape`; a weights file it
    names is relative to `spec_path`, the file the step was written in.
    """
    if cls is None:
        cls = resolve_class(keras_class_of(spec))
    args = [keras_value(a) for a in spec.args] if isinstance(spec, GenericLayer) else []
    kwargs = {k: keras_value(v) for k, v in spec.keras_kwargs().items()}
    weights_file = None
    if spec.takes_input_shape:
        from kspec.check.settings import application_weights

        kwargs["input_shape"] = input_shape
        kwargs["weights"] = application_weights(spec, spec_path)
        if kwargs["weights"] not in (None, "imagenet"):
            # built with random weights, then loaded as Keras would, once the file is compared
            weights_file, kwargs["weights"] = kwargs["weights"], None
    if name is not None:
        kwargs["name"] = name
    built = cls(*args, **kwargs)
    if weights_file is not None:
        from kspec.keras.weights import load_application_weights

        load_application_weights(built, weights_file, f"{spec.layer_name()} '{built.name}'")
    return built


def make_op(spec: OpSpec, name: str | None = None) -> Any:
    """The keras.Operation for an ops entry, named as the checker named it.

    keras.ops functions take no name; their Operation classes do, so the built model's
    operation names are the ones `kspec summary` shows.
    """
    module, _, cls_name = spec.keras_class.rpartition(".")
    cls = getattr(importlib.import_module(module), cls_name)
    kwargs = {k: keras_value(v) for k, v in spec.keras_kwargs().items()}
    return cls(name=name, **kwargs) if name is not None else cls(**kwargs)


def op_arguments(spec: OpSpec, tensors: list[Any]) -> list[Any]:
    """The positional call arguments: tensors and the spec's numbers in operand order."""
    if spec.list_operand:
        return [list(tensors)]
    scalars = dict(spec.scalars)
    rest = iter(tensors)
    return [scalars[i] if i in scalars else next(rest) for i in range(len(tensors) + len(scalars))]


def call_layer(
    layer: Any,
    spec: LayerSpec,
    inputs: Any,
    tensors: dict[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """Apply `layer` the way its catalog entry says it is called (one tensor, a list, unpacked)."""
    kwargs = {**(tensors or {}), **(options or {})}
    if spec.unpacks(inputs):
        return layer(*inputs, **kwargs)
    return layer(inputs, **kwargs)


# -- whole models ---------------------------------------------------------------------------
def build_model(
    graph: Graph,
    uses: Mapping[str, str] | None = None,
    use_spans: Mapping[str, Span] | None = None,
    sources: Mapping[str, Source] | None = None,
) -> Any:
    """The keras.Model for a checked graph, every layer named as in the graph.

    Args:
        uses: `use` bindings (name -> "pkg.mod:Class"), as in Checked.uses.
        use_spans: where each `use` was written, so an import failure points at it.
        sources: the spec texts, so errors render with their line.
    """
    return ModelBuilder(uses or {}, use_spans or {}, sources or {}).model(graph, graph.name)


def build_checked(checked: Checked, model: str | None = None) -> Any:
    """The keras.Model for one model of a checked file (default: the one training uses)."""
    return build_model(checked.model(model), checked.uses, checked.use_spans, checked.sources)


class ModelBuilder:
    """One build: each graph Layer becomes one Keras layer, however often it is called."""

    def __init__(
        self, uses: Mapping[str, str], use_spans: Mapping[str, Span], sources: Mapping[str, Source]
    ):
        self.uses = uses
        self.use_spans = use_spans
        self.sources = sources
        self.layers: dict[int, Any] = {}  # id(Layer) -> Keras layer (or nested model)
        self.classes: dict[str, Any] = {}  # `use` name -> imported class

    def model(self, graph: Graph, name: str) -> Any:
        if graph.is_sequential:
            return self.sequential(graph, name)
        return self.functional(graph, name)

    def sequential(self, graph: Graph, name: str) -> Any:
        import keras

        first = graph.inputs[0].layer
        layers = [self.layer(call.layer) for call in graph.calls if not call.layer.is_input]
        try:
            return keras.Sequential([self.input(first), *layers], name=name)
        except Exception as e:
            failure = e
        # Keras builds a Sequential in one go; rebuild it a layer at a time, with fresh layers,
        # to find the one at fault and point at its line.
        ModelBuilder(self.uses, self.use_spans, self.sources).functional(graph, name)
        raise self.error(failure, graph, graph.span)

    def functional(self, graph: Graph, name: str) -> Any:
        import keras

        values: dict[int, Any] = {}  # id(Tensor) -> Keras tensor
        for call in graph.calls:
            self.call(call, values)
        inputs = [values[id(t)] for t in graph.inputs]
        outputs = [values[id(t)] for t in graph.outputs]
        try:
            return keras.Model(
                inputs[0] if len(inputs) == 1 else inputs,
                outputs[0] if len(outputs) == 1 else outputs,
                name=name,
            )
        except Exception as e:
            raise self.error(e, graph, graph.span) from None

    def input(self, layer: Layer) -> Any:
        import keras

        return keras.Input(shape=layer.input_shape, dtype=layer.dtype, name=layer.name)

    def layer(self, layer: Layer) -> Any:
        """The Keras layer for a graph Layer, made on first use."""
        if id(layer) in self.layers:
            return self.layers[id(layer)]
        spec = layer.spec
        if isinstance(spec, Graph):  # a nested model: its weights are shared by every call
            built = self.model(spec, layer.name)
        else:
            assert spec is not None, "input layers are made by input()"
            cls = self.use_class(spec, layer) if self.is_use(spec) else None
            first = layer.calls[0].inputs if layer.calls else None
            try:
                if isinstance(spec, OpSpec):
                    built = make_op(spec, layer.name)
                else:
                    built = make_layer(
                        spec,
                        layer.name,
                        cls=cls,
                        input_shape=first.shape if isinstance(first, Tensor) else None,
                        spec_path=layer.span.path,
                    )
            except WeightsFileMismatch as e:
                raise KspecError(
                    [Diagnostic("weights-mismatch", e.message, layer.span, e.help)], self.sources
                ) from None
            except Exception as e:
                raise self.error(e, layer, layer.span) from None
        if not layer.trainable:
            built.trainable = False  # Keras's setter freezes every layer inside a model too
        self.layers[id(layer)] = built
        return built

    def call(self, call: Call, values: dict[int, Any]) -> None:
        layer = call.layer
        if layer.is_input:
            values[id(call.outputs[0])] = self.input(layer)
            return
        built = self.layer(layer)
        inputs = _lookup(call.inputs, values)
        tensors = {k: _lookup(v, values) for k, v in call.tensors.items()}
        try:
            if isinstance(layer.spec, Graph):
                result = built(inputs, **call.options)
            elif isinstance(layer.spec, OpSpec):
                result = built(*op_arguments(layer.spec, inputs))
            else:
                assert layer.spec is not None
                result = call_layer(built, layer.spec, inputs, tensors, call.options)
        except Exception as e:
            raise self.error(e, layer, call.span, call) from None
        for tensor, value in zip(call.outputs, self.results(call, result), strict=True):
            values[id(tensor)] = value

    def results(self, call: Call, result: Any) -> list[Any]:
        """What a call returned, one Keras tensor per output Tensor of the graph."""
        import keras

        several = isinstance(result, list | tuple)
        expects_list = call.multi_output or len(call.outputs) > 1
        results = list(result) if several and expects_list else [result]
        tensors = all(isinstance(r, keras.KerasTensor) for r in results)
        if tensors and len(results) == len(call.outputs):
            return results
        got = f"{len(result)} tensors" if several else type(result).__name__
        message = (
            f"Keras's {call.layer.class_name} '{call.layer.name}' returned {got}, where "
            f"the spec expects {len(call.outputs)} tensor(s)"
        )
        raise KspecError(
            [
                Diagnostic(
                    "keras-error",
                    message,
                    call.span,
                    help="a layer kspec does not check must return one tensor",
                )
            ],
            self.sources,
        )

    # -- `use "pkg.mod:Class"` ---------------------------------------------------------------
    def is_use(self, spec: LayerSpec) -> bool:
        return isinstance(spec, GenericLayer) and spec.class_name in self.uses

    def use_class(self, spec: LayerSpec, layer: Layer) -> Any:
        """Import the class a `use` names, now that the model is being built."""
        import keras

        assert isinstance(spec, GenericLayer)
        name = spec.class_name
        if name in self.classes:
            return self.classes[name]
        target = self.uses[name]
        module, sep, attr = target.partition(":")
        if not sep:
            module, _, attr = target.rpartition(".")
        span = self.use_spans.get(name, layer.span)
        try:
            cls = attrgetter(attr)(importlib.import_module(module))
        except ImportError as e:
            reason = "" if e.name == module else f" ({e})"  # a module it imports is missing
            raise self._use_error(
                f"cannot import module '{module}' for use \"{target}\"{reason}",
                span,
                "the module must be importable where kspec runs (installed, or on PYTHONPATH)",
            ) from None
        except AttributeError:
            raise self._use_error(
                f"module '{module}' has no '{attr}' for use \"{target}\"",
                span,
                "check the class name after the ':'",
            ) from None
        except Exception as e:  # the module itself raised while importing
            raise self._use_error(
                f"importing '{module}' for use \"{target}\" failed: {type(e).__name__}: {e}",
                span,
                None,
            ) from None
        if not (isinstance(cls, type) and issubclass(cls, keras.layers.Layer)):
            raise self._use_error(
                f"use \"{target}\" names {type(cls).__name__} '{attr}', "
                "not a keras.layers.Layer subclass",
                span,
                None,
            )
        self.classes[name] = cls
        return cls

    def _use_error(self, message: str, span: Span, help: str | None) -> KspecError:
        return KspecError([Diagnostic("use-import", message, span, help=help)], self.sources)

    def error(
        self, e: Exception, at: Layer | Graph, span: Span, call: Call | None = None
    ) -> KspecError:
        """A failure inside Keras, shown at the spec line that asked for it."""
        if isinstance(e, KspecError):
            return e
        if isinstance(at, Graph):
            what, help = f"model '{at.name}'", None
        else:
            what, help = f"{at.class_name} '{at.name}'", _why_unchecked(at, call)
        message = f"Keras cannot build {what}: {keras_message(e)}"
        return KspecError([Diagnostic("keras-error", message, span, help=help)], self.sources)


def _why_unchecked(layer: Layer, call: Call | None) -> str:
    """Why the static check let through what Keras rejects."""
    if isinstance(layer.spec, GenericLayer):
        return f"kspec passes {layer.class_name}'s arguments to Keras as written, unchecked"
    if call is not None and any(t.shape is None for t in call.input_list()):
        return "its input comes from a layer kspec does not check, so its shape was unknown"
    return "kspec's static check accepted this layer; this is a kspec bug, please report it"


def _lookup(value: Tensor | list[Tensor] | None, values: dict[int, Any]) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [values[id(t)] for t in value]
    return values[id(value)]
