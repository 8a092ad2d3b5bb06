"""Model and block bodies -> Graph: statements, chains, the current tensor, blocks, naming."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kspec.catalog import (
    GenericLayer,
    LayerSpec,
    ParamError,
    Params,
    ShapeError,
    keras_class_of,
    lookup,
)
from kspec.catalog import names as keras_names
from kspec.catalog.applications.preprocess import PreprocessInput
from kspec.catalog.opbase import OpSpec, result_dtype
from kspec.catalog.ops_shape import Flip, Split
from kspec.catalog.shapes import show
from kspec.check import ops as check_ops
from kspec.check.evaluate import POISON, Evaluator, Scope, Skip, _arg_span, spec_text
from kspec.check.graph import Binding, BlockUse, Call, Graph, Layer, Tensor
from kspec.check.naming import AutoNames, Instances, prefixed, to_snake_case
from kspec.check.values import (
    BlockRef,
    LayerStep,
    ModelDef,
    ModelRef,
    Options,
    SharedRef,
    describe_value,
    is_step,
    is_tensors,
)
from kspec.diagnostics import Diagnostics, suggest
from kspec.limits import MAX_LAYERS, MAX_NESTING
from kspec.source import Span
from kspec.syntax import ir


@dataclass
class ModelState:
    """Shared by a model's body and every block instance expanded into it."""

    graph: Graph
    names: AutoNames = field(default_factory=AutoNames)
    consumed: set[int] = field(default_factory=set)  # id() of tensors fed to some call
    instances: Instances = field(default_factory=Instances)

    @property
    def used_names(self) -> set[str]:
        return self.names.used

    def unique(self, base: str) -> str:
        return self.names.unique(base)


class ModelChecker(Evaluator):
    """Runs a model or block body, building the model's Graph as it goes."""

    def __init__(
        self,
        diags: Diagnostics,
        scope: Scope,
        state: ModelState,
        resolver: Any,
        prefix: str = "",
        blocks: tuple[str, ...] = (),
        path: tuple[str, ...] = (),
    ):
        super().__init__(diags, scope)
        self.state = state
        self.resolver = resolver  # the file checker: block scopes and nested model graphs
        self.prefix = prefix
        self.blocks = blocks  # names of the blocks being expanded, for recursion errors
        self.block_path = path
        self.current: Any = None
        self.outputs: list[tuple[str | None, Any, Span]] = []
        self.block_inputs: list[Any] | None = None  # tensors a block instance receives
        self.bound_at: dict[str, tuple[Any, Span]] = {}
        self.chain_results: list[tuple[Any, Span]] = []  # of bare chain statements
        self.frozen = False  # inside a block instance called with trainable=false
        self.options: Options = ()  # call arguments of the enclosing block calls (training=)

    @property
    def graph(self) -> Graph:
        return self.state.graph

    # -- statements -------------------------------------------------------------------
    def run(self, body: tuple[ir.Stmt, ...]) -> None:
        for stmt in body:
            try:
                self.spend(1, stmt.span)
                self.statement(stmt)
            except Skip:
                self.graph.complete = False
                for target in _targets(stmt):
                    self.scope.locals[target] = POISON
                if _sets_current(stmt):  # later bare steps would continue from the wrong tensor
                    self.current = POISON

    def statement(self, s: ir.Stmt) -> None:
        match s:
            case ir.Input():
                self.input(s)
            case ir.Bind(targets, value):
                result = self.value(value, s.span)
                self.bind(targets, result, s)
            case ir.ChainStmt(value):
                result = self.value(value, s.span)
                if not is_tensors(result):
                    raise self.error(
                        f"this statement computes {describe_value(result)} and has no effect",
                        s.span,
                        "no-effect",
                        help="a statement in a model is a chain of layers",
                    )
                self.current = result
                self.chain_results.append((result, s.span))
            case ir.Output(name, value):
                result = self.value(value, s.span)
                if not is_tensors(result):
                    raise self.error(
                        f"an output must be a tensor, got {describe_value(result)}",
                        value.span,
                        "wrong-kind",
                    )
                self.outputs.append((name, result, s.span))
                self.current = result
            case ir.SharedLayer(name, value):
                step = self.eval(value)
                if isinstance(step, ModelDef):  # `layer base = encoder(trainable=false)`
                    self.scope.locals[name] = step
                    self.graph.step_names[name] = step.model.name
                    return
                if not isinstance(step, LayerStep):
                    raise self.error(
                        f"a shared layer must be a layer call, got {describe_value(step)}",
                        value.span,
                        "wrong-kind",
                        help=f"layer {name} = Dense(64)",
                    )
                self.scope.locals[name] = SharedRef(
                    name, step.spec, s.span, trainable=step.trainable, options=step.options
                )
                self.bound_at[name] = (self.scope.locals[name], s.span)
                self.record(name, self.scope.locals[name], s.span)
            case ir.ForLoop(targets, iterable, body):
                items = self.eval(iterable)
                if isinstance(items, dict):
                    items = list(items)
                if not isinstance(items, list | tuple):
                    raise self.error(
                        f"a for loop needs a list, tuple or range, got {describe_value(items)}",
                        iterable.span,
                        "wrong-kind",
                    )
                for item in items:
                    if self.budget.stopped:  # a limit was hit inside: unroll no further
                        raise Skip()
                    self.bind_loop(targets, item, s)
                    self.run(body)
            case ir.IfElse(test, body, orelse):
                self.run(body if self.truth(self.eval(test), test) else orelse)
            case _:
                raise AssertionError(f"unhandled statement {s!r}")

    def value(self, e: ir.Expr, span: Span) -> Any:
        """A statement's right side: a bare step applies to the current tensor."""
        result = self.eval(e)
        if is_step(result):
            result = self.apply(result, self.current_for(e.span), e.span)
        return result

    def current_for(self, span: Span) -> Any:
        if self.current is POISON:
            raise Skip()  # the statement that made it failed and has been reported
        if self.current is None:
            raise self.error(
                "there is no current tensor to continue from",
                span,
                "no-current",
                help="start the chain with a tensor: x -> ..., or declare an input first",
            )
        return self.current

    def bind(self, targets: tuple[str, ...], result: Any, s: ir.Bind) -> None:
        if len(targets) == 1:
            self.scope.locals[targets[0]] = result
            self.bound_at[targets[0]] = (result, s.span)
            self.record(targets[0], result, s.span)
            if is_tensors(result):
                self.current = result
                _label(result, targets[0])
            return
        if not isinstance(result, list | tuple) or len(result) != len(targets):
            got = describe_value(result)
            help_ = (
                f"write {len(result)} names, one per tensor"
                if is_tensors(result)
                else "a layer with several outputs, e.g. LSTM(64, return_state=true), "
                "gives one tensor per name"
            )
            raise self.error(
                f"cannot unpack {got} into {len(targets)} names",
                s.span,
                "unpack-mismatch",
                help=help_,
            )
        for name, item in zip(targets, result, strict=True):
            self.scope.locals[name] = item
            self.bound_at[name] = (item, s.span)
            self.record(name, item, s.span)
            if isinstance(item, Tensor):
                _label(item, name)
        if is_tensors(result):
            self.current = result[0]

    def record(self, name: str, value: Any, span: Span) -> None:
        self.graph.bindings.append(Binding(name, span, value, self.block_path))

    def bind_loop(self, targets: tuple[str, ...], item: Any, s: ir.ForLoop) -> None:
        if len(targets) == 1:
            self.scope.locals[targets[0]] = item
            return
        if not isinstance(item, list | tuple) or len(item) != len(targets):
            raise self.error(
                f"cannot unpack {describe_value(item)} into {len(targets)} names",
                s.span,
                "unpack-mismatch",
            )
        for name, v in zip(targets, item, strict=True):
            self.scope.locals[name] = v

    def input(self, s: ir.Input) -> None:
        if self.block_inputs is not None:  # a block's input binds the next incoming tensor
            if not self.block_inputs:
                raise self.error(
                    f"block input '{s.name}' receives no tensor", s.span, "block-inputs"
                )
            tensor = self.block_inputs.pop(0)
            if s.shape is not None:
                self.check_declared_shape(tensor, self.input_shape(s), s)
            self.scope.locals[s.name] = tensor
            self.record(s.name, tensor, s.span)
            self.current = tensor
            return
        if s.shape is None:
            raise self.error(
                f"input '{s.name}' needs a shape in a model",
                s.span,
                "missing-shape",
                help=f"input {s.name}: (28, 28, 1)  (without the batch axis)",
            )
        shape = self.input_shape(s)
        dtype = s.dtype
        if dtype is not None and dtype not in keras_names.DTYPES:
            where = s.span  # the dtype ends the statement: point at it
            if where.end_line == where.line:
                where = replace(where, column=where.end_column - len(dtype))
            raise self.error(
                f"unknown dtype '{dtype}'",
                where,
                "bad-choice",
                help=suggest(dtype, keras_names.DTYPES),
            )
        if s.name in self.state.used_names:
            raise self.error(
                f"'{s.name}' is already a layer name in this model", s.span, "duplicate-name"
            )
        self.state.used_names.add(s.name)
        layer = Layer(s.name, None, s.span, Params(), input_shape=shape, dtype=dtype)
        call = Call(layer, 0, None, {}, [], s.span)
        tensor = Tensor(call, 0, shape, label=s.name, dtype=dtype or "float32")
        call.outputs.append(tensor)
        layer.calls.append(call)
        self.graph.layers.append(layer)
        self.graph.calls.append(call)
        self.graph.inputs.append(tensor)
        self.scope.locals[s.name] = tensor
        self.bound_at[s.name] = (tensor, s.span)
        self.record(s.name, tensor, s.span)
        self.current = tensor if len(self.graph.inputs) == 1 else None

    def input_shape(self, s: ir.Input) -> tuple[int | None, ...]:
        assert s.shape is not None
        shape = self.eval(s.shape)
        if isinstance(shape, int) and not isinstance(shape, bool):
            shape = (shape,)
        if not isinstance(shape, tuple | list) or not all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 1) for d in shape
        ):
            raise self.error(
                f"an input shape is a tuple of positive integers or none, got "
                f"{describe_value(shape)}",
                s.shape.span,
                "bad-shape",
                help="e.g. (28, 28, 1) or (none, 64), without the batch axis",
            )
        return tuple(shape)

    def check_declared_shape(
        self, tensor: Tensor, declared: tuple[int | None, ...], s: ir.Input
    ) -> None:
        got = tensor.shape
        if got is None:
            return
        if len(got) != len(declared) or any(
            d is not None and g is not None and d != g for d, g in zip(declared, got, strict=False)
        ):
            raise self.error(
                f"block input '{s.name}' expects {show(declared)}, got {show(got)}",
                s.span,
                "shape-mismatch",
            )

    # -- chains and steps -------------------------------------------------------------
    def chain(self, e: ir.Chain) -> Any:
        first, *rest = e.items
        head = self.eval(first)
        if is_step(head):
            value = self.apply(head, self.current_for(first.span), first.span)
        elif is_tensors(head):
            value = list(head) if isinstance(head, list | tuple) else head
        elif isinstance(head, str) and isinstance(first, ir.Name):
            tensors = [n for n, v in self.scope.locals.items() if is_tensors(v)]
            raise self.error(
                f"undefined tensor '{head}'",
                first.span,
                "undefined-tensor",
                help=suggest(head, tensors) or _known(tensors),
            )
        else:
            raise self.error(
                f"a chain starts with a tensor, a list of tensors or a layer, "
                f"got {describe_value(head)}",
                first.span,
                "bad-chain",
            )
        for item in rest:
            step = self.eval(item)
            if not is_step(step):
                if isinstance(step, str) and isinstance(item, ir.Name):
                    if lookup(step) is not None or step in keras_names.KERAS_LAYERS:
                        raise self.error(
                            f"'{step}' must be called to be a step",
                            item.span,
                            "not-a-step",
                            help=f"write {step}()",
                        )
                    steps = [n for n, v in self.scope.locals.items() if isinstance(v, SharedRef)]
                    raise self.error(
                        f"unknown step '{step}'",
                        item.span,
                        "unknown-name",
                        help=suggest(step, steps)
                        or "a step is a layer call, a block call, a shared layer or a model",
                    )
                raise self.error(
                    f"a chain step must be a layer, block, shared layer or model, got "
                    f"{describe_value(step)}",
                    item.span,
                    "not-a-step",
                )
            value = self.apply(step, value, item.span)
        return value

    def apply(self, step: Any, value: Any, span: Span) -> Any:
        if len(self.graph.calls) > MAX_LAYERS:
            raise self.stop(
                f"the model unrolls to more than {MAX_LAYERS:,} layers", span, "too-large"
            )
        if isinstance(step, LayerStep | SharedRef) and isinstance(step.spec, PreprocessInput):
            value, step = self.preprocess(step, value, span)
        if isinstance(step, LayerStep):
            layer = Layer(
                self.layer_name(step.spec, step.name, step.span, value=value),
                step.spec,
                step.span,
                block_path=self.block_path,
                trainable=step.trainable and not self.frozen,
            )
            options = self.call_options(step.options)
            return self.call_layer(layer, step.spec, value, step.tensors, step.span, options, True)
        if isinstance(step, SharedRef):
            options = self.call_options(step.options)
            if not step.layer:
                layer = Layer(
                    self.layer_name(step.spec, None, step.span, shared=step.name),
                    step.spec,
                    step.span,
                    trainable=step.trainable is not False and not self.frozen,
                )
                step.layer.append(layer)
                return self.call_layer(layer, step.spec, value, step.tensors, span, options, True)
            self.same_trainable(step.layer[0], step.trainable, step.name, span)
            return self.call_layer(
                step.layer[0], step.spec, value, step.tensors, span, options, False
            )
        if isinstance(step, BlockRef):
            return self.expand(step, value, span)
        if isinstance(step, ModelDef):
            trainable, options = step.trainable, self.call_options(step.options)
            return self.call_model(
                self.resolver.model_ref(step, span), value, span, trainable, options
            )
        if isinstance(step, ModelRef):
            return self.call_model(step, value, span, None, self.call_options(()))
        raise AssertionError(step)

    def preprocess(
        self, step: LayerStep | SharedRef, value: Any, span: Span
    ) -> tuple[Any, LayerStep | SharedRef]:
        """PreprocessInput spelt out in Keras's layers: ops.flip for Caffe's RGB -> BGR, then
        the per-channel Rescaling (or an Identity), which takes the step's name."""
        spec = step.spec
        assert isinstance(spec, PreprocessInput)
        if isinstance(value, Tensor) and value.shape is not None:
            try:
                spec.compute_output_shape(value.shape)
            except ShapeError as err:
                raise self.error(err.message, span, "shape-error", help=err.help) from None
        if spec.flips_channels and isinstance(value, Tensor):
            value = self.apply_op(Flip, [value], {"axis": -1}, span)
        return value, replace(step, spec=spec.layer())

    def apply_op(
        self,
        cls: type[OpSpec],
        operands: list[Any],
        params: dict[str, Any],
        span: Span,
        *,
        operator: bool = False,
        call: ir.Call | None = None,
    ) -> Any:
        """An operation node (`x + 3`, `ops.sum(x, axis=-1)`): tensors in, scalars kept."""
        tensors: list[Tensor] = []
        scalars: list[tuple[int, Any]] = []
        dtypes: list[Any] = []
        shown = f"'{cls.operator}'" if operator else cls.op_name()
        for i, value in enumerate(operands):
            if cls.list_operand:
                items = value if isinstance(value, list | tuple) else [value]
                if not items or not all(isinstance(t, Tensor) for t in items):
                    raise self.error(
                        f"{shown} takes a list of tensors, got {describe_value(value)}",
                        _operand_span(call, i, span),
                        "wrong-kind",
                        help=f"{cls.op_name()}([a, b], axis=-1)",
                    )
                tensors.extend(items)
                dtypes.extend(t.dtype for t in items)
            elif isinstance(value, Tensor):
                tensors.append(value)
                dtypes.append(value.dtype)
            elif cls.scalar_operands and check_ops.constant_operand(value):
                scalars.append((i, value))
                dtypes.append(value)
            else:
                raise self.error(
                    f"{shown} takes a tensor here, got {describe_value(value)}",
                    _operand_span(call, i, span),
                    "wrong-kind",
                )
        if not tensors:
            raise self.error(
                f"{shown} needs at least one tensor; plain numbers are computed with the spec's "
                "own operators and built-ins",
                span,
                "wrong-kind",
            )
        try:
            spec = cls.create([], params)
        except ParamError as err:
            where = _arg_span(call, err.arg) if call is not None else span
            raise self.error(err.message, where, err.code, err.help) from None
        spec = replace(spec, scalars=tuple(scalars), written_as_operator=operator)
        layer = Layer(
            self.layer_name(spec, None, span), spec, span, Params(), block_path=self.block_path
        )
        out: Any = None
        dtype: str | None = None
        try:
            dtype = result_dtype(spec, dtypes)
            if all(t.shape is not None for t in tensors):
                out = spec.compute_output_shape([t.shape for t in tensors])
        except ShapeError as err:
            raise self.error(err.message, span, "shape-error", help=err.help) from None
        self.graph.layers.append(layer)
        node = Call(layer, 0, tensors, {}, [], span)
        layer.calls.append(node)
        self.graph.calls.append(node)
        for t in tensors:
            self.state.consumed.add(id(t))
        if isinstance(spec, Split):
            shapes = out if isinstance(out, list) else [None] * _sections(spec)
            node.multi_output = True
            node.outputs.extend(Tensor(node, i, s, dtype=dtype) for i, s in enumerate(shapes))
            return list(node.outputs)
        node.outputs.append(Tensor(node, 0, out, dtype=dtype))
        return node.outputs[0]

    def call_options(self, own: Options) -> dict[str, Any]:
        """A call's non-tensor arguments: its own, else those of the blocks it is expanded in."""
        return {**dict(self.options), **dict(own)}

    def same_trainable(self, layer: Layer, trainable: bool | None, name: str, span: Span) -> None:
        """A Keras layer has one trainable flag, whichever of its calls sets it."""
        if trainable is not None and trainable != layer.trainable:
            raise self.error(
                f"'{name}' is {'frozen' if not layer.trainable else 'trainable'} where it was "
                f"first used; trainable={str(trainable).lower()} here would change every use",
                span,
                "bad-argument",
                help=f"write trainable= once, where '{name}' is declared or first used",
            )

    def layer_name(
        self,
        spec: LayerSpec,
        given: str | None,
        span: Span,
        shared: str | None = None,
        value: Any = None,
    ) -> str:
        if given is not None:
            full = prefixed(self.prefix, given)
            if full in self.state.used_names:
                raise self.error(
                    f"layer name '{full}' is used twice in this model", span, "duplicate-name"
                )
            self.state.used_names.add(full)
            return full
        cls = spec.class_name if isinstance(spec, GenericLayer) else spec.layer_name()
        auto = spec.auto_name(value.shape) if isinstance(value, Tensor) and value.shape else None
        base = shared or auto or to_snake_case(cls)
        return self.state.unique(prefixed(self.prefix, base))

    def layer_input(
        self, spec: LayerSpec, value: Any, tensors: dict[str, Any], span: Span
    ) -> tuple[Tensor | list[Tensor], dict[str, Any]]:
        """Normalize what flows into a layer to the shape its catalog entry takes."""
        name = spec.class_name if isinstance(spec, GenericLayer) else spec.layer_name()
        if spec.call_inputs:
            items = list(value) if isinstance(value, list | tuple) else [value]
            rest = dict(tensors)
            for key in spec.call_inputs[len(items) :]:
                if key in rest:
                    item = rest.pop(key)
                    items.append(item)
            if len(items) > len(spec.call_inputs):
                raise self.error(
                    f"{name} takes at most {len(spec.call_inputs)} tensors "
                    f"({', '.join(spec.call_inputs)}), got {len(items)}",
                    span,
                    "wrong-inputs",
                )
            return items, rest
        if spec.takes_list:
            if not isinstance(value, list | tuple):
                raise self.error(
                    f"{name} takes a list of tensors, got one tensor",
                    span,
                    "wrong-inputs",
                    help=f"[a, b] -> {name}()",
                )
            return list(value), tensors
        if isinstance(value, list | tuple):
            if isinstance(spec, GenericLayer):
                return list(value), tensors
            raise self.error(
                f"{name} takes one tensor, got a list of {len(value)}",
                span,
                "wrong-inputs",
                help="merge them first, e.g. [a, b] -> Concatenate() -> ...",
            )
        return value, tensors

    def call_layer(
        self,
        layer: Layer,
        spec: LayerSpec,
        value: Any,
        tensors: dict[str, Any],
        span: Span,
        options: dict[str, Any],
        new: bool,
    ) -> Any:
        if not spec.is_step:
            name = spec.layer_name()
            raise self.error(
                f"{name} is a recurrent cell, which runs inside a loop, not as a step",
                span,
                "not-a-step",
                help=f"wrap it: RNN({name}(...))",
            )
        if new and not spec.statically_checked:
            self.diags.warning(
                f"{layer.name} ({keras_class_of(spec).rsplit('.', 1)[-1]}) is not statically "
                "checked: shapes and parameter counts after it are unknown",
                span,
                code="unchecked-layer",
                help="Keras learns them when it builds the model; `kspec summary` shows ? for them",
            )
        inputs, tensors = self.layer_input(spec, value, tensors, span)
        flat = inputs if isinstance(inputs, list) else [inputs]
        tflat = [t for v in tensors.values() for t in (v if isinstance(v, list) else [v])]
        known = all(t.shape is not None for t in [*flat, *tflat])
        x: Any = [t.shape for t in inputs] if isinstance(inputs, list) else inputs.shape
        tshapes = {
            k: [t.shape for t in v] if isinstance(v, list) else v.shape for k, v in tensors.items()
        }
        out: Any = None
        params: Params | None = None
        if spec.statically_checked:
            self.check_dtypes(spec, flat, span)
        if known and spec.statically_checked:
            name = spec.layer_name()
            try:
                out = spec.call_output_shape(x, options, **tshapes)
                params = spec.count_params(x, **tshapes)
            except ShapeError as err:
                message = err.message if err.message.startswith(name) else f"{name}: {err.message}"
                shown = show(x) if isinstance(x, tuple) else ", ".join(show(s) for s in x)
                if "(None" not in message and "input_shape=" not in message:
                    message += f" (input {shown})"
                raise self.error(message, span, "shape-error", help=err.help) from None
        if not new:
            if params is not None and layer.params is not None and params != layer.params:
                first = layer.calls[0].inputs
                built = show(first.shape) if isinstance(first, Tensor) else "another shape"
                got = show(x) if isinstance(x, tuple) else ", ".join(show(s) for s in x)
                raise self.error(
                    f"shared layer '{layer.name}' was built for input {built}, got {got}",
                    span,
                    "shape-mismatch",
                    help="a shared layer needs the same input shape at every use",
                )
        else:
            layer.weights = params
            self.graph.layers.append(layer)
        call = Call(layer, len(layer.calls), inputs, tensors, [], span, options=options)
        layer.calls.append(call)
        self.graph.calls.append(call)
        for t in [*flat, *tflat]:
            self.state.consumed.add(id(t))
        dtype = spec.output_dtype(flat[0].dtype) if flat else None
        if isinstance(out, list):
            call.multi_output = True
            call.outputs.extend(Tensor(call, i, s, dtype=dtype) for i, s in enumerate(out))
            return list(call.outputs)
        call.outputs.append(Tensor(call, 0, out, dtype=dtype))
        return call.outputs[0]

    def check_dtypes(self, spec: LayerSpec, inputs: list[Tensor], span: Span) -> None:
        """Strings only into layers that read strings, and the reverse; numbers mix freely."""
        accepted = spec.input_dtypes()
        for t in inputs:
            if t.dtype is None or t.dtype in accepted:
                continue
            name = spec.layer_name()
            what = f" '{t.label}'" if t.label else ""
            if t.dtype == "string":
                raise self.error(
                    f"{name} takes numbers, got the string tensor{what}",
                    span,
                    "dtype-error",
                    help="turn strings into numbers first, e.g. StringLookup(vocabulary=[...]), "
                    "TextVectorization() or Hashing(num_bins=...)",
                )
            declare = "input NAME: (1,) as string"
            if t.layer.is_input and t.layer.input_shape is not None:
                declare = f"input {t.layer.name}: {spec_text(t.layer.input_shape)} as string"
            raise self.error(
                f"{name} takes strings, got the {t.dtype} tensor{what}",
                span,
                "dtype-error",
                help=f"feed it strings: {declare}",
            )

    def expand(self, ref: BlockRef, value: Any, span: Span) -> Any:
        block = ref.block
        if block.name in self.blocks:
            cycle = " -> ".join([*self.blocks[self.blocks.index(block.name) :], block.name])
            raise self.error(
                f"block recursion: {cycle}",
                ref.span,
                "block-recursion",
                help="a block cannot use itself, directly or through other blocks",
            )
        if len(self.blocks) >= MAX_NESTING:
            raise self.error(
                f"blocks are nested more than {MAX_NESTING} deep here",
                ref.span,
                "too-deep",
                help="write some inner blocks out in their callers",
            )
        incoming = list(value) if isinstance(value, list | tuple) else [value]
        n_inputs = sum(1 for s in block.body if isinstance(s, ir.Input))
        if len(incoming) != n_inputs:
            raise self.error(
                f"block {block.name} takes {n_inputs} input tensor"
                f"{'s' if n_inputs != 1 else ''}, got {len(incoming)}",
                span,
                "block-inputs",
            )
        scope = self.resolver.block_scope(ref, self)
        instance, prefix = self.state.instances.prefix(self.prefix, block.name, ref.instance)
        child = ModelChecker(
            self.diags,
            scope,
            self.state,
            self.resolver,
            prefix,
            (*self.blocks, block.name),
            (*self.block_path, instance),
        )
        child.block_inputs = incoming
        child.frozen = self.frozen or not ref.trainable
        child.options = (*self.options, *ref.options)
        s = ref.span
        self.diags.context.append(f"in {ref.text} used at {s.path}:{s.line}:{s.column}")
        try:
            child.run(block.body)
        finally:
            self.diags.context.pop()
        if not child.graph.complete:
            raise Skip()
        outputs = [v for _, v, _ in child.outputs] or (
            [child.current] if child.current is not None else []
        )
        if not outputs:
            raise self.error(f"block {block.name} produces no tensor", ref.span, "no-output")
        child.warn_unused(block_inputs=True)
        flat = [t for o in outputs for t in (o if isinstance(o, list) else [o])]
        self.graph.block_uses.append(BlockUse(span, flat, child.block_path))
        return outputs[0] if len(outputs) == 1 else flat

    def call_model(
        self,
        ref: ModelRef,
        value: Any,
        span: Span,
        trainable: bool | None,
        options: dict[str, Any],
    ) -> Any:
        inner = ref.graph
        incoming = list(value) if isinstance(value, list | tuple) else [value]
        if len(incoming) != len(inner.inputs):
            raise self.error(
                f"model {ref.name} takes {len(inner.inputs)} input(s), got {len(incoming)}",
                span,
                "wrong-inputs",
            )
        for t, expected in zip(incoming, inner.inputs, strict=True):
            if t.dtype and expected.dtype and (t.dtype == "string") != (expected.dtype == "string"):
                raise self.error(
                    f"model {ref.name} expects a {expected.dtype} input, got {t.dtype}",
                    span,
                    "dtype-error",
                )
            if t.shape is None or expected.shape is None:
                continue
            if len(t.shape) != len(expected.shape) or any(
                a is not None and b is not None and a != b
                for a, b in zip(t.shape, expected.shape, strict=True)
            ):
                raise self.error(
                    f"model {ref.name} expects {show(expected.shape)}, got {show(t.shape)}",
                    span,
                    "shape-mismatch",
                )
        new = not ref.layer
        if new:
            if ref.name in self.state.used_names:
                raise self.error(
                    f"layer name '{ref.name}' is used twice in this model", span, "duplicate-name"
                )
            self.state.used_names.add(ref.name)
            frozen = trainable is False or self.frozen
            ref.layer.append(Layer(ref.name, inner, span, inner.params, trainable=not frozen))
            self.graph.layers.append(ref.layer[0])
        else:
            self.same_trainable(ref.layer[0], trainable, ref.name, span)
        layer = ref.layer[0]
        source = incoming if len(incoming) > 1 else incoming[0]
        call = Call(layer, len(layer.calls), source, {}, [], span, options=options)
        layer.calls.append(call)
        self.graph.calls.append(call)
        for t in incoming:
            self.state.consumed.add(id(t))
        call.outputs.extend(
            Tensor(call, i, o.shape, dtype=o.dtype) for i, o in enumerate(inner.outputs)
        )
        call.multi_output = len(inner.outputs) > 1
        return list(call.outputs) if len(call.outputs) > 1 else call.outputs[0]

    # -- end of a body ------------------------------------------------------------------
    def warn_unused(self, *, block_inputs: bool = False) -> None:
        if not self.graph.complete:
            return  # the broken statements may be where the names were meant to be used
        outputs = {id(t) for _, v, _ in self.outputs for t in (v if isinstance(v, list) else [v])}
        if self.current is not None:
            outputs |= {
                id(t) for t in (self.current if isinstance(self.current, list) else [self.current])
            }
        for name, (value, span) in self.bound_at.items():
            if isinstance(value, SharedRef) and not value.layer:
                self.diags.warning(f"shared layer '{name}' is never used", span, code="unused")
            if (
                not isinstance(value, Tensor)
                or id(value) in self.state.consumed
                or id(value) in outputs
            ):
                continue
            what = "input" if value.layer.is_input else "tensor"
            fix = "feed it to a layer, or remove it" if what == "input" else "use it, or remove it"
            self.diags.warning(f"{what} '{name}' is never used", span, code="unused", help=fix)
        for value, span in self.chain_results:  # Keras would leave these layers out of the model
            flat = value if isinstance(value, list) else [value]
            if not any(id(t) in self.state.consumed or id(t) in outputs for t in flat):
                fix = "bind it (y = ...) and use it, or make it an output"
                self.diags.warning(
                    "the result of this chain is never used", span, code="unused", help=fix
                )


def _operand_span(call: ir.Call | None, index: int, span: Span) -> Span:
    if call is not None and index < len(call.args):
        return call.args[index].span
    return span


def _sections(spec: Split) -> int:
    n = spec.indices_or_sections
    return n if isinstance(n, int) else len(n) + 1


def _label(value: Any, name: str) -> None:
    for t in value if isinstance(value, list | tuple) else [value]:
        if isinstance(t, Tensor) and t.label is None:
            t.label = name


def _known(names: list[str]) -> str | None:
    return f"tensors defined here: {', '.join(names)}" if names else None


def _sets_current(s: ir.Stmt) -> bool:
    """Whether a statement would have made a new current tensor, had it not failed."""
    if isinstance(s, ir.Bind):
        return isinstance(s.value, ir.Chain | ir.Call | ir.Cond | ir.Binary | ir.Unary)
    return isinstance(s, ir.ChainStmt | ir.Output | ir.Input)


def _targets(s: ir.Stmt) -> tuple[str, ...]:
    match s:
        case ir.Bind(targets):
            return targets
        case ir.Input(name) | ir.SharedLayer(name):
            return (name,)
    return ()


__all__ = ["ModelChecker", "ModelState", "spec_text"]
