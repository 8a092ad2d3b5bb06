"""Weights of keras.applications steps, checked before TensorFlow is imported.

`weights = imagenet` uses the file Keras downloads into its cache (`$KERAS_HOME/models/` or
`~/.keras/models/`); offline without it, the run stops before building anything and says
which file to put where. `weights = "file.weights.h5"` must exist (relative to the spec).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from kspec.catalog import ShapeError
from kspec.catalog.applications import Application
from kspec.check.graph import Checked, Graph, Layer, Tensor
from kspec.check.settings import application_weights
from kspec.diagnostics import Diagnostic, KspecError
from kspec.run.sources import keras_cache_dirs, reachable


def applications(graph: Graph) -> Iterator[tuple[Layer, Application, tuple[int | None, ...]]]:
    """Every application step of a model (nested models included) with its input shape."""
    for layer in graph.layers:
        if isinstance(layer.spec, Graph):
            yield from applications(layer.spec)
        elif isinstance(layer.spec, Application) and layer.calls:
            first = layer.calls[0].inputs
            if isinstance(first, Tensor) and first.shape is not None:
                yield layer, layer.spec, first.shape


def preflight_weights(checked: Checked, graph: Graph) -> None:
    """Fail fast when an application's weights cannot be had; every problem in one error."""
    problems: list[Diagnostic] = []
    for layer, spec, shape in applications(graph):
        weights = application_weights(spec, layer.span.path)
        name = spec.layer_name()
        if weights is None:
            continue
        if weights != "imagenet":
            if not os.path.isfile(weights):
                problems.append(
                    Diagnostic(
                        "weights-missing",
                        f"{name}: no such weights file: {weights}",
                        layer.span,
                        help="the path is relative to the spec file; write weights = imagenet "
                        "for Keras's ImageNet weights or weights = none for random ones",
                    )
                )
            continue
        from kspec.catalog.applications.trace import trace

        try:
            files = trace(spec, shape).weight_files
        except ShapeError:  # the checker reported it already
            continue
        for file, url in files:
            if any((d / file).exists() for d in keras_cache_dirs("models")):
                continue
            why = "KSPEC_OFFLINE is set" if os.environ.get("KSPEC_OFFLINE") else reachable(url)
            if why is None:
                continue  # Keras downloads it when the model is built
            folder = keras_cache_dirs("models")[0]
            problems.append(
                Diagnostic(
                    "weights-offline",
                    f"{name}'s ImageNet weights {file} are not in Keras's cache and cannot be "
                    f"downloaded ({why})",
                    layer.span,
                    help=f"put {file} (from {url}) in {_shown(folder)}/, Keras's cache "
                    "($KERAS_HOME/models/, else ~/.keras/models/); or load a local file: "
                    'weights = "path/to/file.weights.h5"',
                )
            )
    if problems:
        raise KspecError(problems, checked.sources)


def _shown(folder: Path) -> str:
    home = os.path.expanduser("~")
    text = str(folder)
    return "~" + text[len(home) :] if text.startswith(home + os.sep) else text
