"""A model graph -> readable spec IR: what `kspec import`, from_keras and from_json write.

The graph comes as plain nodes (inputs, calls of layers, outputs) from whichever format was
read. The spec reads like one written by hand: a chain model is one step per line; elsewhere
each run of single-use layers is one chain bound to a name, tensors get names only where the
graph branches, arguments appear only where they differ from Keras's defaults, and a layer
gets `name=` only where kspec's automatic name would differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from kspec.catalog import GenericLayer, LayerSpec
from kspec.catalog.applications.preprocess import PreprocessInput
from kspec.catalog.opbase import OpSpec
from kspec.check.naming import AutoNames, to_snake_case
from kspec.interop.spelling import BUILTINS, KEYWORDS, Values, emit_error, number, strings_in
from kspec.syntax import ir


@dataclass
class InputNode:
    name: str  # the input layer's name
    shape: tuple[int | None, ...]  # without the batch axis
    dtype: str | None  # None for float32
    tensor: str  # the id of the tensor it makes


@dataclass
class LayerNode:
    name: str  # unique in its model
    spec: LayerSpec | None  # None for a nested model
    model: str | None = None  # the nested model's name
    calls: int = 0  # set by ModelNode.add
    trainable: bool = True  # False writes `trainable=false` on the step


@dataclass
class CallNode:
    layer: LayerNode
    inputs: str | list[str]  # tensor ids; a list when the layer is called on a list
    tensors: dict[str, str | list[str]]  # call-time tensor arguments (`initial_state=[h, c]`)
    outputs: list[str]  # tensor ids
    labels: list[str | None] = field(default_factory=list)  # preferred variable names
    options: dict[str, bool] = field(default_factory=dict)  # `training=false`, `use_causal_mask`


@dataclass
class ModelNode:
    name: str
    inputs: list[InputNode] = field(default_factory=list)
    calls: list[CallNode] = field(default_factory=list)  # in an order where inputs come first
    outputs: list[tuple[str, str | None]] = field(default_factory=list)  # (tensor id, name)
    sequential: bool = False  # written as a Keras Sequential model

    def add(self, call: CallNode) -> None:
        call.layer.calls += 1
        self.calls.append(call)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # the grammar's NAME


# -- names -------------------------------------------------------------------------------------
class Names:
    """Identifiers for tensors, shared layers and models, unique and clear of symbols in use."""

    def __init__(self, reserved: Iterable[str]):
        self.used = set(reserved) | KEYWORDS | BUILTINS
        self.made: set[str] = set()

    def make(self, wanted: str) -> str:
        base = re.sub(r"\W", "_", wanted.encode("ascii", "replace").decode()) or "t"
        if base[0].isdigit():
            base = "t" + base
        name, n = base, 1
        while name in self.used:
            name, n = f"{base}_{n}", n + 1
        self.used.add(name)
        self.made.add(name)
        return name


# -- models ------------------------------------------------------------------------------------
@dataclass
class _Chain:
    source: str | list[str]
    steps: list[CallNode]


def write_spec(models: list[ModelNode], items: Iterable[ir.Item] = ()) -> ir.Spec:
    """Models (nested ones before the models that use them) and any other items after them."""
    model_names = Names(())
    renamed = {m.name: model_names.make(m.name) for m in models}
    out: list[ir.Item] = []
    for m in models:
        try:
            out.append(ModelWriter(m, renamed).write())
        except _Clash:  # an output layer's interim automatic name is another layer's name
            out.append(ModelWriter(m, renamed, inline_outputs=False).write())
    return ir.Spec((*out, *items))


class _Clash(Exception):
    pass


class ModelWriter:
    def __init__(self, model: ModelNode, models: dict[str, str], inline_outputs: bool = True):
        self.model = model
        self.allow_inline = inline_outputs
        self.models = models  # model name -> its identifier in the spec
        self.consumers: dict[str, int] = {}
        for call in model.calls:
            for t in _flat(call.inputs, call.tensors):
                self.consumers[t] = self.consumers.get(t, 0) + 1
        for t, _ in model.outputs:
            self.consumers[t] = self.consumers.get(t, 0) + 1
        reserved = set(models.values())
        seen: set[int] = set()  # a big model shares a few specs among thousands of layers
        for call in model.calls:
            spec = call.layer.spec
            if spec is not None and id(spec) not in seen:
                seen.add(id(spec))
                reserved |= {s for s in strings_in(spec) if s.isidentifier()}
        self.calls_of: dict[int, ir.Call] = {}  # id(spec) -> its call, once names are settled
        self.values = Values()
        self.names = Names(reserved)
        self.names.made |= set(models.values())  # a model's name read as a symbol is the model
        self.var: dict[str, str] = {}  # tensor id -> variable
        for node in model.inputs:
            self.var[node.tensor] = self.names.make(node.name)
        self.values.taken = self.names.made  # bare symbols never read as a variable
        self.auto = AutoNames.taken(self.var[n.tensor] for n in model.inputs)
        self.shared: dict[int, str] = {}  # id(LayerNode) -> `layer NAME`
        self.layer_names = {c.layer.name for c in model.calls}
        self.unnamed_outputs: set[str] = set()

    def write(self) -> ir.Model:
        m = self.model
        body: list[ir.Stmt] = []
        for node in m.inputs:
            shape = ir.TupleExpr(
                tuple(ir.Literal(None) if d is None else number(d) for d in node.shape)
            )
            body.append(ir.Input(self.var[node.tensor], shape, node.dtype))
        if self.is_chain():
            for call in m.calls:
                assert call.layer.spec is not None
                body.append(ir.ChainStmt(self.step(call, None)))
            return ir.Model(self.models[m.name], tuple(body))
        for call in m.calls:
            if (
                call.layer.calls > 1
                and call.layer.spec is not None
                and id(call.layer) not in self.shared
            ):
                name = self.names.make(call.layer.name)
                self.shared[id(call.layer)] = name
                body.append(ir.SharedLayer(name, self.values.layer_call(call.layer.spec)))
        chains = self.chains()
        inline = self.inline_outputs(chains)
        for chain in chains:
            body.append(self.statement(chain, inline))
        for t, _ in m.outputs:
            if t not in inline:
                body.append(ir.Output(None, ir.Name(self.var[t])))
        return ir.Model(self.models[m.name], tuple(body))

    def is_chain(self) -> bool:
        """One input, one output, every layer a plain step on the one before: a chain model."""
        m = self.model
        if len(m.inputs) != 1 or len(m.outputs) != 1 or not m.calls:
            return False
        prev = m.inputs[0].tensor
        for call in m.calls:
            plain = call.layer.spec is not None and call.layer.calls == 1 and not call.tensors
            if isinstance(call.layer.spec, OpSpec):
                return False
            if (
                not plain
                or call.inputs != prev
                or len(call.outputs) != 1
                or self.consumers[prev] != 1
            ):
                return False
            spec = call.layer.spec
            if spec is not None and (spec.takes_list or spec.call_inputs):
                return False
            prev = call.outputs[0]
        return prev == m.outputs[0][0]

    def chains(self) -> list[_Chain]:
        chains: list[_Chain] = []
        open_tail: dict[str, _Chain] = {}
        for call in self.model.calls:
            t = call.inputs
            if isinstance(call.layer.spec, OpSpec):  # an expression, not a step: its own line
                chains.append(_Chain(call.inputs, [call]))
                continue
            if (
                isinstance(t, str)
                and not call.tensors
                and self.consumers.get(t) == 1
                and t in open_tail
            ):
                chain = open_tail.pop(t)
                chain.steps.append(call)
            else:
                chain = _Chain(call.inputs, [call])
                chains.append(chain)
            if len(call.outputs) == 1:
                open_tail[call.outputs[0]] = chain
        for chain in chains:  # name what the rest of the model refers to
            last = chain.steps[-1]
            for i, t in enumerate(last.outputs):
                if len(last.outputs) > 1 or self.consumers.get(t, 0):
                    label = last.labels[i] if i < len(last.labels) and last.labels[i] else None
                    self.var[t] = self.names.make(label or _tensor_name(last, i))
        return chains

    def inline_outputs(self, chains: list[_Chain]) -> set[str]:
        """Outputs written `output NAME = chain`: in order, each the only use of its own layer."""
        outputs = self.model.outputs
        order = []
        if not self.allow_inline:
            return set()
        for chain in chains:
            last = chain.steps[-1]
            t = last.outputs[0]
            named = [name for out, name in outputs if out == t]
            if named and isinstance(last.layer.spec, OpSpec):
                return set()  # `output y = a + b` would rename the operation
            if len(last.outputs) == 1 and named and self.consumers[t] == 1:
                plain = last.layer.spec is not None and last.layer.calls == 1
                if named[0] not in (None, last.layer.name):
                    return set()
                order.append(t)
                if not plain or named[0] is None or not _NAME.fullmatch(named[0]):
                    # `output chain`: the layer keeps its name (a string, where not a NAME)
                    self.unnamed_outputs.add(t)
        return set(order) if order == [t for t, _ in outputs] else set()

    def statement(self, chain: _Chain, inline: set[str]) -> ir.Stmt:
        last = chain.steps[-1]
        output_layer = last.layer if last.outputs[0] in inline else None
        if last.outputs[0] in self.unnamed_outputs:
            output_layer = None
        source = chain.source
        if isinstance(last.layer.spec, OpSpec):
            expr = self.operation(last, last.layer.spec)
            if len(last.outputs) > 1:
                return ir.Bind(tuple(self.var[t] for t in last.outputs), expr)
            if last.outputs[0] in self.var:
                return ir.Bind((self.var[last.outputs[0]],), expr)
            return ir.ChainStmt(expr)
        src: ir.Expr = (
            ir.ListExpr(tuple(ir.Name(self.var[t]) for t in source))
            if isinstance(source, list)
            else ir.Name(self.var[source])
        )
        value = ir.Chain((src, *(self.step(c, output_layer) for c in chain.steps)))
        if output_layer is not None:
            return ir.Output(output_layer.name, value)
        if last.outputs[0] in inline:
            return ir.Output(None, value)
        if len(last.outputs) > 1:
            return ir.Bind(tuple(self.var[t] for t in last.outputs), value)
        if last.outputs[0] in self.var:
            return ir.Bind((self.var[last.outputs[0]],), value)
        return ir.ChainStmt(value)

    def step(self, call: CallNode, output_layer: LayerNode | None) -> ir.Expr:
        layer = call.layer
        if layer.spec is None:
            assert layer.model is not None
            self.auto.used.add(self.models[layer.model])
            if call.tensors:
                raise emit_error(f"model '{layer.name}' is called with tensor arguments")
            return _with_options(self.models[layer.model], call)
        if id(layer) in self.shared:
            if call.tensors:
                raise emit_error(
                    f"shared layer '{layer.name}' is called with tensor arguments",
                    help="kspec's shared layers take only their input",
                )
            self.auto.used.add(self.shared[id(layer)])
            return _with_options(self.shared[id(layer)], call)
        extra = [ir.Arg(k, self.tensor_expr(v)) for k, v in call.tensors.items()]
        extra += [ir.Arg(k, ir.Literal(v)) for k, v in call.options.items()]
        if not layer.trainable:
            extra.append(ir.Arg("trainable", ir.Literal(False)))
        base = to_snake_case(_class_of(layer.spec))
        if layer is output_layer:  # kspec names it automatically, then renames it to the output
            interim, _ = self.auto.peek(base)
            if interim in self.layer_names - {layer.name}:
                raise _Clash()
            self.auto.take(base, interim)
        elif not self.auto.take(base, layer.name):
            extra.insert(0, ir.Arg("name", ir.Literal(layer.name)))
        made = self.calls_of.get(id(layer.spec))
        if made is None:
            made = self.calls_of[id(layer.spec)] = self.values.layer_call(layer.spec)
        return ir.Call(made.func, (*made.args, *extra)) if extra else made

    def operation(self, call: CallNode, spec: OpSpec) -> ir.Expr:
        """`a + 3`, `ops.sum(x, axis=-1)`: the expression that makes this operation node."""
        self.auto.take(to_snake_case(spec.layer_name()), call.layer.name)  # ops take no name=
        tensors = [call.inputs] if isinstance(call.inputs, str) else list(call.inputs)
        names = [ir.Name(self.var[t]) for t in tensors]
        operands: list[ir.Expr]
        if spec.list_operand:
            operands = [ir.ListExpr(tuple(names))]
        else:
            scalars = dict(spec.scalars)
            rest = iter(names)
            count = len(names) + len(scalars)
            operands = [
                self.values.expr(scalars[i]) if i in scalars else next(rest) for i in range(count)
            ]
        if spec.written_as_operator and spec.operator is not None:
            if len(operands) == 1:
                return ir.Unary("-", operands[0])
            return ir.Binary(spec.operator, operands[0], operands[1])
        kwargs = spec.keras_kwargs()
        head = (
            [ir.Arg(None, self.values.expr(kwargs.pop("subscripts")))]
            if "subscripts" in kwargs
            else []
        )
        args = [*head, *(ir.Arg(None, o) for o in operands)]
        args += [ir.Arg(k, self.values.expr(v)) for k, v in kwargs.items()]
        return ir.Call(spec.op_name(), tuple(args))

    def tensor_expr(self, value: str | list[str]) -> ir.Expr:
        if isinstance(value, list):
            return ir.ListExpr(tuple(ir.Name(self.var[t]) for t in value))
        return ir.Name(self.var[value])


def _with_options(name: str, call: CallNode) -> ir.Expr:
    """A model or shared layer as a step: `base`, or `base(training=false)`."""
    args = [ir.Arg(k, ir.Literal(v)) for k, v in call.options.items()]
    if not call.layer.trainable:
        args.insert(0, ir.Arg("trainable", ir.Literal(False)))
    return ir.Call(name, tuple(args)) if args else ir.Name(name)


def _flat(inputs: str | list[str], tensors: dict[str, str | list[str]]) -> list[str]:
    out = [inputs] if isinstance(inputs, str) else list(inputs)
    for value in tensors.values():
        out += [value] if isinstance(value, str) else value
    return out


def _class_of(spec: LayerSpec) -> str:
    """The class whose automatic name the step's layer gets (PreprocessInput's: Rescaling)."""
    if isinstance(spec, PreprocessInput):
        return spec.layer().layer_name()
    return spec.class_name if isinstance(spec, GenericLayer) else spec.layer_name()


def _tensor_name(call: CallNode, index: int) -> str:
    return call.layer.name if len(call.outputs) == 1 else f"{call.layer.name}_{index}"
