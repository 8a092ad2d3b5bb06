"""Training phases: `phase NAME { ... }` at the end of train, and the frozen set in each.

Trainability follows Keras's `Layer.trainable` setter: setting it on a model sets it on every
layer inside, and a weight trains only when its layer and every model holding it are
trainable. `freeze` sets the selected layers (and all inside them) to false; `unfreeze` sets
them to true, and their enclosing models too, leaving the other layers of those models as they
were (the Keras guide's `base.trainable = True` then re-freezing `base.layers[:100]`). The flags
of every layer at every depth, one map per phase, are what the summary, the runtime and the
generated script all read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from kspec.catalog import Params, ShapeError
from kspec.catalog.applications.trace import TracedLayer
from kspec.check.evaluate import Evaluator, Skip
from kspec.check.graph import Graph, Layer, Phase, Selector, Setting, Tensor
from kspec.check.sections import TRAIN_FIELDS, check_field
from kspec.diagnostics import Diagnostics, suggest
from kspec.source import Span
from kspec.syntax import ir

# Set once for the whole run, so a phase cannot change them.
RUN_WIDE = ("model", "seed", "distribute", "mixed_precision", "initial_weights")
SELECTOR_FIELDS = ("freeze", "unfreeze")
PHASE_FIELDS = (*(f for f in TRAIN_FIELDS if f not in RUN_WIDE), *SELECTOR_FIELDS)

Path = tuple[str, ...]  # layer names from the trained model down: ("base", "block5_conv1")
Flags = dict[Path, bool]


# -- reading a phase -------------------------------------------------------------------------
def check_phase(p: ir.Phase, evaluator: Evaluator, diags: Diagnostics) -> Phase:
    phase = Phase(p.name, p.name_span)
    seen: set[str] = set()
    for f in p.fields:
        if f.name in seen:
            diags.error(f"phase {p.name}: {f.name} is set twice", f.span, code="duplicate-name")
            continue
        seen.add(f.name)
        set_field(phase, f.name, f.value, f.span, evaluator, diags)
    return phase


def set_field(
    phase: Phase, name: str, expr: ir.Expr, span: Span, evaluator: Evaluator, diags: Diagnostics
) -> None:
    if name not in PHASE_FIELDS:
        help_ = suggest(name, PHASE_FIELDS) or f"phase fields: {', '.join(PHASE_FIELDS)}"
        if name in RUN_WIDE:
            help_ = f"{name} is set once for the whole run, in train"
        elif name == "learning_rate":
            help_ = "a learning rate is the optimizer's: optimizer = RMSprop(learning_rate=1e-5)"
        diags.error(
            f"unknown phase field '{name}'",
            _name_span(span, name),
            code="unknown-field",
            help=help_,
        )
        return
    if name in SELECTOR_FIELDS:
        items = expr.items if isinstance(expr, ir.ListExpr) else (expr,)
        for item in items:
            selector = read_selector(item, evaluator, diags)
            if selector is not None:
                phase.changes.append((name == "unfreeze", selector))
        return
    try:
        value = evaluator.eval(expr)
    except Skip:
        return
    checked = check_field("train", name, value, expr.span, diags)
    if checked is not None or value is None:
        phase.fields[name] = Setting(checked, expr.span)


def read_selector(e: ir.Expr, evaluator: Evaluator, diags: Diagnostics) -> Selector | None:
    """`base`, `base.layers[100:]`, `base.layers[-1]` or `"block5_*"`, read without evaluating
    the names (they are layers of the model, not constants)."""
    from kspec.syntax.printer import print_expr

    text = print_expr(e)
    match e:
        case ir.Name(name):
            return Selector(text, e.span, step=name)
        case ir.Literal(str() as pattern):
            return Selector(text, e.span, pattern=pattern)
        case ir.Index(ir.Attr(ir.Name(name), "layers"), index):
            try:
                if isinstance(index, ir.Slice):
                    bounds = tuple(
                        None if b is None else evaluator.eval(b) for b in (index.lower, index.upper)
                    )
                    if all(b is None or _is_int(b) for b in bounds):
                        return Selector(text, e.span, step=name, index=(bounds[0], bounds[1]))
                else:
                    i = evaluator.eval(index)
                    if _is_int(i):
                        return Selector(text, e.span, step=name, index=i)
            except Skip:
                return None
            diags.error(
                f"'{text}': a layer index or slice bound must be an integer",
                index.span,
                code="wrong-kind",
            )
            return None
    diags.error(
        f"'{text}' does not select layers",
        e.span,
        code="bad-selector",
        help="write a step name (base), a slice of its layers (base.layers[100:]) or a layer "
        'name pattern ("block5_*")',
    )
    return None


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _name_span(span: Span, name: str) -> Span:
    return Span(span.line, span.column, span.line, span.column + len(name), span.path)


# -- the layers a selector picks ---------------------------------------------------------------
def application_layers(layer: Layer) -> tuple[TracedLayer, ...] | None:
    """An application step's `model.layers` as Keras builds them, or None for other layers."""
    from kspec.catalog.applications import Application
    from kspec.catalog.applications.trace import trace

    if not isinstance(layer.spec, Application) or not layer.calls:
        return None
    first = layer.calls[0].inputs
    if not isinstance(first, Tensor) or first.shape is None:
        return None
    try:
        return trace(layer.spec, first.shape).layers
    except ShapeError:  # the checker reported it at the step
        return None


def inner_names(layer: Layer) -> list[str] | None:
    """The names of a nested model's or an application's layers, in Keras's order."""
    if isinstance(layer.spec, Graph):
        return [inner.name for inner in layer.spec.keras_layers()]
    traced = application_layers(layer)
    return None if traced is None else [inner.name for inner in traced]


def walk(graph: Graph, prefix: Path = ()) -> Iterator[tuple[Path, Layer | None]]:
    """Every layer of a model at every depth, containers before what they hold, Keras's order
    (an application's own layers, which have no checked Layer, as None)."""
    for layer in graph.keras_layers():
        path = (*prefix, layer.name)
        yield path, layer
        if isinstance(layer.spec, Graph):
            yield from walk(layer.spec, path)
        else:
            for traced in application_layers(layer) or ():
                yield (*path, traced.name), None


def select(graph: Graph, sel: Selector) -> tuple[list[Path], str | None]:
    """The paths a selector picks, and when it picks none, the sentence that says why."""
    top = graph.keras_layers()
    if sel.pattern is not None:
        regex = re.compile(".*".join(re.escape(part) for part in sel.pattern.split("*")))
        paths = [p for p, _ in walk(graph) if regex.fullmatch(p[-1])]
        return paths, None if paths else f'no layer name matches "{sel.pattern}"'
    assert sel.step is not None
    step = graph.step_names.get(sel.step, sel.step)
    named = [layer for layer in top if layer.name == step]
    if not named and sel.index is None:  # a block instance: every layer it created
        paths = [(layer.name,) for layer in top if layer.block_path[:1] == (sel.step,)]
        if paths:
            return paths, None
    if not named:
        steps = [layer.name for layer in top] + sorted(
            {layer.block_path[0] for layer in top if layer.block_path} | set(graph.step_names)
        )
        hint = suggest(sel.step, steps)
        return [], f"the model has no step '{sel.step}'" + (f"; {hint}" if hint else "")
    layer = named[0]
    if sel.index is None:
        return [(layer.name,)], None
    inner = inner_names(layer)
    if inner is None:
        return [], f"'{layer.name}' is a {layer.class_name} layer, not a model with layers"
    if isinstance(sel.index, int):
        if not -len(inner) <= sel.index < len(inner):
            return (
                [],
                f"'{layer.name}' has {len(inner)} layers, so index {sel.index} is out of range",
            )
        return [(layer.name, inner[sel.index])], None
    picked = inner[slice(*sel.index)]
    if not picked:
        return [], f"'{layer.name}' has {len(inner)} layers, so this slice is empty"
    return [(layer.name, name) for name in picked], None


def check_selectors(graph: Graph, phases: list[Phase], diags: Diagnostics) -> None:
    for phase in phases:
        for _, sel in phase.changes:
            paths, why = select(graph, sel)
            if not paths:
                diags.error(
                    f"'{sel.text}' selects no layer: {why}",
                    sel.span,
                    code="bad-selector",
                    help="`kspec summary` lists the model's steps; a nested model's layers are "
                    "numbered in Keras's model.layers order",
                )


# -- trainable flags and the split ---------------------------------------------------------------
def initial_flags(graph: Graph) -> Flags:
    """Each layer's flag as the model is built: frozen inside a frozen model."""
    flags: Flags = {}
    for path, layer in walk(graph):
        holder = flags.get(path[:-1], True)
        flags[path] = (layer is None or layer.trainable) and holder
    return flags


def apply_changes(graph: Graph, flags: Flags, phase: Phase) -> Flags:
    """The flags after one phase's freeze/unfreeze lists, applied in the order written."""
    out = dict(flags)
    for trainable, sel in phase.changes:
        paths, _ = select(graph, sel)
        for path in paths:
            for other in out:  # Keras's setter: the layer and everything inside it
                if other[: len(path)] == path:
                    out[other] = trainable
            if trainable:  # the models holding it train too; their other layers keep their flags
                for depth in range(1, len(path)):
                    out[path[:depth]] = True
    return out


def phase_flags(graph: Graph, phases: list[Phase]) -> list[Flags]:
    """The flags in the main training and in each phase after it."""
    flags = [initial_flags(graph)]
    for phase in phases:
        flags.append(apply_changes(graph, flags[-1], phase))
    return flags


def split(graph: Graph, flags: Flags, prefix: Path = ()) -> Params | None:
    """Keras's trainable / non-trainable split of a model's weights under `flags`."""
    total = Params()
    for layer in graph.keras_layers() if graph.complete else graph.layers:
        part = layer_split(layer, flags, (*prefix, layer.name))
        if part is None:
            return None
        total = total + part
    return total


def layer_split(layer: Layer, flags: Flags, path: Path) -> Params | None:
    if isinstance(layer.spec, Graph):
        part = split(layer.spec, flags, path)
    else:
        part = layer.weights
        traced = application_layers(layer)
        if traced is not None and part is not None and flags.get(path, True):
            part = Params()  # an unfrozen application trains only its unfrozen layers
            for inner in traced:
                trains = flags.get((*path, inner.name), True)
                part = part + (inner.params if trains else Params(0, inner.params.total))
    if part is None or flags.get(path, True):
        return part
    return Params(0, part.total)
