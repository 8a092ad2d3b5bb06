"""Static shapes and parameter counts per source position, read from the checked graphs: the
inlay hints at the end of each step's line and the numbers hovers show.

A line inside a block body or a `for` loop runs more than once; it shows its first run (the
first use of the block, the first iteration), since that is the one the text reads as.
"""

from __future__ import annotations

from dataclasses import dataclass

from kspec.catalog import Params
from kspec.catalog.shapes import show
from kspec.check.graph import Call, Checked, Graph, Tensor
from kspec.source import Span


@dataclass(frozen=True)
class Step:
    """What one step (a layer call or a block call) computed at its first run."""

    span: Span
    outputs: tuple[Tensor, ...]
    params: Params | None  # None when not statically known
    call: Call | None  # None for a block call
    uses: int  # how many times this text ran (loop iterations, block uses)


def shape_text(outputs: tuple[Tensor, ...] | list[Tensor]) -> str:
    shapes = ["?" if t.shape is None else show(t.shape) for t in outputs]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def params_text(p: Params | None) -> str:
    if p is None:
        return "parameters not statically known"
    if p.non_trainable:
        return f"{p.total:,} params ({p.trainable:,} trainable, {p.non_trainable:,} non-trainable)"
    return f"{p.total:,} params"


def steps(
    checked: Checked, path: str, focus: tuple[str, ...] = ()
) -> dict[tuple[int, int, int, int], Step]:
    """Every step written in `path`, by its span, at its first run; a step inside the block
    instance `focus` (a block_path) shows that instance's run instead."""
    out: dict[tuple[int, int, int, int], Step] = {}
    counts: dict[tuple[int, int, int, int], int] = {}
    focused: set[tuple[int, int, int, int]] = set()
    for graph in checked.models.values():
        for call in graph.calls:
            if call.span.path != path:
                continue
            key = _key(call.span)
            counts[key] = counts.get(key, 0) + 1
            inside = bool(focus) and call.layer.block_path[: len(focus)] == focus
            if inside and key not in focused:
                focused.add(key)
                out.pop(key, None)
            if key not in out:
                layer = call.layer
                first = layer.calls[0] is call and not isinstance(layer.spec, Graph)
                params = layer.params if first or isinstance(layer.spec, Graph) else Params()
                out[key] = Step(call.span, tuple(call.outputs), params, call, 1)
        for use in graph.block_uses:
            if use.span.path != path:
                continue
            key = _key(use.span)
            counts[key] = counts.get(key, 0) + 1
            inside = len(use.path) > len(focus) > 0 and use.path[: len(focus)] == focus
            if inside and key not in focused:
                focused.add(key)
                out.pop(key, None)
            if key not in out:
                out[key] = Step(
                    use.span, tuple(use.outputs), _block_params(graph, use.path), None, 1
                )
    return {k: Step(s.span, s.outputs, s.params, s.call, counts[k]) for k, s in out.items()}


def _block_params(graph: Graph, path: tuple[str, ...]) -> Params | None:
    total = Params()
    for layer in graph.layers:
        if layer.block_path[: len(path)] == path:
            if layer.params is None:
                return None
            total = total + layer.params
    return total


def _key(span: Span) -> tuple[int, int, int, int]:
    return (span.line, span.column, span.end_line, span.end_column)


def focus_at(checked: Checked, path: str, line: int, column: int) -> tuple[str, ...] | None:
    """The block instance called at (line, column), as a block_path; None when no block call
    is there. A call that runs several times (in a loop) means its first instance."""
    for graph in checked.models.values():
        for use in graph.block_uses:
            s = use.span
            if s.path == path and (s.line, s.column) <= (line, column) <= (
                s.end_line,
                s.end_column,
            ):
                return use.path
    return None


def line_hints(checked: Checked, path: str, focus: tuple[str, ...] = ()) -> dict[int, str]:
    """Line number -> the hint at its end: the shape of the line's last step, and its params."""
    last: dict[int, Step] = {}
    for step in steps(checked, path, focus).values():
        line = step.span.end_line
        if line not in last or step.span.end_column > last[line].span.end_column:
            last[line] = step
    out = {}
    for line, step in last.items():
        text = shape_text(step.outputs)
        if step.params is None or step.params.total:
            text += ", " + params_text(step.params)
        out[line] = text
    return out
