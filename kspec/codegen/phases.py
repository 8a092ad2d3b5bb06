"""Training phases in a generated script: set the trainable flags, recompile, fit on.

The flags come from the checker (kspec/check/phases.py), the one place their semantics live;
this module only finds the fewest `layer.trainable = ...` statements that give them, replaying
Keras's setter (setting a model's flag sets every layer inside it) on the flags the script's
model has. Layers inside a nested model or an application are reached by position in its
`layers` (an application's InputLayer name depends on the session), runs of neighbours as one
loop over a slice: `for layer in base.layers[:100]:`.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass

from kspec.check.graph import Graph, Layer
from kspec.check.phases import Flags, Path, inner_names
from kspec.codegen.pyliteral import py_literal


@dataclass
class _Node:
    path: Path
    index: int  # position in the holder's `layers`
    children: list[_Node]


def _tree(graph: Graph) -> list[_Node]:
    def inner(layer: Layer, path: Path) -> list[_Node]:
        if isinstance(layer.spec, Graph):
            return [
                _Node((*path, child.name), i, inner(child, (*path, child.name)))
                for i, child in enumerate(layer.spec.keras_layers())
            ]
        return [_Node((*path, n), i, []) for i, n in enumerate(inner_names(layer) or [])]

    return [_Node((layer.name,), 0, inner(layer, (layer.name,))) for layer in graph.keras_layers()]


def flag_statements(graph: Graph, before: Flags, after: Flags) -> list[str]:
    """Python statements taking a model built (or left) with flags `before` to `after`."""
    state = dict(before)
    lines: list[str] = []

    def setter(node: _Node, value: bool) -> None:
        for path in list(state):
            if path[: len(node.path)] == node.path:
                state[path] = value

    def visit(nodes: list[_Node], holder: str | None) -> None:
        pending: list[tuple[int, bool]] = []  # (index, value) of consecutive changed layers

        def flush() -> None:
            if not pending:
                return
            first, value = pending[0]
            last = pending[-1][0]
            if len(pending) == 1:
                lines.append(f"{holder}.layers[{first}].trainable = {value}")
            else:
                start = "" if first == 0 else str(first)
                lines.append(f"for layer in {holder}.layers[{start}:{last + 1}]:")
                lines.append(f"    layer.trainable = {value}")
            pending.clear()

        for node in nodes:
            want = after.get(node.path, True)
            top = f"model.get_layer({py_literal(node.path[-1])})"
            if state.get(node.path, True) != want:
                if holder is None:
                    lines.append(f"{top}.trainable = {want}")
                elif pending and (pending[-1][0] + 1 != node.index or pending[-1][1] != want):
                    flush()
                    pending.append((node.index, want))
                else:
                    pending.append((node.index, want))
                setter(node, want)
            elif holder is not None:
                flush()
            if node.children:
                if holder is not None:
                    flush()
                    visit(node.children, f"{holder}.layers[{node.index}]")
                    continue
                var = _variable(node.path[-1])
                mark = len(lines)
                visit(node.children, var)
                if len(lines) > mark:  # `base = model.get_layer("base")`, then its flags
                    own = (
                        lines[mark - 1]
                        if lines[mark - 1 : mark] == [f"{top}.trainable = {want}"]
                        else None
                    )
                    if own is not None:
                        lines[mark - 1] = f"{var} = {top}"
                        lines.insert(mark, f"{var}.trainable = {want}")
                    else:
                        lines.insert(mark, f"{var} = {top}")
        flush()

    visit(_tree(graph), None)
    return lines


# Names main() of the generated script already uses.
_TAKEN = {
    *("model", "history", "more", "done", "layer", "train", "validation", "args", "parser"),
    *("train_data", "validation_data", "metrics", "strategy", "keras", "layers", "np", "tf"),
    *("argparse", "os", "sys", "json", "main", "build_model", "load_data", "make_dataset"),
}


def _variable(name: str) -> str:
    ok = name.isidentifier() and name.isascii() and not keyword.iskeyword(name)
    return name if ok and name not in _TAKEN and not name.startswith("_") else "inner"
