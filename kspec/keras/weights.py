"""`train { initial_weights = "..." }`: start a built model from saved weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import Source, Span

WEIGHT_SUFFIXES = (".keras", ".weights.h5")


def load_initial_weights(model: Any, path: Path, span: Span, sources: dict[str, Source]) -> None:
    """Copy weights into `model` from a `.keras` file, matched by layer name (by path through
    nested models, else by a name that occurs once in the file), or from a `.weights.h5` file,
    which Keras matches by structure: its groups are named by class and order, not by layer."""

    def fail(message: str, help: str | None = None) -> KspecError:
        return KspecError([Diagnostic("weights-mismatch", message, span, help)], sources)

    if not path.is_file():
        raise fail(f"initial_weights: no file {path}", "the path is relative to the spec file")
    if path.name.endswith(".weights.h5"):
        try:
            model.load_weights(str(path))
        except Exception as e:
            from kspec.keras.build import keras_message

            raise fail(
                f"initial_weights: {path.name} does not fit this model: {keras_message(e)}",
                "a .weights.h5 file fits only the same architecture; a .keras file is matched "
                "by layer name",
            ) from None
        return
    import keras

    source = keras.saving.load_model(str(path), compile=False)
    by_path = dict(_walk(source))
    by_name: dict[str, list[Any]] = {}
    for p, layer in by_path.items():
        by_name.setdefault(p[-1], []).append(layer)
    missing: list[str] = []
    pairs: list[tuple[Any, Any]] = []
    for p, layer in _walk(model):
        if isinstance(layer, keras.Model) or not layer.weights:
            continue
        found = by_path.get(p)
        if found is None and len(by_name.get(p[-1], [])) == 1:
            found = by_name[p[-1]][0]
        shapes = [tuple(w.shape) for w in layer.weights]
        if found is None or [tuple(w.shape) for w in found.weights] != shapes:
            missing.append("/".join(p))
        else:
            pairs.append((layer, found))
    if missing:
        shown = ", ".join(missing[:10]) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise fail(
            f"initial_weights: {path.name} has no weights of the right shape for "
            f"{len(missing)} layer{'s' if len(missing) != 1 else ''}: {shown}",
            "weights are matched by layer name; name the layers as in the saved model "
            '(name="..."), or start from a run of this spec',
        )
    for layer, found in pairs:
        layer.set_weights(found.get_weights())


def _walk(container: Any, prefix: tuple[str, ...] = ()) -> Any:
    import keras

    for layer in container.layers:
        path = (*prefix, layer.name)
        yield path, layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer, path)
