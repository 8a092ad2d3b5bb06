"""Setting a built Keras model's trainable flags to those of a training phase."""

from __future__ import annotations

from typing import Any

from kspec.check.phases import Flags, Path


def apply_flags(model: Any, flags: Flags) -> None:
    """Give every layer at every depth its flag in `flags`.

    Keras's `trainable` setter recurses into a model's layers, so a model's own flag is set
    before the flags of the layers inside it, and only where it changes.
    """
    import keras

    def visit(container: Any, prefix: Path) -> None:
        # An application's InputLayer is named by the session (input_layer_3): the checker's
        # paths are then matched by position, in the same Keras order.
        inside = [p for p in flags if len(p) == len(prefix) + 1 and p[:-1] == prefix]
        for i, layer in enumerate(container.layers):
            path = (*prefix, layer.name)
            if path not in flags and i < len(inside) and len(inside) == len(container.layers):
                path = inside[i]
            want = flags.get(path)
            if want is not None and layer.trainable != want:
                layer.trainable = want
            if isinstance(layer, keras.Model):
                visit(layer, path)

    visit(model, ())
