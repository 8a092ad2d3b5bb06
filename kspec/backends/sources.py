"""Data sources: what `data.source` names, loaded into NumPy arrays or an unbatched tf.data.Dataset.

Each loader returns a `Loaded`: the training examples and, when the source has one, its own
held-out set (Keras datasets' test split, `t10k-*` IDX files). Fitting them to the model and
batching is data.py's job. Every failure is a KspecError pointing at the `source` line.
"""

from __future__ import annotations

import csv
import gzip
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kspec.catalog import KerasObject
from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import Source, Span

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
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


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


@dataclass
class Part:
    """One split of the examples: arrays by name in memory, or an unbatched tf.data.Dataset.

    A loader that yields one unnamed array uses the key "" for it; data.py names it.
    """

    x: dict[str, np.ndarray] = field(default_factory=dict)
    y: dict[str, np.ndarray] = field(default_factory=dict)
    dataset: Any = None  # tf.data.Dataset of (x, y) pairs, for sources read from directories
    count: int | None = None

    def split(self, fraction: float) -> tuple[Part, Part]:
        """The first (1 - fraction) and the last `fraction` of the examples, as Keras splits."""
        n = self.count or 0
        cut = n - round(n * fraction)
        head = Part(
            {k: v[:cut] for k, v in self.x.items()},
            {k: v[:cut] for k, v in self.y.items()},
            count=cut,
        )
        tail = Part(
            {k: v[cut:] for k, v in self.x.items()},
            {k: v[cut:] for k, v in self.y.items()},
            count=n - cut,
        )
        return head, tail


@dataclass
class Loaded:
    train: Part
    test: Part | None = None  # the source's own held-out set
    validation: Part | None = None  # set by loaders that split themselves (directories)


@dataclass(frozen=True)
class Request:
    """What a loader needs: the source, where it was written, and the model it feeds."""

    source: Any  # a Keras dataset name or a KerasObject loader call
    span: Span
    sources: dict[str, Source]
    base: Path  # relative paths resolve against this
    signature: Signature
    validation_split: float = 0.0
    seed: int = 0

    def fail(self, message: str, help: str | None = None, code: str = "data-error") -> KspecError:
        return KspecError([Diagnostic(code, message, self.span, help)], self.sources)

    def path(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else self.base / p

    def args(self) -> dict[str, Any]:
        return self.source.kwargs_dict() if isinstance(self.source, KerasObject) else {}


def load(req: Request) -> Loaded:
    if isinstance(req.source, str) and req.source in KERAS_FILES:
        return load_keras_dataset(req)
    name = req.source if isinstance(req.source, str) else req.source.name
    loader = LOADERS.get(name)
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


# -- files ---------------------------------------------------------------------------------
def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzipped or raw): big-endian magic 0,0,type,ndim, then ndim uint32 sizes."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[0] or data[1] or data[2] not in IDX_TYPES:
        raise ValueError("not an IDX file (bad magic number)")
    ndim = data[3]
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_TYPES[data[2]])
    body = np.frombuffer(data, dtype, count=int(np.prod(dims)), offset=4 + 4 * ndim)
    return body.reshape(dims).astype(dtype.newbyteorder("="))


def load_idx(req: Request) -> Loaded:
    args = req.args()
    folder = req.path(args["path"])
    if args.get("images") or args.get("labels"):
        if not (args.get("images") and args.get("labels")):
            raise req.fail("idx(): give both images= and labels=, or neither")
        pairs = [(folder / args["images"], folder / args["labels"])]
    else:
        if not folder.is_dir():
            raise req.fail(
                f"idx(): no such directory: {folder}",
                code="data-missing",
                help="point it at the folder holding *-images-idx3-ubyte[.gz] and "
                "*-labels-idx1-ubyte[.gz]",
            )
        pairs = _idx_pairs(folder, req)
    parts = []
    for images, labels in pairs:
        arrays = []
        for p in (images, labels):
            try:
                arrays.append(read_idx(p))
            except FileNotFoundError:
                raise req.fail(f"idx(): no such file: {p}", code="data-missing") from None
            except (OSError, ValueError, EOFError) as e:
                raise req.fail(f"idx(): cannot read {p}: {e}") from None
        x, y = arrays
        if len(x) != len(y):
            raise req.fail(
                f"idx(): {images.name} has {len(x)} images but {labels.name} has {len(y)} labels"
            )
        parts.append(Part({"": x}, {"": y}, count=len(x)))
    return Loaded(parts[0], parts[1] if len(parts) > 1 else None)


def _idx_pairs(folder: Path, req: Request) -> list[tuple[Path, Path]]:
    """(train, test) image/label pairs: `train-*` before `t10k-*`/`test-*`; one pair is training."""
    images = sorted(
        p for p in folder.iterdir() if "images-idx3" in p.name or "images.idx3" in p.name
    )
    labels = sorted(
        p for p in folder.iterdir() if "labels-idx1" in p.name or "labels.idx1" in p.name
    )
    if not images or not labels:
        found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
        raise req.fail(
            f"idx(): no *-images-idx3-ubyte / *-labels-idx1-ubyte files in {folder}",
            code="data-missing",
            help=f"found: {found}",
        )

    def prefix(p: Path) -> str:
        return p.name.split("images")[0].split("labels")[0]

    by_prefix = {prefix(p): p for p in labels}
    pairs = [(img, by_prefix[prefix(img)]) for img in images if prefix(img) in by_prefix]
    if not pairs:
        raise req.fail(
            f"idx(): cannot pair image and label files in {folder}",
            help='name them explicitly: idx("dir", images="...", labels="...")',
        )
    pairs.sort(key=lambda pair: 0 if "train" in pair[0].name else 1)
    return pairs[:2]


def load_npz(req: Request) -> Loaded:
    args = req.args()
    path = req.path(args["path"])
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise req.fail(f"npz(): no such file: {path}", code="data-missing") from None
    except (OSError, ValueError) as e:
        raise req.fail(f"npz(): cannot read {path}: {e}") from None

    def pick(spec: Any, what: str) -> dict[str, np.ndarray]:
        if spec is None:
            return {}
        keys = spec if isinstance(spec, dict) else {"": spec} if isinstance(spec, str) else None
        if keys is None:  # a list: positional, named by data.inputs/outputs or the model's order
            keys = {f"#{i}": k for i, k in enumerate(spec)}
        for key in keys.values():
            if key not in arrays:
                raise req.fail(
                    f"npz(): {path.name} has no array '{key}'",
                    code="data-missing",
                    help=f"{what}= names one of: {', '.join(arrays)}",
                )
        return {name: arrays[key] for name, key in keys.items()}

    x, y = pick(args.get("x", "x"), "x"), pick(args.get("y", "y"), "y")
    counts = {len(v) for v in [*x.values(), *y.values()]}
    if len(counts) > 1:
        raise req.fail(f"npz(): arrays in {path.name} have different lengths: {sorted(counts)}")
    return Loaded(Part(x, y, count=counts.pop() if counts else 0))


def load_csv(req: Request) -> Loaded:
    args = req.args()
    path = req.path(args["path"])
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter=args.get("delimiter", ",")))
    except FileNotFoundError:
        raise req.fail(f"csv(): no such file: {path}", code="data-missing") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise req.fail(f"csv(): cannot read {path}: {e}") from None
    if not rows:
        raise req.fail(f"csv(): {path.name} is empty")
    header, body = [h.strip() for h in rows[0]], [r for r in rows[1:] if r]
    label = args.get("label", "label")
    columns = ", ".join(header)
    if isinstance(label, int):
        if not 0 <= label < len(header):
            raise req.fail(
                f"csv(): label column {label} is out of range ({len(header)} columns)",
                code="data-column",
                help=f"columns: {columns}",
            )
        label = header[label]
    if label not in header:
        raise req.fail(
            f"csv(): {path.name} has no column '{label}'",
            code="data-column",
            help=f"columns: {columns}",
        )
    features = args.get("features") or [h for h in header if h != label]
    for name in features:
        if name not in header:
            raise req.fail(
                f"csv(): {path.name} has no column '{name}'",
                code="data-column",
                help=f"columns: {columns}",
            )
    index = {h: i for i, h in enumerate(header)}
    table = np.array(
        [[r[index[h]].strip() if index[h] < len(r) else "" for h in header] for r in body]
    )
    if not len(table):
        raise req.fail(f"csv(): {path.name} has a header but no rows")
    x = np.empty((len(table), len(features)), np.float32)
    for j, name in enumerate(features):
        try:
            x[:, j] = table[:, index[name]].astype(np.float32)
        except ValueError:
            bad = next(i for i, v in enumerate(table[:, index[name]]) if not _is_number(v))
            raise req.fail(
                f"csv(): column '{name}' row {bad + 2} is not a number: "
                f"'{table[bad, index[name]]}'",
                code="data-column",
            ) from None
    raw = table[:, index[label]]
    if all(_is_number(v) for v in raw):
        values = raw.astype(np.float64)
        whole = bool(np.all(values == np.round(values)))
        y = values.astype(np.int32) if whole else values.astype(np.float32)
    else:  # class names: indices in sorted order, as Keras's directory loaders do
        names = sorted(set(raw))
        y = np.array([names.index(v) for v in raw], np.int32)
    classes = args.get("classes")
    if classes is not None and y.dtype == np.int32 and (y.min() < 0 or y.max() >= classes):
        raise req.fail(
            f"csv(): labels in '{label}' run from {y.min()} to {y.max()}, outside 0..{classes - 1}",
            code="data-column",
        )
    return Loaded(Part({"": x}, {"": y}, count=len(x)))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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


def load_directory(req: Request) -> Loaded:
    """images("dir", size=...) and text("dir"): Keras's directory loaders, unbatched."""
    import keras
    import tensorflow as tf

    args = req.args()
    folder = req.path(args["path"])
    if not folder.is_dir():
        raise req.fail(
            f"{req.source.name}(): no such directory: {folder}",
            code="data-missing",
            help="one sub-folder per class, e.g. dir/cats/*.jpg, dir/dogs/*.jpg",
        )
    split = req.validation_split or None
    common = {
        "batch_size": None,
        "seed": req.seed,
        "validation_split": split,
        "subset": "both" if split else None,
        "verbose": False,
    }
    try:
        if req.source.name == "images":
            got = keras.utils.image_dataset_from_directory(
                str(folder),
                labels=args.get("labels", "inferred"),
                image_size=tuple(args.get("size", (256, 256))),
                color_mode=args.get("color_mode", "rgb"),
                **common,
            )
        else:
            got = keras.utils.text_dataset_from_directory(str(folder), **common)
    except ValueError as e:
        raise req.fail(f"{req.source.name}(): {e}") from None
    train, val = got if split else (got, None)
    if req.source.name == "text":
        vectorize = keras.layers.TextVectorization(
            max_tokens=args.get("max_tokens", 20000),
            output_sequence_length=args.get("sequence_length", 200),
        )
        vectorize.adapt(train.map(lambda t, _: t).batch(256))
        train, val = (
            d.map(lambda t, label: (vectorize(t), label), num_parallel_calls=tf.data.AUTOTUNE)
            if d is not None
            else None
            for d in (train, val)
        )
    count = int(train.cardinality())
    validation = Part(dataset=val, count=int(val.cardinality())) if val is not None else None
    return Loaded(Part(dataset=train, count=count if count >= 0 else None), validation=validation)


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


LOADERS: dict[str, Callable[[Request], Loaded]] = {
    "idx": load_idx,
    "npz": load_npz,
    "csv": load_csv,
    "digits": load_digits,
    "images": load_directory,
    "text": load_directory,
    "synthetic": load_synthetic,
}
