"""The data and train sections as the backends read them: defaults filled in, the model's ports.

Both `kspec run` (kspec.run) and the code generator (kspec.codegen) start from these, so the two
agree on every default; nothing here imports NumPy, TensorFlow or Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from kspec.catalog import KerasObject, LayerSpec
from kspec.check.graph import Checked, Graph, Setting
from kspec.check.phases import Flags, phase_flags

# Batches per tf.function call: less Python per step. Measured at 0.61x the epoch time of
# steps_per_execution=1 for 8-64 on a quiet CPU, 0.90x on a loaded one (bench/README.md);
# the cost is a progress bar (and Ctrl-C) that moves 32 batches at a time.
DEFAULT_STEPS_PER_EXECUTION = 32
DEFAULT_BATCH_SIZE = 32  # Keras's fit default


def feed_dtype(dtype: str) -> str:
    """The dtype an input's data is cast to before the model sees it, by `kspec run`, `kspec
    predict` and generated scripts alike: float32 for floating inputs (which `scale` applies
    to), integers, booleans and strings as declared."""
    return dtype if dtype.startswith(("int", "uint", "bool", "string")) else "float32"


@dataclass(frozen=True)
class Port:
    """One model input or output as the data side sees it."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"
    loss: str | None = None  # outputs: the loss's name, which decides synthetic targets
    vocab: int | None = None  # integer inputs: ids stay below this (an Embedding's input_dim)


@dataclass(frozen=True)
class Signature:
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]


@dataclass(frozen=True)
class DataOptions:
    """The data section's fields with their defaults (shuffle as Keras's fit: on)."""

    scale: float | None = None
    validation_split: float = 0.0
    shuffle: bool = True
    cache: bool = False
    augment: tuple[LayerSpec, ...] = ()
    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] | None = None
    # "batches": arrays stay as loaded (uint8) and each batch is prepared as it is drawn
    feed: str = "arrays"

    @classmethod
    def from_section(cls, data: dict[str, Setting]) -> DataOptions:
        def get(name: str, default: Any) -> Any:
            setting = data.get(name)
            return default if setting is None or setting.value is None else setting.value

        return cls(
            get("scale", None),
            get("validation_split", 0.0),
            get("shuffle", True),
            get("cache", False),
            tuple(get("augment", ())),
            tuple(get("inputs", ())) or None,
            tuple(get("outputs", ())) or None,
            get("feed", "arrays"),
        )


# -- the model's side ----------------------------------------------------------------------
def _loss_name(value: Any) -> str | None:
    if isinstance(value, KerasObject):
        return value.name
    return value if isinstance(value, str) else None


def signature_of_graph(graph: Graph, train: dict[str, Setting]) -> Signature:
    """A checked model's inputs and outputs, with each output's loss and id inputs' vocabulary."""
    loss = train["loss"].value if "loss" in train else None
    inputs = []
    for tensor in graph.inputs:
        vocab = None
        for call in graph.calls:
            spec = call.layer.spec
            feeds = any(t is tensor for t in call.input_list())
            if feeds and isinstance(spec, LayerSpec) and hasattr(spec, "input_dim"):
                vocab = int(spec.input_dim)
        layer = tensor.layer
        inputs.append(
            Port(layer.name, tuple(layer.input_shape or ()), layer.dtype or "float32", vocab=vocab)
        )
    outputs = []
    for name, tensor in zip(graph.output_names, graph.outputs, strict=True):
        key = name or tensor.layer.name
        one = loss.get(key) if isinstance(loss, dict) else loss
        outputs.append(Port(key, tuple(tensor.shape or ()), loss=_loss_name(one)))
    return Signature(tuple(inputs), tuple(outputs))


@dataclass(frozen=True)
class TrainSettings:
    """The train section with kspec's defaults filled in."""

    epochs: int
    batch_size: int
    seed: int | None
    steps_per_execution: int
    jit_compile: bool | str
    mixed_precision: bool
    distribute: str | None
    fields: dict[str, Setting]

    @classmethod
    def of(cls, train: dict[str, Setting], epochs: int | None) -> TrainSettings:
        def get(name: str, default: Any) -> Any:
            setting = train.get(name)
            return default if setting is None or setting.value is None else setting.value

        distribute = get("distribute", None)
        distribute = None if distribute == "none" else distribute
        steps = get("steps_per_execution", "auto")
        if steps == "auto":  # Keras 3.15's multi-step loop fails under MultiWorkerMirroredStrategy
            steps = 1 if distribute == "multi_worker" else DEFAULT_STEPS_PER_EXECUTION
        return cls(
            epochs or get("epochs", 1),
            get("batch_size", DEFAULT_BATCH_SIZE),
            get("seed", None),
            steps,
            get("jit_compile", "auto"),
            get("mixed_precision", False),
            distribute,
            train,
        )


@dataclass(frozen=True)
class Stage:
    """One fit of a run: the main training (name None) or a `phase NAME`, with its settings."""

    name: str | None
    settings: TrainSettings
    flags: Flags  # every layer's trainable flag during this stage
    epochs: int  # epochs of this stage alone


def stages(checked: Checked, graph: Graph, settings: TrainSettings) -> list[Stage]:
    """The main training, then each phase with its fields over the main ones, in order."""
    flags = phase_flags(graph, checked.phases)
    out = [Stage(None, settings, flags[0], settings.epochs)]
    for phase, phase_flag in zip(checked.phases, flags[1:], strict=True):
        merged = TrainSettings.of({**settings.fields, **phase.fields}, None)
        epochs = phase.fields["epochs"].value if "epochs" in phase.fields else settings.epochs
        out.append(Stage(phase.name, replace(merged, epochs=epochs), phase_flag, epochs))
    return out


def application_weights(spec: LayerSpec, spec_path: str) -> str | None:
    """An application's `weights` as Keras takes it: imagenet, None, or a file path made
    absolute against the folder of the spec file that wrote it (`spec_path`)."""
    import os

    weights = getattr(spec, "weights", None)
    if weights is None or weights == "imagenet":
        return weights
    path = os.path.expanduser(str(weights))
    if os.path.isabs(path) or not spec_path or spec_path.startswith("--"):
        return path
    return os.path.join(os.path.dirname(os.path.abspath(spec_path)), path)
