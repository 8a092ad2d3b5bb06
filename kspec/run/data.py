"""The data section at run time: load the source, fit it to the model, build tf.data pipelines.

Loading happens before any model is built, so that a missing file or an offline dataset fails in
seconds. Array sources reach fit as a Keras tutorial feeds them: NumPy arrays cast, scaled and
reshaped once, batched and shuffled by Keras itself; the generated script does the same, line for
line. Directory sources and augmentation use a short tf.data pipeline, the same in both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kspec.catalog import KerasObject, LayerSpec
from kspec.catalog.shapes import show
from kspec.check.graph import Setting
from kspec.check.settings import DataOptions, Port, Signature, feed_dtype, signature_of_graph
from kspec.diagnostics import suggest
from kspec.run.request import Loaded, Part, Request
from kspec.run.sources import load
from kspec.source import NO_SPAN, Source

__all__ = [
    "Data",
    "DataOptions",
    "Feed",
    "Port",
    "Signature",
    "fit_args",
    "load_data",
    "pipeline",
    "prepared",
    "signature_of_graph",
    "signature_of_model",
]


@dataclass
class Data:
    """Examples named after the model's inputs and outputs, split for training and validation."""

    train: Part
    validation: Part | None
    options: DataOptions
    signature: Signature
    test: Part | None = None  # the source's own held-out set (MNIST's t10k), when it has one


def _keras_loss_name(loss: Any) -> str | None:
    """A compiled loss as a name: a string, a loss function or a Loss object."""
    if isinstance(loss, str) or loss is None:
        return loss
    return getattr(loss, "__name__", None) or getattr(loss, "name", None)


def signature_of_model(model: Any) -> Signature:
    """The same for a saved keras.Model (evaluate and predict)."""
    loss = getattr(model, "loss", None)
    inputs = tuple(Port(t.name, tuple(t.shape[1:]), str(t.dtype)) for t in model.inputs)
    outputs = []
    names = getattr(model, "output_names", None) or [model.layers[-1].name]  # Sequential has none
    for i, (name, tensor) in enumerate(zip(names, model.outputs, strict=True)):
        one = (
            loss.get(name)
            if isinstance(loss, dict)
            else loss[i]
            if isinstance(loss, list)
            else loss
        )
        outputs.append(Port(name, tuple(tensor.shape[1:]), loss=_keras_loss_name(one)))
    return Signature(inputs, tuple(outputs))


# -- loading -------------------------------------------------------------------------------
def load_data(
    data: dict[str, Setting],
    sources: dict[str, Source],
    signature: Signature,
    *,
    spec_path: str,
    workdir: Path,
    seed: int = 0,
) -> Data:
    """Load `data.source` and fit it to `signature`; every problem is a KspecError at `source`.

    Paths written in the spec file are relative to that file; paths given on the command line
    (`--set`, `--data`) are relative to the working directory.
    """
    options = DataOptions.from_section(data)
    req = request(data, sources, signature, spec_path=spec_path, workdir=workdir, seed=seed)
    loaded = load(req)
    train, validation = _split(loaded, req, options)
    test = _fit(loaded.test, req, options) if loaded.test is not None else None
    return Data(train, validation, options, signature, test)


def request(
    data: dict[str, Setting],
    sources: dict[str, Source],
    signature: Signature,
    *,
    spec_path: str,
    workdir: Path,
    seed: int = 0,
) -> Request:
    setting = data.get("source") or Setting(KerasObject("synthetic"), NO_SPAN)
    span = setting.span
    from_file = span.path == spec_path and not span.path.startswith("--")
    base = Path(spec_path).resolve().parent if from_file else workdir
    split = DataOptions.from_section(data).validation_split
    return Request(setting.value, span, sources, base, signature, split, seed)


def _split(loaded: Loaded, req: Request, options: DataOptions) -> tuple[Part, Part | None]:
    """Validation is the split's tail if validation_split > 0, else the source's own test set."""
    train = _fit(loaded.train, req, options)
    if loaded.validation is not None:  # directory loaders split by themselves
        return train, _fit(loaded.validation, req, options)
    if options.validation_split > 0 and train.dataset is None:
        return train.split(options.validation_split)
    if loaded.test is not None:
        return train, _fit(loaded.test, req, options)
    return train, None


def _fit(part: Part, req: Request, options: DataOptions) -> Part:
    """Name the part's arrays after the model's inputs/outputs and check that they fit."""
    sig = req.signature
    if part.dataset is not None:
        return _fit_dataset(part, req)
    x = _named(part.x, sig.inputs, options.inputs, "input", req)
    y = _named(part.y, sig.outputs, options.outputs, "output", req)
    for port in sig.inputs:
        check_fits(port, tuple(x[port.name].shape[1:]), req)
    for port in sig.outputs:
        _check_labels(port, y[port.name], req)
    return Part(x, y, count=part.count)


def _named(
    arrays: dict[str, np.ndarray],
    ports: tuple[Port, ...],
    chosen: tuple[str, ...] | None,
    what: str,
    req: Request,
) -> dict[str, np.ndarray]:
    names = [p.name for p in ports]
    order = list(chosen) if chosen else names
    out: dict[str, np.ndarray] = {}
    for i, (key, value) in enumerate(arrays.items()):
        if key == "" or key.startswith("#"):
            if i >= len(order):
                raise req.fail(
                    f"the source yields {len(arrays)} {what} arrays but the model has "
                    f"{len(names)} {what}s: {', '.join(names)}"
                )
            key = order[i]
        if key not in names:
            raise req.fail(
                f"the source feeds {what} '{key}', which the model does not have",
                help=suggest(key, names) or f"{what}s: {', '.join(names)}",
            )
        out[key] = value
    missing = [n for n in names if n not in out]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise req.fail(
            f"the source does not feed the model's {what}{plural} {', '.join(missing)}",
            help=f'a source with several arrays names them: npz("f.npz", '
            f"{'x' if what == 'input' else 'y'}={{{', '.join(f'{n}: ...' for n in names)}}})",
        )
    return out


def fits(want: tuple[int | None, ...], have: tuple[int | None, ...]) -> str | None:
    """`same`, `reshape` when only the axes differ ((28, 28) into (28, 28, 1)), or None."""
    if len(want) == len(have) and all(
        a is None or b is None or a == b for a, b in zip(want, have, strict=True)
    ):
        return "same"
    known_want, known_have = [d for d in want if d is not None], [d for d in have if d is not None]
    if len(known_want) == len(want) and len(known_have) == len(have):
        return "reshape" if math.prod(known_want) == math.prod(known_have) else None
    return None


def check_fits(port: Port, have: tuple[int | None, ...], req: Request) -> None:
    if fits(port.shape, have) is None:
        declared = ", ".join("none" if d is None else str(d) for d in have)
        declared = f"({declared},)" if len(have) == 1 else f"({declared})"
        raise req.fail(
            f"input '{port.name}' has shape {show(port.shape)} but the data's examples "
            f"have shape {show(have)}",
            code="data-mismatch",
            help=f"declare `input {port.name}: {declared}`, or use data that fits the model",
        )


def _check_labels(port: Port, y: np.ndarray, req: Request) -> None:
    """Class indices must fit the output: Keras would fail mid-epoch with a C++ error otherwise."""
    loss = (port.loss or "").lower().replace("_", "")
    units = port.shape[-1] if port.shape else None
    if (
        loss == "sparsecategoricalcrossentropy"
        and units
        and np.issubdtype(y.dtype, np.integer)
        and y.size
    ):
        top = int(y.max())
        if top >= units:
            raise req.fail(
                f"labels run up to {top} but output '{port.name}' has {units} units "
                f"(one per class)",
                code="data-mismatch",
                help=f"make the last layer Dense({top + 1}, ...)",
            )


def _fit_dataset(part: Part, req: Request) -> Part:
    sig = req.signature
    if len(sig.inputs) != 1 or len(sig.outputs) != 1:
        raise req.fail("images() and text() feed models with one input and one output")
    spec = part.dataset.element_spec[0]
    check_fits(sig.inputs[0], tuple(spec.shape), req)
    return part


# -- feeding fit ------------------------------------------------------------------------------
@dataclass
class Feed:
    """What model.fit and evaluate take: NumPy arrays and a batch size, as a Keras tutorial feeds
    them (the generated script feeds the same arrays), or a batched tf.data.Dataset."""

    x: Any
    y: Any = None
    batch_size: int | None = None
    shuffle: bool = False

    def evaluate_args(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "batch_size": self.batch_size}


def fit_args(train: Feed, validation: Feed | None) -> dict[str, Any]:
    """model.fit's data arguments for a training and a validation feed."""
    args: dict[str, Any] = {"x": train.x, "y": train.y, "shuffle": train.shuffle}
    if train.batch_size is not None:  # arrays: Keras batches and shuffles them
        args["batch_size"] = train.batch_size
    if validation is not None:
        args["validation_data"] = (
            validation.x if validation.y is None else (validation.x, validation.y)
        )
        args["validation_batch_size"] = validation.batch_size
    return args


def pipeline(
    part: Part,
    signature: Signature,
    options: DataOptions,
    batch_size: int,
    *,
    training: bool,
    seed: int | None = None,
    augment: Any = None,
) -> Feed:
    """The part as fit takes it: prepared NumPy arrays that Keras batches and shuffles itself;
    a tf.data pipeline only where arrays cannot do it (directory sources, augmentation)."""
    shuffle = training and options.shuffle
    augment = augment if training else None
    if part.dataset is None and options.feed == "batches" and augment is None:
        from kspec.run.batches import batches_class

        def prepare(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> tuple[Any, Any]:
            return prepared(Part(x, y), signature, options.scale)

        batches = batches_class()(part.x, part.y, batch_size, prepare, shuffle=shuffle, seed=seed)
        return Feed(batches)
    if part.dataset is None:
        x, y = prepared(part, signature, options.scale)
        if augment is None:
            return Feed(x, y, batch_size, shuffle)
    import tensorflow as tf

    if part.dataset is not None:
        ds = _dataset_pipeline(part, signature, options, batch_size, shuffle, seed)
    else:
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            ds = ds.shuffle(int(part.count or 0), seed=seed)
        ds = ds.batch(batch_size)
    if augment is not None:
        # Random layers draw from one seed generator: parallel calls would take its states in
        # any order, so a seeded run augments one batch at a time to stay reproducible.
        parallel = None if seed is not None else tf.data.AUTOTUNE
        ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=parallel)
    return Feed(ds.prefetch(tf.data.AUTOTUNE))


def prepared(part: Part, signature: Signature, scale: float | None) -> tuple[Any, Any]:
    """Inputs cast to their feed dtype, float inputs scaled, reshaped ((28, 28) into (28, 28, 1));
    integer labels as int32, others as float32. One array for one input or output, else dicts."""

    def to_input(value: np.ndarray, port: Port) -> np.ndarray:
        dtype = feed_dtype(port.dtype)
        value = np.asarray(value)
        if dtype != "string":
            value = value.astype(dtype)
        if dtype == "float32" and scale is not None:
            value = value * scale
        if fits(port.shape, tuple(value.shape[1:])) == "reshape":
            value = value.reshape(-1, *port.shape)
        return value

    def to_label(value: np.ndarray) -> np.ndarray:
        value = np.asarray(value)
        return value.astype("int32" if value.dtype.kind in "iu" else "float32")

    xs = {p.name: to_input(part.x[p.name], p) for p in signature.inputs}
    ys = {p.name: to_label(part.y[p.name]) for p in signature.outputs}
    return _one_or_all(xs), _one_or_all(ys)


def _one_or_all(arrays: dict[str, np.ndarray]) -> Any:
    return next(iter(arrays.values())) if len(arrays) == 1 else arrays


def _dataset_pipeline(
    part: Part,
    signature: Signature,
    options: DataOptions,
    batch_size: int,
    shuffle: bool,
    seed: int | None,
) -> Any:
    """A directory source's examples, batched, cast and scaled per batch."""
    import tensorflow as tf

    convert = _converter(signature, options.scale)
    port_x, port_y = signature.inputs[0].name, signature.outputs[0].name
    ds = part.dataset
    if options.cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(part.count or 10_000, 10_000), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(
        lambda x, y: convert({port_x: x}, {port_y: y}), num_parallel_calls=tf.data.AUTOTUNE
    )


def _converter(signature: Signature, scale: float | None) -> Any:
    """Per batch: cast to the input's dtype, scale float inputs, reshape (28, 28) -> (28, 28, 1)."""
    import tensorflow as tf

    single_x, single_y = len(signature.inputs) == 1, len(signature.outputs) == 1

    def to_input(value: Any, port: Port) -> Any:
        dtype = feed_dtype(port.dtype)
        floating = dtype == "float32"
        value = tf.cast(value, dtype)
        if floating and scale is not None:
            value = value * scale
        if fits(port.shape, tuple(value.shape[1:])) == "reshape":
            value = tf.reshape(value, [-1, *port.shape])
        return value

    def to_label(value: Any) -> Any:
        return tf.cast(value, "int32" if value.dtype.is_integer else "float32")

    def convert(x: dict[str, Any], y: dict[str, Any]) -> tuple[Any, Any]:
        xs = {p.name: to_input(x[p.name], p) for p in signature.inputs}
        ys = {p.name: to_label(y[p.name]) for p in signature.outputs}
        return (next(iter(xs.values())) if single_x else xs), (
            next(iter(ys.values())) if single_y else ys
        )

    return convert


def augmenter(layers: tuple[LayerSpec, ...], signature: Signature) -> Any:
    """The augment layers as one callable, applied to image-like (rank 3) inputs only: a Pipeline,
    which stays usable inside tf.data under any backend (a Sequential would not)."""
    if not layers:
        return None
    import keras

    from kspec.keras.build import make_layer

    stack = keras.layers.Pipeline([make_layer(spec) for spec in layers], name="augment")
    images = [p.name for p in signature.inputs if len(p.shape) == 3]
    if len(signature.inputs) == 1:
        return stack

    def apply(x: dict[str, Any], training: bool = True) -> dict[str, Any]:
        return {k: stack(v, training=training) if k in images else v for k, v in x.items()}

    return apply
