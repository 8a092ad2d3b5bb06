"""The model half of a generated script: one function per model and per block it uses.

Each model is first written with the spec's structure (codegen_model.Emitter). A model whose
structure the code tree cannot express is written flat instead, one line per layer call from
the checked Graph, and the whole set is generated again; flat code is always what the Keras
builder makes, so the script always builds the same model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kspec.catalog import LayerSpec
from kspec.catalog.opbase import OpSpec
from kspec.check.graph import Checked, Graph, Layer
from kspec.check.values import BlockDef, ModelDef
from kspec.codegen.autonames import auto_named
from kspec.codegen.layerargs import arg_slots, resolved_args
from kspec.codegen.model import Emitter
from kspec.codegen.opexpr import op_expression
from kspec.codegen.pycode import ArgHole, Ctor, Function, Line, NameHole, Run, Unstructured
from kspec.codegen.pyliteral import py_literal
from kspec.codegen.pynames import Classes, Names
from kspec.codegen.steps import BlockFunction, application_extra
from kspec.syntax import ir


@dataclass
class Constant:
    name: str  # the script's identifier
    value: Any  # the resolved value


@dataclass
class Module:
    """Script-wide state for one generation attempt."""

    checked: Checked
    files: dict[str, dict[str, Any]]  # file key -> that file's global scope
    base: set[str]  # module-level names taken before any function (imports, constants)
    classes: Classes
    constants: dict[str, Constant]  # spec name -> constant
    flat: dict[str, str] = field(default_factory=dict)  # models written flat -> why
    names: Names = field(init=False)
    blocks: dict[tuple[int, bool], BlockFunction] = field(default_factory=dict)
    models: dict[str, tuple[str, Function]] = field(default_factory=dict)  # model -> (fn name, fn)

    def __post_init__(self) -> None:
        # Every function's name is taken before any function body picks a local name, so a
        # local can never shadow a function defined later in the script.
        self.names = Names(self.base)
        self.function_names: dict[Any, str] = {}
        for scope in self.files.values():
            for value in scope.values():
                if isinstance(value, BlockDef) and id(value.block) not in self.function_names:
                    name = _identifier(value.block.name)
                    self.function_names[id(value.block)] = self.names.fresh(name, f"{name}_block")
                elif isinstance(value, ModelDef) and value.model.name not in self.function_names:
                    self.function_names[value.model.name] = self.names.fresh(
                        f"build_{_identifier(value.model.name)}"
                    )

    # -- what emitters ask -------------------------------------------------------------------
    def globals(self, key: str) -> dict[str, Any]:
        return self.files[key]

    def constant(self, spec_name: str, value: Any) -> str | None:
        found = self.constants.get(spec_name)
        if found is None or (found.value is not value and found.value != value):
            return None
        return found.name

    def literal_name(self, text: str) -> str:
        return py_literal(text)

    def nested_model(self, em: Any, graph: Graph, name: str, *, trainable: bool = True) -> str:
        """The variable holding a nested model, built where the model is first used (as the
        Keras builder builds it, so that seeded weights come out the same)."""
        key = ("nested", name)
        found = em.fn.nodes.get(key)
        if found is not None:
            return str(found)
        fn_name = self.model_function(graph).name
        var = str(em.names.fresh(_identifier(name)))
        line = Line([var, " = ", f"{fn_name}()"], assigns=var)
        frame = getattr(em, "frame", None)
        if frame is not None and (frame.loops or len(frame.into) > 1 or frame.fn is not em.fn):
            raise Unstructured("a nested model first used inside a loop, condition or block")
        em.fn.body.append(line)
        if not trainable:  # Keras's setter freezes every layer of the nested model
            em.fn.body.append(Line([f"{var}.trainable = False"]))
        em.fn.nodes[key] = var
        return var

    # -- functions ---------------------------------------------------------------------------
    def model_function(self, graph: Graph, fn_name: str | None = None) -> Function:
        if graph.name in self.models:
            return self.models[graph.name][1]
        fn_name = fn_name or self.function_names[graph.name]
        if graph.name in self.flat:
            fn = flat_function(self, graph, fn_name)
        else:
            model, key = self.find_model(graph.name)
            straight = not _structured(model.body) and not any(
                layer.block_path for layer in graph.layers
            )
            style = None if not graph.is_sequential else "list" if straight else "append"
            try:
                fn = Emitter(self, graph, model, key, fn_name, style).emit()
            except Unstructured as e:
                if not e.models:
                    e.models = {graph.name}
                raise
        self.models[graph.name] = (fn_name, fn)
        return fn

    def find_model(self, name: str) -> tuple[ir.Model, str]:
        value = self.files[self.checked.path].get(name)
        if not isinstance(value, ModelDef):
            raise Unstructured(f"no model named {name}")
        return value.model, value.globals_key

    def functions(self, root: Graph) -> list[tuple[Function, list[str]]]:
        """Every function with its rendered body, blocks first, the main model last."""
        holes: dict[tuple[str, str], NameHole] = {}
        for name, (_, fn) in self.models.items():
            if name in self.flat or fn.prefix_var is not None:
                continue
            for node in fn.nodes.values():
                hole = node.name if isinstance(node, Ctor) else None
                if hole is None or hole.given is not None or hole.instance_of is not None:
                    continue
                for run in hole.runs:
                    holes[(name, str(run.value))] = hole
        automatic = auto_named(root, holes)
        for hole in holes.values():
            hole.auto = id(hole) in automatic
        out = []
        for bf in self.blocks.values():
            try:
                out.append((bf.fn, bf.fn.lines()))
            except Unstructured as e:
                e.models = set(bf.users)
                raise
        for name, (_, fn) in self.models.items():
            try:
                out.append((fn, fn.lines()))
            except Unstructured as e:
                e.models = {name}
                raise
        return out


def generate_models(make: Any, graph: Graph) -> tuple[Module, list[tuple[Function, list[str]]]]:
    """Functions for `graph` and what it nests; models that cannot keep their structure go flat."""
    flat: dict[str, str] = {}
    while True:
        module: Module = make(flat)
        try:
            module.model_function(graph, "build_model")
            return module, module.functions(graph)
        except Unstructured as e:
            failed = e.models or {graph.name}
            if failed <= set(flat):
                raise AssertionError(f"flat code failed for {sorted(failed)}: {e}") from e
            flat.update({name: str(e) for name in failed if name not in flat})


# -- flat code -----------------------------------------------------------------------------
@dataclass
class _Holder:
    fn: Function
    names: Names


def flat_function(module: Module, graph: Graph, fn_name: str) -> Function:
    """One line per layer call, in the graph's order: always what the Keras builder makes."""
    fn = Function(fn_name, [], f"The `{graph.name}` model, layer for layer as the spec builds it.")
    names = Names(parent=module.names)
    holder = _Holder(fn, names)
    if graph.is_sequential:
        items = [_input(graph.inputs[0].layer)]
        items += [_ctor(module, c.layer) for c in graph.calls if not c.layer.is_input]
        fn.body.append(
            Line(
                [
                    "return keras.Sequential([",
                    ", ".join(items),
                    "], name=",
                    py_literal(graph.name),
                    ")",
                ]
            )
        )
        return fn
    values: dict[int, str] = {}
    objects: dict[int, str] = {}

    def code(value: Any) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(values[id(t)] for t in value) + "]"
        return values[id(value)]

    for call in graph.calls:
        layer = call.layer
        if layer.is_input:
            var = names.fresh(_identifier(layer.name))
            fn.body.append(Line([var, " = ", _input(layer)], assigns=var))
            values[id(call.outputs[0])] = var
            continue
        spec = layer.spec
        if isinstance(spec, OpSpec):
            label = call.outputs[0].label if len(call.outputs) == 1 else None
            var = names.fresh(_identifier(label or layer.name))
            expr = op_expression(spec, [values[id(t)] for t in call.input_list()])
            fn.body.append(Line([var, " = ", expr], assigns=var))
            for i, t in enumerate(call.outputs):
                values[id(t)] = f"{var}[{i}]" if call.multi_output else var
            continue
        if isinstance(spec, Graph):
            callee = module.nested_model(holder, spec, layer.name, trainable=layer.trainable)
        elif len(layer.calls) > 1 or _frozen_application(layer):
            if id(layer) not in objects:
                objects[id(layer)] = obj = names.fresh(_identifier(layer.name))
                fn.body.append(Line([obj, " = ", _ctor(module, layer)]))
                if _frozen_application(layer):  # its constructor takes no trainable argument
                    fn.body.append(Line([f"{obj}.trainable = False"]))
            callee = objects[id(layer)]
        else:
            callee = _ctor(module, layer)
        tensors = [f"{k}={code(v)}" for k, v in call.tensors.items()]
        tensors += [f"{k}={py_literal(v)}" for k, v in call.options.items()]
        unpack = spec is not None and not isinstance(spec, Graph) and spec.unpacks(call.inputs)
        inputs = [values[id(t)] for t in call.inputs] if unpack else [code(call.inputs)]  # type: ignore[union-attr]
        label = call.outputs[0].label if len(call.outputs) == 1 else None
        var = names.fresh(_identifier(label or layer.name))
        fn.body.append(
            Line([var, " = ", callee, f"({', '.join([*inputs, *tensors])})"], assigns=var)
        )
        if call.multi_output or len(call.outputs) > 1:
            for i, t in enumerate(call.outputs):
                values[id(t)] = f"{var}[{i}]"
        else:
            values[id(call.outputs[0])] = var
    ins = [values[id(t)] for t in graph.inputs]
    outs = [values[id(t)] for t in graph.outputs]
    ins_code = ins[0] if len(ins) == 1 else "[" + ", ".join(ins) + "]"
    outs_code = outs[0] if len(outs) == 1 else "[" + ", ".join(outs) + "]"
    fn.body.append(
        Line([f"return keras.Model({ins_code}, {outs_code}, name=", py_literal(graph.name), ")"])
    )
    return fn


def _input(layer: Layer) -> str:
    dtype = f", dtype={py_literal(layer.dtype)}" if layer.dtype is not None else ""
    return (
        f"keras.Input(shape={py_literal(layer.input_shape)}{dtype}, name={py_literal(layer.name)})"
    )


def _ctor(module: Module, layer: Layer) -> str:
    """A layer's constructor with its resolved arguments and final name."""
    spec = layer.spec
    values, present = resolved_args(spec)
    args = [
        (kw, ArgHole(None, False, slot, runs=[(values[slot], kw is None or slot in present)]))
        for kw, slot in arg_slots(spec)
    ]
    name = NameHole(runs=[Run(layer.name, "", ())])
    ctor = Ctor(module.classes.layer(spec), args, name, module.classes.literal)  # type: ignore[arg-type]
    ctor.extra = (application_extra(layer.calls[0]) if layer.calls else None) or {}
    if not _frozen_application(layer):
        ctor.freeze(layer.trainable)
    return ctor.render(None)


def _frozen_application(layer: Layer) -> bool:
    spec = layer.spec
    return isinstance(spec, LayerSpec) and spec.takes_input_shape and not layer.trainable


def _identifier(name: str) -> str:
    """A layer or model name as a variable name: `conv2d_1`, `price`; odd names become `t`."""
    text = re.sub(r"\W", "_", name, flags=re.ASCII).strip("_")
    return text if text and not text[0].isdigit() else "t"


def _structured(body: tuple[ir.Stmt, ...]) -> bool:
    return any(isinstance(s, ir.ForLoop | ir.IfElse) for s in body)
