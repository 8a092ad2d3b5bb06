"""Steps of a chain as code: layers, shared layers, nested models and block calls.

A mixin of codegen_model.Emitter: each step consumes the Graph's next call and emits one line,
with holes for what differs between runs (names, arguments that read loop variables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kspec.catalog import GenericLayer, LayerSpec
from kspec.catalog.applications.preprocess import PreprocessInput
from kspec.catalog.base import CALL_OPTIONS, STEP_ARGUMENTS
from kspec.catalog.ops_shape import Flip
from kspec.check.evaluate import Scope, block_scope
from kspec.check.graph import Call, Graph, Tensor
from kspec.check.naming import Instances
from kspec.check.values import BlockRef, LayerStep, ModelDef, ModelRef, SharedRef
from kspec.codegen.frame import Frame
from kspec.codegen.irwalk import one, reserve
from kspec.codegen.layerargs import (
    arg_slots,
    call_expr,
    call_name,
    compatible,
    resolved_args,
    written_args,
    written_slots,
)
from kspec.codegen.opexpr import op_expression
from kspec.codegen.paths import script_path
from kspec.codegen.pycode import ArgHole, Ctor, Function, Line, NameHole, Run, Unstructured
from kspec.codegen.pyexpr import Translator
from kspec.codegen.pyliteral import Code, Format, py_literal
from kspec.codegen.pynames import Names
from kspec.diagnostics import Diagnostics
from kspec.syntax import ir


def application_extra(call: Call) -> dict[str, str] | None:
    """What the Keras builder adds to an application's arguments (None for other layers): the
    input shape of `call`, and a weights file relative to the script's folder."""
    spec = call.layer.spec
    if not isinstance(spec, LayerSpec) or not spec.takes_input_shape:
        return None
    first = call.inputs
    if not isinstance(first, Tensor) or first.shape is None:
        raise Unstructured("an application whose input shape is unknown")
    extra = {"input_shape": py_literal(first.shape)}
    weights = getattr(spec, "weights", None)
    if weights not in (None, "imagenet"):
        extra["weights"] = f"str({script_path(str(weights), call.layer.span.path)})"
    return extra


class Steps:
    """Emitter's step methods; the attributes below are Emitter's."""

    frame: Frame
    scope: Scope
    module: Any
    graph: Graph
    fn: Function
    items: list[Any] | None
    prefer: list[str]
    instances: Instances
    shared: dict[int, tuple[str, Ctor, Run, LayerStep, ir.Expr, Line, list[Any]]]
    placed: set[int]

    if TYPE_CHECKING:  # Emitter's and Evaluator's methods

        def eval(self, e: ir.Expr) -> Any: ...
        def translate(self, e: ir.Expr) -> str: ...
        def uses_locals(self, e: ir.Expr) -> bool: ...
        def key(self, *parts: Any) -> tuple[Any, ...]: ...
        def line(
            self,
            key: tuple[Any, ...],
            pieces: list[Any],
            *,
            assigns: str | None = None,
            pure: bool = False,
            optional: NameHole | None = None,
        ) -> Line: ...
        def code_of(self, value: Any, prefer: list[str] | tuple[str, ...] = ()) -> str: ...
        def assign(self, target: list[str], value: Any) -> None: ...
        def next_call(self) -> Call: ...
        def run(self, body: tuple[ir.Stmt, ...]) -> None: ...
        def run_record(self, value: Any) -> Run: ...

    def apply(
        self,
        step: Any,
        expr: ir.Expr,
        value: Any,
        target: list[str],
        prefer: list[str] | tuple[str, ...] = (),
    ) -> Any:
        self.prefer = list(prefer)
        f = self.frame
        if value is None:
            raise Unstructured("no current tensor")
        if isinstance(step, LayerStep) and isinstance(step.spec, PreprocessInput):
            return self.preprocess(step, expr, value, target)
        if isinstance(step, LayerStep):
            call = self.next_call()
            if call.layer.span != step.span or call.node_index != 0 or call.layer.spec != step.spec:
                raise Unstructured("the graph's layer is not this step's")
            if _frozen_application(call):
                raise Unstructured("a frozen application that is not a named layer")
            ctor = self.ctor(step, expr, self.key("ctor", step.span))
            ctor.freeze(call.layer.trainable)
            assert ctor.name is not None
            ctor.name.runs.append(self.run_record(call.layer.name))
            self.record_args(ctor, step, expr, call.layer.spec)
            self.builder_args(ctor, call)
            return self.emit_call(call, [ctor], target)
        if isinstance(step, SharedRef):
            call = self.next_call()
            if call.layer.spec != step.spec:
                raise Unstructured("the graph's layer is not this shared layer")
            if id(step.layer) not in self.shared:
                raise Unstructured("a shared layer from another body")
            var, ctor, run, decl, decl_expr, line, where = self.shared[id(step.layer)]
            if run.prefix != f.prefix:
                raise Unstructured("a shared layer used outside the body that declares it")
            if call.node_index == 0:
                frozen_application = _frozen_application(call)
                if not frozen_application:
                    ctor.freeze(call.layer.trainable)
                assert ctor.name is not None
                ctor.name.runs.append(Run(call.layer.name, run.prefix, run.index))
                self.record_args(ctor, decl, decl_expr, call.layer.spec)
                self.builder_args(ctor, call)
                if frozen_application:
                    if self.items is not None:
                        raise Unstructured("a frozen application in a Sequential list")
                    if where is not f.into[-1]:
                        raise Unstructured("a frozen application declared in another body")
                if self.items is not None and len(call.layer.calls) == 1 and where is f.into[-1]:
                    # Made in the Sequential list, where the builder makes it: a seeded layer
                    # before it (RandomFlip) draws its seed first, so the weights agree.
                    where.remove(line)
                    self.placed.add(id(line))
                    return self.emit_call(call, [ctor], target)
                if where is f.into[-1] and id(line) not in self.placed:
                    # Made where it is first used, as the Keras builder makes it: layers draw
                    # their initializers' seeds as they are made, so seeded weights agree.
                    where.remove(line)
                    where.append(line)
                    self.placed.add(id(line))
                if frozen_application:
                    # keras.applications constructors take no trainable argument
                    self.line(self.key("freeze", call.layer.span), [f"{var}.trainable = False"])
            return self.emit_call(call, [var], target)
        if isinstance(step, BlockRef):
            return self.block(step, expr, value, target)
        if isinstance(step, ModelDef | ModelRef):
            call = self.next_call()
            name = step.model.name if isinstance(step, ModelDef) else step.name
            if not isinstance(call.layer.spec, Graph) or call.layer.name != name:
                raise Unstructured("the graph's nested model is not this one")
            if f.fn is not self.fn:
                raise Unstructured("a nested model used inside a block")
            var = self.module.nested_model(
                self, call.layer.spec, call.layer.name, trainable=call.layer.trainable
            )
            return self.emit_call(call, [var], target)
        raise Unstructured(f"unknown step {type(step).__name__}")

    def preprocess(self, step: LayerStep, expr: ir.Expr, value: Any, target: list[str]) -> Any:
        """PreprocessInput as the checker spelt it: `keras.ops.flip` for Caffe's RGB -> BGR,
        then the Rescaling (or Identity) with its resolved arguments."""
        f = self.frame
        spec = step.spec
        assert isinstance(spec, PreprocessInput)
        if f.loops:
            raise Unstructured("PreprocessInput in a loop")
        if spec.flips_channels:
            call = self.next_call()
            if not isinstance(call.layer.spec, Flip) or call.layer.span != step.span:
                raise Unstructured("the graph's flip is not this step's")
            if self.items is not None or f.sequential is not None:
                raise Unstructured("an operation in a Sequential list")
            code = op_expression(
                call.layer.spec, [self.code_of(t, self.prefer) for t in call.input_list()]
            )
            self.line(
                self.key("flip", step.span), [", ".join(target), " = ", code], assigns=one(target)
            )
            self.assign(target, call.outputs[0])
            self.prefer = list(target)
        call = self.next_call()
        layer = spec.layer()
        if call.layer.span != step.span or call.layer.spec != layer:
            raise Unstructured("the graph's layer is not this step's")
        values, present = resolved_args(layer)
        args = [
            (kw, ArgHole(None, False, slot, runs=[(values[slot], kw is None or slot in present)]))
            for kw, slot in arg_slots(layer)
        ]
        given = written_args(spec, call_expr(expr)).get("name")
        name = NameHole(given=self.given_name(given) if given is not None else None)
        name.runs.append(self.run_record(call.layer.name))
        ctor = Ctor(self.module.classes.layer(layer), args, name, self.module.classes.literal)
        f.fn.nodes[self.key("ctor", step.span)] = ctor  # so Keras's automatic name goes unwritten
        return self.emit_call(call, [ctor], target)

    def emit_call(self, call: Call, callee: list[Any], target: list[str]) -> Any:
        f = self.frame
        spec = call.layer.spec
        if self.items is not None:
            self.items.extend([", ", *callee])
        elif f.sequential is not None:
            self.line(self.key("call", call.layer.span), [f"{f.sequential}.append(", *callee, ")"])
        else:
            args = self.call_args(call, spec)
            self.line(
                self.key("call", call.layer.span),
                [", ".join(target), " = ", *callee, f"({args})"],
                assigns=one(target),
            )
        result: Any = (
            list(call.outputs) if call.multi_output or len(call.outputs) > 1 else call.outputs[0]
        )
        if f.sequential is None:
            self.assign(target, result)
        return result

    def builder_args(self, ctor: Ctor, call: Call) -> None:
        """What the Keras builder adds to an application's arguments: the input shape, and a
        weights file relative to the script's folder (written next to the spec)."""
        extra = application_extra(call)
        if extra is None:
            return
        if ctor.extra and ctor.extra != extra:
            raise Unstructured("an application built for different inputs in different runs")
        ctor.extra = extra

    def call_args(self, call: Call, spec: Any) -> str:
        """How the Keras builder calls the layer: one tensor, a list, or unpacked (attention)."""
        tensors = [f"{k}={self.code_of(v)}" for k, v in call.tensors.items()]
        tensors += [f"{k}={py_literal(v)}" for k, v in call.options.items()]
        if isinstance(spec, LayerSpec) and spec.unpacks(call.inputs):
            return ", ".join([*(self.code_of(t, self.prefer) for t in call.inputs), *tensors])
        return ", ".join([self.code_of(call.inputs, self.prefer), *tensors])

    def ctor(self, step: LayerStep, expr: ir.Expr, key: tuple[Any, ...]) -> Ctor:
        fn = self.frame.fn
        ctor = fn.nodes.get(key)
        if ctor is not None:
            return ctor  # type: ignore[no-any-return]
        call = call_expr(expr)
        written = written_args(step.spec, call)
        args: list[tuple[str | None, ArgHole]] = []
        for keyword, slot in written_slots(step.spec, call):
            w = written.get(slot)
            hole = ArgHole(
                self.try_translate(w),
                w is not None and self.uses_locals(w),
                slot,
                in_spec=w is not None,
            )
            args.append((keyword, hole))
        given = written.get("name")
        name = NameHole(
            given=self.given_name(given) if given is not None else None,
            loops=tuple(node for node, _ in self.frame.loops),
        )
        ctor = Ctor(self.module.classes.layer(step.spec), args, name, self.module.classes.literal)
        fn.nodes[key] = ctor
        return ctor

    def try_translate(self, e: ir.Expr | None) -> str | None:
        if e is None:
            return None
        try:
            return self.translate(e)
        except Unstructured:
            return None

    def given_name(self, e: ir.Expr) -> Any:
        """A name= as the script writes it: a string, an f-string, or an expression."""
        if isinstance(e, ir.Literal) and isinstance(e.value, str):
            return e.value
        parts = self.format_parts(e)
        if parts is not None:
            return parts[0] if len(parts) == 1 else Format(tuple(parts))
        return Code(Translator(self).code(e, 15))

    def format_parts(self, e: ir.Expr) -> list[str | Code] | None:
        """`"d" + str(i)` as f-string parts ("d", i); None for anything else."""
        if isinstance(e, ir.Literal) and isinstance(e.value, str):
            return [e.value]
        if isinstance(e, ir.Binary) and e.op == "+":
            left, right = self.format_parts(e.left), self.format_parts(e.right)
            return left + right if left is not None and right is not None else None
        inner = (
            e.args[0].value
            if isinstance(e, ir.Call)
            and e.func == "str"
            and len(e.args) == 1
            and "str" not in self.frame.scope.locals
            else e
        )
        value = self.eval(inner)
        if inner is not e or isinstance(value, str):
            if not isinstance(value, int | float | str) or isinstance(value, bool):
                return None
            code = Translator(self).code(inner, 15)
            return [Code(code)] if code.isidentifier() or inner is not e else None
        return None

    def record_args(self, ctor: Ctor, step: LayerStep, expr: ir.Expr, resolved: Any) -> None:
        """One run of each argument hole: the resolved value, and whether the written one agrees."""
        call = call_expr(expr)
        written = written_args(step.spec, call)
        values, present = resolved_args(resolved)
        params = resolved.params() if not isinstance(resolved, GenericLayer) else {}
        for keyword, hole in ctor.args:
            value = values[hole.slot]
            hole.runs.append((value, keyword is None or hole.slot in present))
            w = written.get(hole.slot)
            if w is not None and hole.written is not None:
                if hole.local and self.try_translate(w) != hole.written:
                    raise Unstructured("an argument cannot be written the same way in every run")
                raw = self.eval(w)
                raw = raw.spec if isinstance(raw, LayerStep) else raw
                if not compatible(raw, value, params.get(hole.slot)):
                    hole.written_ok = False
        if ctor.name is not None and ctor.name.given is not None:
            if self.given_name(written["name"]) != ctor.name.given:
                raise Unstructured("a name cannot be written the same way in every run")
            full = call_name(self.frame.prefix, self.eval(written["name"]))
            if full != ctor.name.runs[-1].value:
                raise Unstructured("a given name did not become the layer's name")

    # -- blocks -----------------------------------------------------------------------------
    def block(self, ref: BlockRef, expr: ir.Expr, value: Any, target: list[str]) -> Any:
        caller = self.frame
        _, prefix = self.instances.prefix(caller.prefix, ref.block.name, ref.instance)
        if self.items is not None:
            raise Unstructured("a block in a Sequential list")
        bf = self.block_function(ref, caller.sequential is not None)
        fn, names = bf.fn, bf.names
        call = call_expr(expr)
        hole = caller.fn.nodes.get(self.key("instance", ref.span))
        if hole is None:
            given = next((a.value for a in call.args if a.name == "name"), None) if call else None
            hole = NameHole(
                instance_of=ref.block.name if given is None else None,
                given=self.given_name(given) if given is not None else None,
                loops=tuple(node for node, _ in caller.loops),
            )
            caller.fn.nodes[self.key("instance", ref.span)] = hole
        hole.runs.append(self.run_record(prefix))
        incoming = list(value) if isinstance(value, list | tuple) else [value]
        args = [
            self.translate(a.value)
            if a.name is None
            else f"{names.var(a.name)}={self.translate(a.value)}"
            for a in (call.args if call else ())
            # trainable= and training= reach the block's layers through the checked graph
            if a.name not in ("name", *STEP_ARGUMENTS, *CALL_OPTIONS)
        ]
        if caller.sequential is not None:
            pieces = [f"{fn.name}(", ", ".join([caller.sequential, *args]), ", name=", hole, ")"]
            self.line(self.key("block", ref.span), pieces)
        else:
            inputs = [self.code_of(t, self.prefer) for t in incoming]
            pieces = [
                ", ".join(target),
                f" = {fn.name}(",
                ", ".join([*inputs, *args]),
                ", name=",
                hole,
                ")",
            ]
            self.line(self.key("block", ref.span), pieces, assigns=one(target))
        scope = block_scope(ref, self.module.globals(ref.globals_key), Diagnostics())
        child = Frame(
            fn,
            names,
            prefix,
            scope,
            bf.chain_var,
            bf.model_var,
            into=[fn.body],
            block_inputs=incoming,
        )
        self.frame, self.scope = child, scope
        try:
            self.run(ref.block.body)
            outputs = [v for _, v, _ in child.outputs] or [child.current]
            flat = [t for o in outputs for t in (o if isinstance(o, list) else [o])]
            if caller.sequential is None:
                code = self.code_of(flat[0]) if len(flat) == 1 else self.code_of(flat)
                self.line(("return",), ["return ", code])
        finally:
            self.frame, self.scope = caller, caller.scope
        result = flat[0] if len(flat) == 1 else flat
        if caller.sequential is None:
            self.assign(target, result)
        return result

    def block_function(self, ref: BlockRef, sequential: bool) -> BlockFunction:
        """The function for a block, made on its first use and shared by every instance."""
        key = (id(ref.block), sequential)
        found = self.module.blocks.get(key)
        if found is not None:
            found.users.add(self.graph.name)
            return found  # type: ignore[no-any-return]
        if (id(ref.block), not sequential) in self.module.blocks:
            raise Unstructured("a block used both in a Sequential and in a functional model")
        block = ref.block
        names = Names(parent=self.module.names)
        inputs = [s.name for s in block.body if isinstance(s, ir.Input)]
        for name in [*inputs, *(p.name for p in block.params)]:
            names.var(name)
        reserve(names, block.body)
        model_var = names.fresh("model_layers") if sequential else None
        chain = names.fresh("x", "h", "t")
        prefix = names.fresh("name", "prefix")
        fn = Function(
            self.module.function_names[id(block)],
            [],
            f"Block `{block.name}`: its layers' names start with the instance's, `{prefix}`.",
            prefix_var=prefix,
        )
        outer, outer_scope = self.frame, self.scope
        self.scope = Scope(self.module.globals(ref.globals_key))
        self.frame = Frame(fn, names, "", self.scope, chain)
        try:
            params = [model_var] if model_var else [names.var(n) for n in inputs]
            for p in block.params:
                default = f"={self.translate(p.default)}" if p.default is not None else ""
                params.append(names.var(p.name) + default)
        finally:
            self.frame, self.scope = outer, outer_scope
        fn.params = [*params, "*", prefix]
        found = BlockFunction(fn, names, chain, model_var, {self.graph.name})
        self.module.blocks[key] = found
        return found


@dataclass
class BlockFunction:
    fn: Function
    names: Names
    chain_var: str
    model_var: str | None
    users: set[str]


def _frozen_application(call: Call) -> bool:
    spec = call.layer.spec
    return isinstance(spec, LayerSpec) and spec.takes_input_shape and not call.layer.trainable
