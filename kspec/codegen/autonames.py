"""Which layers a script can leave without `name=`: those Keras names as kspec does.

Run in a fresh process, the script's layers take Keras's automatic names (`dense`, `dense_1`,
...), drawn from one counter per snake-cased class name as objects are made. This module replays
that counter over the checked graphs in the order the script makes its layers, and keeps a
`name=` only where the automatic name would differ from kspec's (a second model in the file, a
name written in the spec, an output's name, a layer after one whose name was written).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kspec.catalog import GenericLayer, LayerSpec
from kspec.catalog.opbase import OpSpec
from kspec.check.graph import Graph
from kspec.check.naming import to_snake_case
from kspec.codegen.layerargs import resolved_args
from kspec.codegen.pycode import NameHole

# Automatic names a layer draws for objects it makes itself, measured in Keras 3 for every
# catalog example (tests/test_codegen.py keeps this table true). Layers given as arguments
# (Bidirectional(LSTM(...))) are counted from the arguments instead. AugMix and RandAugment
# make the same operations.
_AUGMENTATIONS = (
    "auto_contrast",
    "equalization",
    "random_brightness",
    "random_color_degeneration",
    "random_contrast",
    "random_posterization",
    "random_rotation",
    "random_sharpness",
    "random_shear",
    "random_translation",
    "solarization",
)
SUBLAYER_NAMES: dict[str, tuple[str, ...]] = {
    "AugMix": _AUGMENTATIONS,
    "Embedding": ("not_equal",),
    "GroupedQueryAttention": ("dropout", "softmax"),
    "LayerScale": ("scratch_graph", "variable"),
    "Masking": ("any", "not_equal"),
    "MultiHeadAttention": ("dropout", "softmax"),
    "Pipeline": ("scratch_graph",),
    "RNN": ("stacked_rnn_cells",),
    "RandAugment": _AUGMENTATIONS,
    "RandomColorJitter": (
        "random_brightness",
        "random_contrast",
        "random_hue",
        "random_saturation",
    ),
    "TextVectorization": ("string_lookup",),
}


# Keras classes whose name is not the catalog's (keras.layers.GroupQueryAttention is an alias).
KERAS_CLASS_NAMES = {"GroupQueryAttention": "GroupedQueryAttention"}


def auto_named(root: Graph, holes: dict[tuple[str, str], NameHole]) -> set[int]:
    """The ids of the holes whose every run is the name Keras gives on its own.

    `holes` maps (model, layer name) to the hole that writes that layer's name; a layer not in it
    gets its name written anyway. A hole is all or nothing (one line in a loop), so the replay
    is repeated, each time keeping the names of holes that failed, until nothing changes.
    """
    kept: set[int] = set()
    while True:
        failed = _replay(root, holes, kept)
        if failed <= kept:
            return {id(h) for h in holes.values()} - kept
        kept |= failed


def _replay(root: Graph, holes: dict[tuple[str, str], NameHole], kept: set[int]) -> set[int]:
    counts: dict[str, int] = {}
    failed: set[int] = set()
    nested = {base for graph in _graphs(root, set()) for base in _nested_bases(graph)}
    unsure = False

    def draw(base: str) -> str:
        n = counts.get(base, 0)
        counts[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def walk(graph: Graph, seen: set[str]) -> None:
        nonlocal unsure
        for call in graph.calls:
            layer, spec = call.layer, call.layer.spec
            if call.node_index != 0 or layer.is_input:
                continue
            if isinstance(spec, Graph):
                if spec.name not in seen:
                    seen.add(spec.name)
                    walk(spec, seen)
                continue
            if isinstance(spec, OpSpec):
                draw(to_snake_case(spec.layer_name()))
                continue
            for inner in _layer_args(spec):
                if "name" not in dict(getattr(inner, "kwargs", ()) or ()):
                    draw(to_snake_case(_class(inner)))
            hole = holes.get((graph.name, layer.name))
            base = to_snake_case(_class(spec))
            own = hole is not None and id(hole) not in kept and not unsure and base not in nested
            if own:
                if draw(base) != layer.name:
                    failed.add(id(hole))
            elif hole is not None:
                failed.add(id(hole))
            for sub in SUBLAYER_NAMES.get(_class(spec), ()):  # after its own name
                draw(sub)
            if isinstance(spec, GenericLayer) or getattr(spec, "takes_input_shape", False):
                unsure = True  # it may make and name layers of its own: keep every later name

    walk(root, {root.name})
    return failed


def _class(spec: Any) -> str:
    """The class whose snake-cased name Keras draws from."""
    name = str(spec.class_name if isinstance(spec, GenericLayer) else spec.layer_name())
    return KERAS_CLASS_NAMES.get(name, name)


def _layer_args(spec: Any) -> Iterator[Any]:
    """Layers given as a layer's arguments, depth first, as Python makes them: inner first."""
    if not isinstance(spec, LayerSpec | GenericLayer):
        return
    values, _ = resolved_args(spec)

    def each(value: Any) -> Iterator[Any]:
        if isinstance(value, LayerSpec | GenericLayer):
            yield from _layer_args(value)
            yield value
        elif isinstance(value, list | tuple):
            for v in value:
                yield from each(v)
        elif isinstance(value, dict):
            for v in value.values():
                yield from each(v)

    for value in values.values():
        yield from each(value)


def _nested_bases(graph: Graph) -> set[str]:
    """Classes made as arguments: their automatic names are in the outer layer's config."""
    return {
        to_snake_case(_class(inner))
        for call in graph.calls
        if not isinstance(call.layer.spec, Graph | OpSpec) and not call.layer.is_input
        for inner in _layer_args(call.layer.spec)
    }


def _graphs(graph: Graph, seen: set[str]) -> Iterator[Graph]:
    if graph.name in seen:
        return
    seen.add(graph.name)
    yield graph
    for call in graph.calls:
        if isinstance(call.layer.spec, Graph):
            yield from _graphs(call.layer.spec, seen)
