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


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset((28, 28), 10, "classification"),
    "fashion_mnist": Dataset((28, 28), 10, "classification"),
    "cifar10": Dataset((32, 32, 3), 10, "classification"),
    "cifar100": Dataset((32, 32, 3), 100, "classification"),
    "imdb": Dataset((None,), 2, "binary"),
    "reuters": Dataset((None,), 46, "classification"),
    "boston_housing": Dataset((13,), None, "regression"),
    "digits": Dataset((8, 8), 10, "classification"),
}


@dataclass(frozen=True)
class LoaderArg:
    name: str
    kind: str  # "str", "int", "float", "bool", "pair", "names", "any"
    default: Any = ...  # ... = required


# Loader calls: `idx("dir")`, `npz("f.npz", x="x_train", y="y_train")`, ...
LOADERS: dict[str, tuple[LoaderArg, ...]] = {
    "idx": (
        LoaderArg("path", "str"),
        LoaderArg("images", "str", None),
        LoaderArg("labels", "str", None),
    ),
    "npz": (LoaderArg("path", "str"), LoaderArg("x", "any", "x"), LoaderArg("y", "any", "y")),
    "csv": (
        LoaderArg("path", "str"),
        LoaderArg("label", "any", "label"),
        LoaderArg("features", "names", None),
        LoaderArg("delimiter", "str", ","),
        LoaderArg("classes", "int", None),
    ),
    "images": (
        LoaderArg("path", "str"),
        LoaderArg("size", "pair", (256, 256)),
        LoaderArg("color_mode", "str", "rgb"),
        LoaderArg("labels", "str", "inferred"),
    ),
    "text": (
        LoaderArg("path", "str"),
        LoaderArg("max_tokens", "int", 20000),
        LoaderArg("sequence_length", "int", 200),
    ),
    "synthetic": (
        LoaderArg("samples", "int", 1024),
        LoaderArg("classes", "int", None),
        LoaderArg("seed", "int", 0),
    ),
    "digits": (),
}
