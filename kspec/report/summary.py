"""`kspec summary`: the model table Keras's model.summary() prints, computed statically."""

from __future__ import annotations

from typing import Any

from kspec.catalog import Params
from kspec.catalog.shapes import show
from kspec.check.graph import Graph, Layer
from kspec.check.phases import Flags, layer_split, split


def memory(params: int) -> str:
    """Keras's readable_memory_size for float32 weights."""
    if params * 4 >= 1024**5 * 10**15:  # beyond a float's exact range: integer arithmetic
        hundredths = (params * 4 * 100 + 1024**4 // 2) // 1024**4
        return f"{hundredths // 100}.{hundredths % 100:02d} TB"
    size = float(params * 4)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} TB"


def layer_shape(layer: Layer) -> str:
    shapes = []
    for call in layer.calls[:1]:
        outs = [t.shape for t in call.outputs]
        shapes = [show(s) for s in outs]
    if not shapes:
        return "?"
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def connected_to(layer: Layer) -> list[str]:
    if not layer.calls:
        return []
    return [t.ref() for t in layer.calls[0].input_list()]


def rows(graph: Graph, flags: Flags | None = None) -> list[dict[str, Any]]:
    out = []
    sequential = graph.is_sequential  # a walk of every call: once, not once per layer
    for layer in graph.keras_layers():  # Keras's order, so the table reads like model.summary()
        if sequential and layer.is_input:
            continue  # Keras's Sequential summary leaves the input out
        params = layer.params if flags is None else layer_split(layer, flags, (layer.name,))
        out.append(
            {
                "name": layer.name,
                "type": layer.class_name,
                "output_shape": layer_shape(layer),
                "params": None if params is None else params.total,
                "trainable": None if params is None else params.trainable,
                "non_trainable": None if params is None else params.non_trainable,
                "connected_to": connected_to(layer),
                "statically_checked": params is not None,
            }
        )
    return out


def totals(graph: Graph, flags: Flags | None) -> Params | None:
    return graph.params if flags is None else split(graph, flags)


def summary_json(
    graph: Graph, flags: Flags | None = None, phase: str | None = None
) -> dict[str, Any]:
    """The summary; with `flags`, the trainable split in training phase `phase`."""
    total = totals(graph, flags)
    return {
        "model": graph.name,
        **({"phase": phase} if phase is not None else {}),
        "class": "Sequential" if graph.is_sequential else "Functional",
        "layers": rows(graph, flags),
        "total_params": None if total is None else total.total,
        "trainable_params": None if total is None else total.trainable,
        "non_trainable_params": None if total is None else total.non_trainable,
    }


def render_summary(graph: Graph, flags: Flags | None = None, phase: str | None = None) -> str:
    data = summary_json(graph, flags, phase)
    functional = data["class"] == "Functional"
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    table = []
    for r in data["layers"]:
        count = "?" if r["params"] is None else f"{r['params']:,}"
        row = [f"{r['name']} ({r['type']})", r["output_shape"], count]
        if functional:
            row.append(", ".join(r["connected_to"]) or "-")
        table.append(row)
    widths = [
        max(len(h), *(len(row[i]) for row in table)) if table else len(h)
        for i, h in enumerate(headers)
    ]
    right = {2}

    def line(cells: list[str], left: str, mid: str, end: str) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return left + " " + f" {mid} ".join(parts) + " " + end

    def rule(left: str, mid: str, end: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + end

    out = [
        f'Model: "{graph.name}"' + (f" in phase {phase}" if phase is not None else ""),
        rule("┏", "┳", "┓", "━"),
        line(headers, "┃", "┃", "┃"),
        rule("┡", "╇", "┩", "━"),
    ]
    for i, row in enumerate(table):
        out.append(line(row, "│", "│", "│"))
        if functional and i < len(table) - 1:
            out.append(rule("├", "┼", "┤", "─"))
    out.append(rule("└", "┴", "┘", "─"))
    total = totals(graph, flags)
    if total is None:
        known = sum(r["params"] or 0 for r in data["layers"])
        out.append(f" Total params: at least {known:,} (some layers are not statically checked)")
    else:
        out.append(f" Total params: {total.total:,} ({memory(total.total)})")
        out.append(f" Trainable params: {total.trainable:,} ({memory(total.trainable)})")
        out.append(
            f" Non-trainable params: {total.non_trainable:,} ({memory(total.non_trainable)})"
        )
    return "\n".join(out)
