"""Data sources a spec can name: what each yields, so the checker can match it to the model.

The runner (kspec/run/data.py) reads the same table; shapes exclude the batch axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Dataset:
    x: tuple[int | None, ...] | None  # one example's shape, None when known only at load time
    classes: int | None  # label classes for classification, None for regression/unknown
    task: str  # "classification", "binary", "regression", "sequence-classification"
    keras: bool = True  # loaded by keras.datasets.<name>.load_data(); else by kspec itself
    labels: str | None = "index"  # "index": one class number per example; None: real values
    examples: int | None = None  # training examples (before validation_split), when fixed


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset((28, 28), 10, "classification", examples=60000),
    "fashion_mnist": Dataset((28, 28), 10, "classification", examples=60000),
    "cifar10": Dataset((32, 32, 3), 10, "classification", examples=50000),
    "cifar100": Dataset((32, 32, 3), 100, "classification", examples=50000),
    "imdb": Dataset((None,), 2, "binary", examples=25000),
    "reuters": Dataset((None,), 46, "classification", examples=8982),
    "boston_housing": Dataset((13,), None, "regression", labels=None, examples=404),
    # scikit-learn's, offline
    "digits": Dataset((8, 8), 10, "classification", keras=False, examples=1797),
}
KERAS_DATASETS = tuple(name for name, d in DATASETS.items() if d.keras)


@dataclass(frozen=True)
class LoaderArg:
    name: str
    kind: str  # "str", "int", "float", "bool", "pair", "names", "any"
    default: Any = ...  # ... = required


@dataclass(frozen=True)
class Loader:
    doc: str  # what it reads, for docs/layers.md and the generated script's docstring
    args: tuple[LoaderArg, ...]
    labels: str | None = None  # "index" when every label it yields is a class number


# Loader calls: `idx("dir")`, `npz("f.npz", x="x_train", y="y_train")`, ...
LOADERS: dict[str, Loader] = {
    "idx": Loader(
        "IDX files (the MNIST format)",
        (
            LoaderArg("path", "str"),
            LoaderArg("images", "str", None),
            LoaderArg("labels", "str", None),
        ),
        labels="index",
    ),
    "npz": Loader(
        "arrays from a NumPy .npz file",
        (LoaderArg("path", "str"), LoaderArg("x", "any", "x"), LoaderArg("y", "any", "y")),
    ),
    "csv": Loader(
        "a CSV file's columns",
        (
            LoaderArg("path", "str"),
            LoaderArg("label", "any", "label"),
            LoaderArg("features", "names", None),
            LoaderArg("delimiter", "str", ","),
            LoaderArg("classes", "int", None),
        ),
    ),
    "images": Loader(
        "images, one folder per class",
        (
            LoaderArg("path", "str"),
            LoaderArg("size", "pair", (256, 256)),
            LoaderArg("color_mode", "str", "rgb"),
            LoaderArg("labels", "str", "inferred"),
        ),
        labels="index",  # Keras's label_mode="int"
    ),
    "text": Loader(
        "text files, one folder per class",
        (
            LoaderArg("path", "str"),
            LoaderArg("max_tokens", "int", 20000),
            LoaderArg("sequence_length", "int", 200),
        ),
        labels="index",
    ),
    "synthetic": Loader(
        "random examples shaped to the model, the same for the same seed",
        (
            LoaderArg("samples", "int", 1024),
            LoaderArg("classes", "int", None),
            LoaderArg("seed", "int", 0),
        ),
    ),
    "digits": Loader("scikit-learn's 8x8 handwritten digits", (), labels="index"),
}
