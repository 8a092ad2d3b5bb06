"""`kspec summary`: the model table Keras's model.summary() prints, computed statically."""

from __future__ import annotations

from typing import Any

from kspec.catalog import Params
from kspec.catalog.shapes import show
from kspec.check.graph import Graph, Layer
from kspec.check.phases import Flags, layer_split, split
from kspec.report import table


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


def layer_shapes(layer: Layer) -> list[list[int | None] | None]:
    """Each output's shape with the batch axis (None: unknown), of the layer's first call."""
    outs = layer.calls[0].outputs if layer.calls else []
    return [None if t.shape is None else [None, *t.shape] for t in outs]


def layer_shape(layer: Layer) -> str:
    shapes = [show(None if s is None else tuple(s[1:])) for s in layer_shapes(layer)]
    if not shapes:
        return "?"
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def connected_to(layer: Layer) -> list[str]:
    """Every tensor every call of the layer takes, as Keras lists a shared layer's nodes."""
    return [t.ref() for call in layer.calls for t in call.input_list()]


def trainable_flag(layer: Layer, flags: Flags | None) -> str:
    """Keras's show_trainable column: Y or N for a layer with weights, - for one without."""
    if layer.weights is not None and layer.weights.total == 0:
        return "-"
    on = layer.trainable if flags is None else flags.get((layer.name,), layer.trainable)
    return "Y" if on else "N"


def rows(
    graph: Graph, flags: Flags | None = None, sequential: bool | None = None
) -> list[dict[str, Any]]:
    """One row per layer as `kspec summary --format json` gives it: `output_shapes` is a list
    of shapes (one per output), each a list with the batch axis as null (null: unknown);
    `layer_trainable` is Keras's show_trainable flag (null for a layer without weights)."""
    return _rows(_layers(graph, sequential), flags)


def _rows(layers: list[Layer], flags: Flags | None) -> list[dict[str, Any]]:
    out = []
    for layer in layers:
        params = layer.params if flags is None else layer_split(layer, flags, (layer.name,))
        flag = trainable_flag(layer, flags)
        out.append(
            {
                "name": layer.name,
                "type": layer.class_name,
                "output_shapes": layer_shapes(layer),
                "params": None if params is None else params.total,
                "trainable": None if params is None else params.trainable,
                "non_trainable": None if params is None else params.non_trainable,
                "connected_to": connected_to(layer),
                "layer_trainable": None if flag == "-" else flag == "Y",
                "statically_checked": params is not None,
            }
        )
    return out


def _layers(graph: Graph, sequential: bool | None = None) -> list[Layer]:
    # Keras's order, so that the table reads like model.summary(); a Sequential model's summary
    # leaves the input out. `is_sequential` walks every call: the caller passes it when known.
    if sequential is None:
        sequential = graph.is_sequential
    return [x for x in graph.keras_layers(sequential) if not (sequential and x.is_input)]


def totals(graph: Graph, flags: Flags | None) -> Params | None:
    return graph.params if flags is None else split(graph, flags)


def summary_json(
    graph: Graph, flags: Flags | None = None, phase: str | None = None
) -> dict[str, Any]:
    """The summary; with `flags`, the trainable split in training phase `phase`."""
    return _summary(graph, flags, phase)[0]


def _summary(
    graph: Graph, flags: Flags | None, phase: str | None
) -> tuple[dict[str, Any], bool, list[Layer]]:
    """The summary, whether the model is Sequential, and its rows' layers: the graph is walked
    once for all three (at 10,000 layers each walk is felt)."""
    sequential = graph.is_sequential
    layers = graph.keras_layers(sequential)
    if flags is not None:
        total = split(graph, flags)
    else:
        total = Graph.count(layers if graph.complete else graph.layers)
    shown = [x for x in layers if not (sequential and x.is_input)]
    data = {
        "model": graph.name,
        **({"phase": phase} if phase is not None else {}),
        "class": "Sequential" if sequential else "Functional",
        "layers": _rows(shown, flags),
        "total_params": None if total is None else total.total,
        "trainable_params": None if total is None else total.trainable,
        "non_trainable_params": None if total is None else total.non_trainable,
    }
    return data, sequential, shown


_TOTALS = ("total_params", "trainable_params", "non_trainable_params")


def sequential_like(graph: Graph, sequential: bool | None = None) -> bool:
    """Whether Keras prints the model without a "Connected to" column: a Sequential model, or a
    functional one that is a single chain (every layer called once on at most one tensor, every
    tensor used at most once), as Keras's print_summary decides from the model's nodes."""
    if graph.is_sequential if sequential is None else sequential:
        return True
    uses: dict[int, int] = {}
    for layer in graph.keras_layers():
        if len(layer.calls) > 1:
            return False
        for call in layer.calls:
            inputs = call.input_list()
            if len(inputs) > 1:
                return False
            for t in inputs:
                uses[id(t)] = uses.get(id(t), 0) + 1
    return len(graph.inputs) <= 1 and all(n == 1 for n in uses.values())


def line_length(graph: Graph, trainable: bool = False, columns: int | None = None) -> int:
    """Keras's table width: 88 characters (108 with "Connected to"; 12 more with "Trainable"),
    at most the terminal's `columns` less 4."""
    width = (88 if sequential_like(graph) else 108) + (12 if trainable else 0)
    return width if columns is None else min(width, columns - 4)


def render_summary(
    graph: Graph,
    flags: Flags | None = None,
    phase: str | None = None,
    *,
    width: int | None = None,
    trainable: bool = False,
) -> str:
    """The table model.summary(line_length=width, show_trainable=trainable) prints, drawn with
    rich as Keras draws it (cells wrap to fit); `width` defaults to Keras's own default."""
    import io

    import rich.console
    import rich.markup

    data, sequential, shown = _summary(graph, flags, phase)
    chain = sequential_like(graph, sequential)
    length = width or line_length(graph, trainable)
    positions = [0.45, 0.80, 1.0] if chain else [0.3, 0.56, 0.74, 1.0]
    headers = ["Layer (type)", "Output Shape", "Param #"] + ([] if chain else ["Connected to"])
    justify: list[Any] = ["left", "left", "right"] + ([] if chain else ["left"])
    if trainable:
        positions = [p * 0.90 for p in positions] + [1.0]
        headers.append("Trainable")
        justify.append("center")
    widths, current = [], 0
    for pos in positions:
        widths.append(max(int(pos * length) - current, 4))
        current += widths[-1]
    cells = []
    for layer, r in zip(shown, data["layers"], strict=True):
        count = "?" if r["params"] is None else f"{r['params']:,}"
        row = [f"{r['name']} ({r['type']})", layer_shape(layer), count]
        if not chain:
            row.append(", ".join(r["connected_to"]) or "-")
        if trainable:
            row.append(trainable_flag(layer, flags))
        cells.append(row)
    out = io.StringIO()
    console = rich.console.Console(
        file=out, width=length + 4, highlight=False, color_system=None, force_terminal=False
    )
    console.print(
        rich.markup.escape(f'Model: "{graph.name}"')
        + (f" in phase {phase}" if phase is not None else "")
    )
    out.write(table.draw(headers, justify, widths, length, cells))
    total, trained, frozen = (data[k] for k in _TOTALS)  # counted once, by summary_json
    if total is None:
        known = sum(r["params"] or 0 for r in data["layers"])
        console.print(f" Total params: at least {known:,} (some layers are not statically checked)")
    else:
        console.print(f" Total params: {total:,} ({memory(total)})")
        console.print(f" Trainable params: {trained:,} ({memory(trained)})")
        console.print(f" Non-trainable params: {frozen:,} ({memory(frozen)})")
    return out.getvalue().rstrip("\n")
