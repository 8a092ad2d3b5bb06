"""A checked model as Keras code that keeps the spec's structure: blocks, loops and conditions.

The emitter walks the model's IR statement by statement, as the checker did, evaluating plain
values with the checker's own Evaluator; every layer it meets is matched with the next call of
the checked Graph, which gives the layer's resolved arguments and final Keras name. Each
statement is emitted once into a code tree (pycode.py) and revisited on every loop iteration
and block instance, so holes see every name and argument the statement produced. Anything the
tree cannot express raises Unstructured, and the caller writes straight-line code instead
(pymodule.flat_function): the result is always the model the Keras builder makes.
"""

from __future__ import annotations

from typing import Any

from kspec.check.evaluate import Evaluator, Scope, Skip
from kspec.check.graph import Call, Graph, Tensor
from kspec.check.naming import Instances, to_snake_case
from kspec.check.values import LayerStep, SharedRef, is_step, is_tensors
from kspec.codegen.frame import Frame
from kspec.codegen.irwalk import (
    has_chain,
    head_vars,
    makes_tensors,
    names_in,
    one,
    reserve,
    uses_current,
)
from kspec.codegen.pycode import Ctor, For, Function, If, Line, NameHole, Run, Unstructured
from kspec.codegen.pyexpr import Translator
from kspec.codegen.pynames import Names
from kspec.codegen.steps import Steps
from kspec.codes import Code
from kspec.diagnostics import Diagnostics
from kspec.syntax import ir


class Emitter(Steps, Evaluator):
    """Replays one model's IR against its checked Graph, emitting a Function per body."""

    def __init__(
        self,
        module: Any,
        graph: Graph,
        model: ir.Model,
        file_key: str,
        fn_name: str,
        sequential: str | None,
    ):
        super().__init__(Diagnostics(), Scope(module.globals(file_key)))
        self.module = module  # codegen.Module: names, constants, block functions, classes
        self.graph = graph
        self.model = model
        self.sequential = (
            sequential  # None (functional), "append" (a list built by statements) or "list"
        )
        self.items: list[Any] | None = [] if sequential == "list" else None
        self.calls = [c for c in graph.calls]
        self.cursor = 0
        self.instances = Instances()
        self.fn = Function(
            fn_name, [], f"The `{graph.name}` model, layer for layer as the spec builds it."
        )
        names = Names(parent=module.names)
        reserve(names, model.body)
        chain = names.fresh("x", "h", "t")
        self.frame = Frame(self.fn, names, "", self.scope, chain, into=[self.fn.body])
        self.names = names  # the model function's identifiers (nested models' variables)
        self.prefer: list[str] = []  # variables the step being emitted reads, when they hold it
        # id(SharedRef.layer) -> (variable, constructor, declaring run, step, expression)
        self.shared: dict[int, tuple[str, Ctor, Run, LayerStep, ir.Expr, Line, list[Any]]] = {}
        self.placed: set[int] = set()  # id() of shared-layer lines moved to their first use

    def error(self, message: str, span: Any, code: Code, help: str | None = None) -> Skip:
        raise Unstructured(message)

    # -- driver -----------------------------------------------------------------------------
    def emit(self) -> Function:
        frame = self.frame
        name = self.module.literal_name(self.graph.name)
        if (
            self.sequential == "append"
        ):  # a list of layers, made like the builder's Sequential([...])
            frame.sequential = frame.names.fresh("model_layers")
            self.line(("model",), [frame.sequential, " = []"])
        elif self.sequential == "list":
            frame.sequential = "list"
        self.run(self.model.body)
        if self.cursor != len(self.calls):
            raise Unstructured("the replay did not meet every call of the graph")
        if self.items is not None:
            self.line(("return",), ["return keras.Sequential([", *self.items, f"], name={name})"])
            return self.fn
        if self.sequential:
            self.line(("return",), [f"return keras.Sequential({frame.sequential}, name={name})"])
            return self.fn
        outputs = [(name, value) for name, value, _ in frame.outputs] or [(None, frame.current)]
        flat = [t for _, v in outputs for t in (v if isinstance(v, list) else [v])]
        if [id(t) for t in flat] != [id(t) for t in self.graph.outputs]:
            raise Unstructured("outputs differ from the graph's")
        ins = [self.code_of(t) for t in self.graph.inputs]
        outs = [self.code_of(t) for t in flat]
        ins_code = ins[0] if len(ins) == 1 else "[" + ", ".join(ins) + "]"
        outs_code = outs[0] if len(outs) == 1 else "[" + ", ".join(outs) + "]"
        self.line(
            ("return",),
            [
                f"return keras.Model({ins_code}, {outs_code}, name=",
                self.module.literal_name(self.graph.name),
                ")",
            ],
        )
        return self.fn

    def next_call(self) -> Call:
        if self.cursor >= len(self.calls):
            raise Unstructured("more layers than the graph has")
        call = self.calls[self.cursor]
        self.cursor += 1
        return call

    # -- emission helpers -------------------------------------------------------------------
    def key(self, *parts: Any) -> tuple[Any, ...]:
        return (id(self.frame.stmt), *parts)

    def line(
        self,
        key: tuple[Any, ...],
        pieces: list[Any],
        *,
        assigns: str | None = None,
        pure: bool = False,
        optional: NameHole | None = None,
    ) -> Line:
        fn = self.frame.fn
        node = fn.nodes.get(("line", *key))
        if node is None:
            node = Line(pieces, assigns, pure, optional)
            fn.nodes[("line", *key)] = node
            self.frame.into[-1].append(node)
        elif node.pieces != pieces:
            raise Unstructured("a statement reads differently in another run")
        return node

    def run_record(self, value: Any) -> Run:
        return Run(value, self.frame.prefix, tuple(k for _, k in self.frame.loops))

    def translate(self, e: ir.Expr) -> str:
        return Translator(self).code(e)

    def uses_locals(self, e: ir.Expr) -> bool:
        return any(n in self.frame.scope.locals for n in names_in(e))

    def code_of(self, value: Any, prefer: list[str] | tuple[str, ...] = ()) -> str:
        """The variable holding a tensor: one of `prefer` if it does, else the latest."""
        if isinstance(value, list | tuple):
            return "[" + ", ".join(self.code_of(t, prefer) for t in value) + "]"
        codes = self.frame.vars.get(id(value))
        if not codes:
            raise Unstructured("a tensor's variable was overwritten")
        return next((c for c in prefer if c in codes), codes[-1])

    def hold(self, value: Any, code: str) -> None:
        self.frame.vars.setdefault(id(value), []).append(code)

    def assign(self, target: list[str], value: Any) -> None:
        """Record that `target` (one variable, or several unpacked) now holds `value`."""
        for codes in self.frame.vars.values():
            codes[:] = [c for c in codes if c.split("[")[0] not in target]
        if len(target) > 1:
            for name, t in zip(target, value, strict=True):
                self.hold(t, name)
        elif isinstance(value, list):
            for i, t in enumerate(value):
                self.hold(t, f"{target[0]}[{i}]")
        else:
            self.hold(value, target[0])

    def set_current(self, value: Any, target: str | None) -> None:
        f = self.frame
        f.current = value
        tracked = is_tensors(value) and f.sequential is None  # a Sequential list has no variables
        f.current_code = self.code_of(value, [target] if target else []) if tracked else None

    # -- statements -------------------------------------------------------------------------
    def run(self, body: tuple[ir.Stmt, ...]) -> None:
        for stmt in body:
            outer = self.frame.stmt
            self.frame.stmt = stmt
            try:
                self.statement(stmt)
            except Skip:
                raise Unstructured("the spec did not evaluate as it did when checked") from None
            finally:
                self.frame.stmt = outer

    def statement(self, s: ir.Stmt) -> None:
        f = self.frame
        match s:
            case ir.Input():
                self.input(s)
            case ir.Bind(targets, value):
                result = self.value(value, [f.names.var(t) for t in targets], targets)
                if result is not _CONSTANT:
                    for i, t in enumerate(targets):
                        f.scope.locals[t] = result if len(targets) == 1 else result[i]
                    self.set_current(
                        result if len(targets) == 1 else result[0], f.names.var(targets[0])
                    )
            case ir.ChainStmt(value):
                result = self.value(value, [f.chain_var], ())
                if result is _CONSTANT:
                    raise Unstructured("a statement without effect")
                self.set_current(result, f.chain_var)
            case ir.Output(name, value):
                if name:
                    var = f.names.var(name)
                elif isinstance(value, ir.Name) and is_tensors(f.scope.locals.get(value.id)):
                    var = f.names.var(value.id)  # `output x`: returns the variable itself
                else:
                    var = self.out_var()
                result = self.value(value, [var], ())
                if result is _CONSTANT:
                    raise Unstructured("an output that is not a tensor")
                f.outputs.append((name, result, var))
                self.set_current(result, var)
            case ir.SharedLayer(name, value):
                step = self.eval(value)
                if not isinstance(step, LayerStep):
                    raise Unstructured("a shared layer that is not a layer")
                ref = SharedRef(name, step.spec, s.span)
                f.scope.locals[name] = ref
                var = f.names.var(name)
                ctor = self.ctor(step, value, self.key("shared"))
                line = self.line(self.key(), [var, " = ", ctor], assigns=var, optional=ctor.name)
                decl = (var, ctor, self.run_record(None), step, value, line, f.into[-1])
                self.shared[id(ref.layer)] = decl  # copies made by `d(training=false)` share it
            case ir.ForLoop(targets, iterable, body):
                self.for_loop(s, targets, iterable, body)
            case ir.IfElse(test, body, orelse):
                truth = self.truth(self.eval(test), test)
                node = f.fn.nodes.get(("if", id(s)))
                if node is None:
                    node = If(self.translate(test))
                    f.fn.nodes[("if", id(s))] = node
                    f.into[-1].append(node)
                node.taken.add(truth)
                f.into.append(node.body if truth else node.orelse)
                try:
                    self.run(body if truth else orelse)
                finally:
                    f.into.pop()
            case _:
                raise Unstructured(f"unknown statement {type(s).__name__}")

    def out_var(self) -> str:
        fn = self.frame.fn
        key = ("out", id(self.frame.stmt))
        if key not in fn.nodes:
            fn.nodes[key] = self.frame.names.fresh("out")
        return str(fn.nodes[key])

    def input(self, s: ir.Input) -> None:
        f = self.frame
        if f.block_inputs is not None:
            tensor = f.block_inputs.pop(0)
            f.scope.locals[s.name] = tensor
            if f.sequential is None:
                self.hold(tensor, f.names.var(s.name))
            self.set_current(tensor, f.names.var(s.name))
            return
        call = self.next_call()
        layer = call.layer
        if not layer.is_input or layer.name != s.name:
            raise Unstructured("inputs differ from the graph's")
        tensor = call.outputs[0]
        shape = self.module.classes.literal(layer.input_shape)
        pieces: list[Any] = ["keras.Input(shape=", self.pretty(s.shape, layer.input_shape, shape)]
        if layer.dtype is not None:
            pieces += [", dtype=", self.module.literal_name(layer.dtype)]
        pieces += [", name=", self.module.literal_name(layer.name), ")"]
        if self.items is not None:
            self.items.extend(pieces)
        elif f.sequential is not None:
            self.line(self.key(), [f"{f.sequential}.append(", *pieces, ")"])
        else:
            var = f.names.var(s.name)
            self.line(self.key(), [var, " = ", *pieces], assigns=var)
            self.assign([var], tensor)
        f.scope.locals[s.name] = tensor
        self.set_current(tensor if len(self.graph.inputs) == 1 else None, f.names.var(s.name))

    def pretty(self, e: ir.Expr | None, value: Any, literal: Any) -> str:
        """The spec's expression when it names constants and means exactly `value`."""
        from kspec.codegen.pyliteral import py_literal

        if e is not None and names_in(e):
            try:
                if self.eval(e) == value:
                    return self.translate(e)
            except (Unstructured, Skip):
                pass
        return py_literal(literal)

    def for_loop(
        self, s: ir.ForLoop, targets: tuple[str, ...], iterable: ir.Expr, body: tuple[ir.Stmt, ...]
    ) -> None:
        f = self.frame
        items = self.eval(iterable)
        if isinstance(items, dict):
            items = list(items)
        if (
            f.sequential is None
            and f.current_code not in (None, f.chain_var)
            and uses_current(body, f.scope)
        ):
            # A loop body that continues the chain reads one variable on every iteration.
            self.line(
                self.key("enter"),
                [f.chain_var, " = ", str(f.current_code)],
                assigns=f.chain_var,
                pure=True,
            )
            self.assign([f.chain_var], f.current)
            self.set_current(f.current, f.chain_var)
        node = f.fn.nodes.get(("for", id(s)))
        if node is None:
            simple = (
                len(targets) == 1
                and isinstance(iterable, ir.Call)
                and iterable.func == "range"
                and len(iterable.args) == 1
                and iterable.args[0].name is None
                and "range" not in f.scope.locals
            )
            node = For(
                [f.names.var(t) for t in targets],
                self.translate(iterable),
                simple,
                f.names.fresh("n", "k", "step"),
            )
            f.fn.nodes[("for", id(s))] = node
            f.into[-1].append(node)
        f.into.append(node.body)
        try:
            for k, item in enumerate(items):
                if len(targets) == 1:
                    f.scope.locals[targets[0]] = item
                else:
                    for name, v in zip(targets, item, strict=True):
                        f.scope.locals[name] = v
                for name in targets:
                    if isinstance(f.scope.locals[name], Tensor):
                        self.hold(f.scope.locals[name], f.names.var(name))
                f.loops.append((node, k))
                try:
                    self.run(body)
                finally:
                    f.loops.pop()
        finally:
            f.into.pop()

    # -- values and chains ------------------------------------------------------------------
    def value(self, e: ir.Expr, target: list[str], spec_targets: tuple[str, ...]) -> Any:
        """A statement's right side, emitted into `target`; _CONSTANT for plain values."""
        if has_chain(e) or (isinstance(e, ir.Cond) and makes_tensors(self, e)):
            return self.tensors(e, target)
        result = self.eval(e)
        if is_step(result):
            return self.apply(result, e, self.frame.current, target, self.implicit())
        if is_tensors(result):
            self.alias(target, result, head_vars(self, e))
            return result
        if len(spec_targets) != 1:
            raise Unstructured("a plain value without one name")
        self.line(
            self.key("const"), [target[0], " = ", self.translate(e)], assigns=target[0], pure=True
        )
        self.frame.scope.locals[spec_targets[0]] = result
        return _CONSTANT

    def tensors(self, e: ir.Expr, target: list[str], *, bind: bool = True) -> Any:
        """Emit a tensor-valued expression so that its result ends up in `target`."""
        f = self.frame
        if isinstance(e, ir.Chain):
            first, *rest = e.items
            inter = [f.chain_var] if len(target) > 1 else target
            prefer: list[str] = []
            if has_chain(first) or isinstance(first, ir.Cond):
                value = self.tensors(first, inter, bind=False)
            else:
                head = self.eval(first)
                if is_step(head):
                    value = self.apply(
                        head, first, f.current, inter if rest else target, self.implicit()
                    )
                elif is_tensors(head):
                    value = head
                    prefer = head_vars(self, first)
                else:
                    raise Unstructured("a chain that starts with a plain value")
            for i, item in enumerate(rest):
                into = target if i == len(rest) - 1 else inter
                if isinstance(item, ir.Cond):
                    value = self.step_cond(item, value, into, prefer)
                else:
                    value = self.apply(self.eval(item), item, value, into, prefer)
                prefer = []
            return value
        if isinstance(e, ir.ListExpr | ir.TupleExpr):
            items = []
            for i, item in enumerate(e.items):
                if has_chain(item) or isinstance(item, ir.Cond):
                    items.append(self.tensors(item, [self.branch_var(i)]))
                else:
                    items.append(self.eval(item))
            if not all(isinstance(t, Tensor) for t in items):
                raise Unstructured("a list of tensors holds something else")
            if bind:
                self.alias(target, items)
            return items
        if isinstance(e, ir.Cond):
            truth = self.truth(self.eval(e.test), e.test)
            node = self.if_node(e)
            node.taken.add(truth)
            f.into.append(node.body if truth else node.orelse)
            try:
                value = self.tensors(e.body if truth else e.orelse, target)
            finally:
                f.into.pop()
            return value
        result = self.eval(e)
        if is_step(result):
            return self.apply(result, e, f.current, target, self.implicit())
        if is_tensors(result):
            self.alias(target, result, head_vars(self, e))
            return result
        raise Unstructured("a tensor expression that gives a plain value")

    def implicit(self) -> list[str]:
        """What an implicit step reads: the current tensor's variable."""
        return [self.frame.current_code] if self.frame.current_code else []

    def branch_var(self, i: int) -> str:
        """A variable for one chain inside a list: named after the layer it starts with."""
        fn = self.frame.fn
        key = ("branch", id(self.frame.stmt), i)
        if key not in fn.nodes:
            stmt = self.frame.stmt
            value = getattr(stmt, "value", None)
            items = getattr(value.items[0] if isinstance(value, ir.Chain) else value, "items", ())
            item = items[i] if i < len(items) else None
            last = item.items[-1] if isinstance(item, ir.Chain) else item
            base = to_snake_case(last.func) if isinstance(last, ir.Call) else "branch"
            fn.nodes[key] = self.frame.names.fresh(base)
        return str(fn.nodes[key])

    def alias(self, target: list[str], value: Any, prefer: list[str] | None = None) -> None:
        code = self.code_of(value, prefer or [])
        if code != ", ".join(target):
            self.line(
                self.key("alias", len(self.frame.into)),
                [", ".join(target), " = ", code],
                assigns=one(target),
                pure=True,
            )
            self.assign(target, value)

    def if_node(self, e: ir.Expr) -> If:
        f = self.frame
        node = f.fn.nodes.get(("if", id(e)))
        if node is None:
            assert isinstance(e, ir.Cond)
            node = If(self.translate(e.test))
            f.fn.nodes[("if", id(e))] = node
            f.into[-1].append(node)
        return node

    def step_cond(self, e: ir.Cond, value: Any, target: list[str], prefer: list[str]) -> Any:
        """`x -> (A() if c else B())`: a step chosen at compile time, written as an if."""
        truth = self.truth(self.eval(e.test), e.test)
        node = self.if_node(e)
        node.taken.add(truth)
        branch = e.body if truth else e.orelse
        self.frame.into.append(node.body if truth else node.orelse)
        try:
            return self.apply(self.eval(branch), branch, value, target, prefer)
        finally:
            self.frame.into.pop()

    # -- steps ------------------------------------------------------------------------------


_CONSTANT = object()
