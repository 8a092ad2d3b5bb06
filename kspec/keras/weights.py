"""`train { initial_weights = "..." }`: start a built model from saved weights."""

from __future__ import annotations

import os
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


def keras_message(e: Exception) -> str:
    """The sentence that says what went wrong, out of Keras's multi-line error text."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Exception encountered when calling")]
    text = lines[0] if lines else type(e).__name__
    if len(text) > 300:
        text = text[:297] + "..."
    return text.rstrip(".")


class WeightsFileMismatch(Exception):
    """An application's weights file that does not fit it; the builder shows it at the step."""

    def __init__(self, message: str, help: str):
        super().__init__(message)
        self.message, self.help = message, help


def load_application_weights(model: Any, path: str, what: str) -> None:
    """Load `weights = "file.weights.h5"` into an application built with weights=None, as
    Keras's constructor would, after comparing the file with the model: Keras matches a
    .weights.h5 file by structure only and loads a file with extra layers (another
    include_top) without a word, so every difference is reported, by layer name, first."""
    import h5py

    from kspec.check.naming import to_snake_case

    expected: dict[str, tuple[str, list[tuple[str, tuple[int, ...]]]]] = {}
    used: dict[str, int] = {}
    for layer in model.layers:  # keyed as keras/src/saving/saving_lib.py keys the file
        base = to_snake_case(type(layer).__name__)
        used[base] = used.get(base, -1) + 1
        key = base if used[base] == 0 else f"{base}_{used[base]}"
        if layer.weights:
            variables = [(w.name, tuple(int(d) for d in w.shape)) for w in layer.weights]
            expected[key] = (layer.name, variables)
    name = os.path.basename(path)
    try:
        found = _file_layers(h5py, path)
    except (OSError, KeyError, ValueError) as e:
        raise WeightsFileMismatch(
            f"{what}: cannot read the weights file {name}: {e}",
            "a weights file is what model.save_weights writes (.weights.h5)",
        ) from None
    differ: list[str] = []
    missing: list[str] = []
    for key, (layer_name, variables) in expected.items():
        if key not in found:
            missing.append(layer_name)
            continue
        shapes = found[key][1]
        if len(shapes) != len(variables):
            differ.append(f"'{layer_name}' has {len(variables)} variables, the file {len(shapes)}")
        else:
            for (var, shape), theirs in zip(variables, shapes, strict=True):
                if shape != theirs:
                    differ.append(f"'{layer_name}' {var} is {shape}, in the file {theirs}")
                    break
    extra = [found[key][0] for key in found if key not in expected]
    if not (differ or missing or extra):
        model.load_weights(path)
        return
    parts = []
    if differ:
        verb = "differs" if len(differ) == 1 else "differ"
        parts.append(f"{_count(len(differ), 'layer')} {verb} ({_some(differ)})")
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        parts.append(
            f"{_count(len(missing), 'layer')} {verb} not in the file ({_some(missing, True)})"
        )
    if extra:
        parts.append(f"the file has {_count(len(extra), 'layer')} more ({_some(extra, True)})")
    raise WeightsFileMismatch(
        f"{what}: the weights file {name} does not fit it: {'; '.join(parts)}",
        "the file must be model.save_weights of the same application with the same arguments "
        "(include_top, classes, alpha, ...) and input channels; weights = none starts from "
        "random weights",
    )


def _file_layers(h5py: Any, path: str) -> dict[str, tuple[str, list[tuple[int, ...]]]]:
    """The file's layers with variables: key -> (layer name Keras recorded, variable shapes)."""
    out: dict[str, tuple[str, list[tuple[int, ...]]]] = {}
    with h5py.File(path, "r") as f:
        layers = f["layers"]
        for key in layers:
            group = layers[key]
            values = group.get("vars")
            if values is None or not len(values):
                continue
            recorded = values.attrs.get("name", key)
            label = recorded.decode() if isinstance(recorded, bytes) else str(recorded)
            out[key] = (label, [tuple(values[str(i)].shape) for i in range(len(values))])
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _some(items: list[str], quote: bool = False, shown: int = 3) -> str:
    texts = [f"'{i}'" if quote else i for i in items[:shown]]
    sep = ", " if quote else "; "
    more = f"{sep}and {len(items) - shown} more" if len(items) > shown else ""
    return sep.join(texts) + more
