"""Hover text: what a layer, block call, model, tensor or constant is, with its static shape and
parameters, and a catalog layer's reference entry exactly as docs/layers.md shows it.
"""

from __future__ import annotations

from typing import Any

from kspec.catalog import ALIASES, LayerSpec, lookup
from kspec.catalog.opbase import OpSpec
from kspec.check import ops as check_ops
from kspec.check.evaluate import spec_text
from kspec.check.graph import Graph, Tensor
from kspec.check.values import SharedRef
from kspec.lsp.document import Analysis
from kspec.lsp.index import Def, Position, Ref, contains
from kspec.lsp.shapes import Step, params_text, shape_text, steps
from kspec.report.reference import layer_entry
from kspec.source import Span
from kspec.syntax import ir


def hover_text(a: Analysis, pos: Position) -> tuple[str, Span] | None:
    """Markdown for what is under the cursor, and the span it describes."""
    if a.index is None:
        return None
    hit = a.index.at(pos)
    if hit is None:
        return None
    target = a.index.resolve(hit.name, hit.scope)
    if isinstance(hit, Ref) and hit.call is not None and (target is None or target.kind != "block"):
        layer = lookup(hit.call.func)
        if layer is not None and target is None:
            return _layer_hover(a, hit.call.span, layer), hit.span
        op = check_ops.resolve(hit.call.func)
        if op is not None:
            return _op_hover(a, hit.call.span, op), hit.span
    if target is None:
        return None
    parts = [f"**{target.kind}** `{target.name}`"]
    match target.kind:
        case "block":
            parts.append(_block_signature(target.node))
            if isinstance(hit, Ref) and hit.call is not None:
                parts += _step_lines(_step(a, hit.call.span))
        case "model":
            parts += _model_lines(a, target.name)
        case "constant":
            if a.checked is not None and target.name in a.checked.constants:
                parts.append(f"= `{spec_text(a.checked.constants[target.name])}`")
        case "layer class":
            node = target.node
            parts.append(f"`{node.target}`: built as written; shapes not statically checked")
        case _:
            parts += _binding_lines(a, target)
    return "\n\n".join(p for p in parts if p), hit.span


def _layer_hover(a: Analysis, span: Span, layer: type[LayerSpec]) -> str:
    parts = _step_lines(_step(a, span))
    entry = layer_entry(layer)
    name = layer.layer_name()
    title = entry[0].removeprefix("### ")
    aliases = [k for k, v in ALIASES.items() if v == name]
    head = f"**{title}**" + (f" (also {', '.join(aliases)})" if aliases else "")
    return "\n\n".join([head, *parts, "\n".join(entry[2:]).strip()])


def _op_hover(a: Analysis, span: Span, op: type[OpSpec]) -> str:
    args = ", ".join(op.signature)
    parts = [f"**{op.op_name()}**({args})", f"`keras.ops.{op.function}`"]
    return "\n\n".join([*parts, *_step_lines(_step(a, span))])


def _step(a: Analysis, span: Span) -> Step | None:
    if a.checked is None:
        return None
    key = (span.line, span.column, span.end_line, span.end_column)
    return steps(a.checked, a.path).get(key)


def _step_lines(step: Step | None) -> list[str]:
    if step is None:
        return []
    out = [f"output `{shape_text(step.outputs)}`, {params_text(step.params)}"]
    if step.call is not None and not step.call.layer.is_input:
        kind = "operation" if isinstance(step.call.layer.spec, OpSpec) else "layer"
        out[0] += f"; Keras {kind} `{step.call.layer.name}` ({step.call.layer.class_name})"
    if step.uses > 1:
        out.append(f"runs {step.uses} times here; shown: the first")
    return out


def _block_signature(block: ir.Block) -> str:
    params = ", ".join(
        p.name if p.default is None else f"{p.name}={_expr_text(p.default)}" for p in block.params
    )
    return f"`block {block.name}({params})`"


def _expr_text(e: ir.Expr) -> str:
    if isinstance(e, ir.Literal):
        return spec_text(e.value)
    if isinstance(e, ir.Name):
        return e.id
    return "..."


def _model_lines(a: Analysis, name: str) -> list[str]:
    graph = a.checked.models.get(name) if a.checked is not None else None
    if graph is None:
        return []
    ins = ", ".join(f"{t.label or t.layer.name}: {shape_text([t])}" for t in graph.inputs)
    outs = shape_text(graph.outputs) if graph.outputs else "?"
    layers = sum(1 for layer in graph.layers if not layer.is_input)
    return [f"inputs {ins} -> output {outs}", f"{layers} layers, {params_text(graph.params)}"]


def _binding_lines(a: Analysis, target: Def) -> list[str]:
    """A tensor's shape (or a shared layer's entry) where it was first bound."""
    if a.checked is None or target.scope is None:
        return []
    item = (
        next((i for i in a.index.spec.items if getattr(i, "name", None) == target.scope), None)
        if a.index
        else None
    )
    if item is None:
        return []
    for graph in a.checked.models.values():
        for b in graph.bindings:
            if (
                b.name == target.name
                and b.span.path == a.path
                and contains(item.span, (b.span.line, b.span.column))
            ):
                return _value_lines(b.value, graph)
    return []


def _value_lines(value: Any, graph: Graph) -> list[str]:
    if isinstance(value, Tensor):
        return [f"shape `{shape_text([value])}`, from `{value.layer.name}`"]
    if isinstance(value, list) and value and all(isinstance(t, Tensor) for t in value):
        return [f"tensors `{shape_text(value)}`"]
    if isinstance(value, SharedRef):
        out = [
            f"`{value.spec.layer_name()}`, one set of weights wherever `-> {value.name}` appears"
        ]
        if value.layer:
            layer = value.layer[0]
            out.append(f"{len(layer.calls)} uses, {params_text(layer.params)}")
        return out
    return [f"= `{spec_text(value)}`"]
