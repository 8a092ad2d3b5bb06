"""Data sources: what `data.source` names, loaded into NumPy arrays or an unbatched tf.data.Dataset.

Each loader returns a `Loaded`: the training examples and, when the source has one, its own
held-out set (Keras datasets' test split, `t10k-*` IDX files). This module holds the types, the
Keras datasets, `digits` and `synthetic`; files.py reads idx/npz/csv files and directories.
Fitting examples to the model and batching them is data.py's job. Every failure is a
KspecError pointing at the `source` line.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kspec.check.settings import Port
from kspec.diagnostics import KspecError
from kspec.run import files
from kspec.run.request import Loaded, Part, Request

GCS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
FASHION = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
# What keras.datasets.<name>.load_data() reads from <keras home>/datasets (Keras 3), and the
# URL it downloads from when the file is missing.
KERAS_FILES: dict[str, tuple[tuple[str, ...], str]] = {
    "mnist": (("mnist.npz",), GCS + "mnist.npz"),
    "fashion_mnist": (tuple(f"fashion-mnist/{f}" for f in FASHION), GCS),
    "cifar10": (
        ("cifar-10-batches-py-target_archive",),
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    ),
    "cifar100": (
        ("cifar-100-python-target_archive",),
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    ),
    "imdb": (("imdb.npz",), GCS + "imdb.npz"),
    "reuters": (("reuters.npz",), GCS + "reuters.npz"),
    "boston_housing": (("boston_housing.npz",), GCS + "boston_housing.npz"),
}


def load(req: Request) -> Loaded:
    if isinstance(req.source, str) and req.source in KERAS_FILES:
        return load_keras_dataset(req)
    name = req.source if isinstance(req.source, str) else req.source.name
    loader = loaders().get(name)
    if loader is None:
        raise req.fail(f"unknown data source '{name}'")
    return loader(req)


# -- Keras datasets ------------------------------------------------------------------------
def keras_cache_dirs() -> list[Path]:
    """Where keras.utils.get_file looks: $KERAS_HOME or ~/.keras, else /tmp/.keras if unwritable."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    dirs = [Path(home) / "datasets"]
    if not os.access(home, os.W_OK) and os.path.exists(home):
        dirs.append(Path("/tmp/.keras/datasets"))
    return dirs


def cached(name: str) -> bool:
    files, _ = KERAS_FILES[name]
    return any(all((d / f).exists() for f in files) for d in keras_cache_dirs())


def reachable(url: str, timeout: float = 3.0) -> str | None:
    """None if the URL's host answers within `timeout` seconds, else why not (never hangs)."""
    host = url.split("/")[2]
    outcome: list[str | None] = ["no answer within 3 seconds"]

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            outcome[0] = None
        except OSError as e:
            outcome[0] = e.strerror or str(e)

    worker = threading.Thread(target=probe, daemon=True)  # getaddrinfo has no timeout of its own
    worker.start()
    worker.join(timeout + 1)
    return outcome[0]


def preflight(req: Request) -> None:
    """Fail fast, before TensorFlow is even imported, when a Keras dataset cannot be had."""
    name = req.source
    if not isinstance(name, str) or name not in KERAS_FILES or cached(name):
        return
    if os.environ.get("KSPEC_OFFLINE"):
        raise _offline(req, name, "KSPEC_OFFLINE is set")
    url = KERAS_FILES[name][1]
    why = reachable(url)
    if why is not None:
        raise _offline(req, name, f"cannot reach {url.split('/')[2]}: {why}")


def load_keras_dataset(req: Request) -> Loaded:
    name = str(req.source)
    preflight(req)
    import keras

    module = getattr(keras.datasets, name)
    kwargs: dict[str, Any] = {}
    if name in ("imdb", "reuters"):
        kwargs["num_words"] = req.signature.inputs[0].vocab if req.signature.inputs else None
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)  # a download that stalls fails instead of hanging the run
    try:
        (x, y), (xt, yt) = module.load_data(**kwargs)
    except Exception as e:  # Keras raises bare Exception for download failures
        raise _offline(req, name, f"{type(e).__name__}: {e}") from None
    finally:
        socket.setdefaulttimeout(previous)
    if name in ("imdb", "reuters"):
        x, xt = _pad(x, req), _pad(xt, req)
    if y.ndim == 2 and y.shape[1] == 1:  # cifar labels are (n, 1)
        y, yt = y[:, 0], yt[:, 0]
    return Loaded(Part({"": x}, {"": y}, count=len(x)), Part({"": xt}, {"": yt}, count=len(xt)))


def _offline(req: Request, name: str, why: str) -> KspecError:
    files, url = KERAS_FILES[name]
    where = keras_cache_dirs()[0]
    expected = ", ".join(str(where / f) for f in files)
    origin = url if len(files) == 1 else f"{url}{{{','.join(FASHION)}}}"
    local = (
        'idx("path/to/dir")'
        if name in ("mnist", "fashion_mnist")
        else 'npz("path/to/file.npz", x=..., y=...)'
    )
    return req.fail(
        f"{name} is not in Keras's cache and cannot be downloaded ({why})",
        help=f"Keras expects {expected} (from {origin}); put the file there, or train "
        f"on local files: source = {local}",
        code="data-offline",
    )


def _pad(sequences: np.ndarray, req: Request) -> np.ndarray:
    import keras

    length = req.signature.inputs[0].shape[0] if req.signature.inputs else None
    return np.asarray(keras.utils.pad_sequences(list(sequences), maxlen=length), dtype=np.int32)


def load_digits(req: Request) -> Loaded:
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError:
        raise req.fail(
            "the digits source needs scikit-learn, which is not installed",
            help="pip install scikit-learn  (or: pip install 'kspec[datasets]')",
            code="data-missing-package",
        ) from None
    bunch = sk_digits()
    x = np.asarray(bunch.images, np.float32)
    return Loaded(Part({"": x}, {"": np.asarray(bunch.target, np.int32)}, count=len(x)))


def load_synthetic(req: Request) -> Loaded:
    """Random examples shaped to every model input and output, the same for the same seed."""
    args = req.args()
    n, classes = args.get("samples", 1024), args.get("classes")
    rng = np.random.default_rng(args.get("seed", 0))
    x: dict[str, np.ndarray] = {}
    y: dict[str, np.ndarray] = {}
    for port in req.signature.inputs:
        shape = _known(port, req)
        if port.dtype.startswith(("int", "uint")):
            x[port.name] = rng.integers(0, port.vocab or classes or 2, (n, *shape)).astype(
                port.dtype
            )
        elif port.dtype == "string":  # words w0, w1, ... for lookups and text layers
            x[port.name] = np.char.add("w", rng.integers(0, classes or 2, (n, *shape)).astype(str))
        else:
            x[port.name] = rng.standard_normal((n, *shape)).astype(np.float32)
    for port in req.signature.outputs:
        shape = _known(port, req)
        loss = (port.loss or "").lower().replace("_", "")
        units = shape[-1] if shape else 1
        if loss == "sparsecategoricalcrossentropy":
            y[port.name] = rng.integers(0, classes or units, (n, *shape[:-1])).astype(np.int32)
        elif loss in ("categoricalcrossentropy", "categoricalfocalcrossentropy"):
            y[port.name] = np.eye(units, dtype=np.float32)[rng.integers(0, units, (n, *shape[:-1]))]
        elif "binary" in loss or loss in ("hinge", "squaredhinge"):
            y[port.name] = rng.integers(0, 2, (n, *shape)).astype(np.float32)
        else:
            y[port.name] = rng.standard_normal((n, *shape)).astype(np.float32)
    return Loaded(Part(x, y, count=n))


def _known(port: Port, req: Request) -> tuple[int, ...]:
    if any(d is None for d in port.shape):
        raise req.fail(
            f"synthetic data needs fixed shapes, but '{port.name}' has shape {tuple(port.shape)}",
            help="give every axis a size, or use another source",
        )
    return tuple(int(d) for d in port.shape if d is not None)


def loaders() -> dict[str, Callable[[Request], Loaded]]:
    return {
        "idx": files.load_idx,
        "npz": files.load_npz,
        "csv": files.load_csv,
        "images": files.load_directory,
        "text": files.load_directory,
        "digits": load_digits,
        "synthetic": load_synthetic,
    }
