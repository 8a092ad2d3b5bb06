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
        for layer in container.layers:
            path = (*prefix, layer.name)
            want = flags.get(path)
            if want is not None and layer.trainable != want:
                layer.trainable = want
            if isinstance(layer, keras.Model):
                visit(layer, path)

    visit(model, ())
