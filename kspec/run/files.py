"""Sources read from the user's files: idx (MNIST-family IDX), npz, csv, images and text folders."""

from __future__ import annotations

import contextlib
import csv
import gzip
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from kspec.run.request import Loaded, Part, Request

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


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
        with open(path, "rb") as handle:  # ours to close, also when np.load fails
            loaded = np.load(handle, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError("not a .npz archive (a single .npy array?)")
            with loaded as f:
                arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise req.fail(f"npz(): no such file: {path}", code="data-missing") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        # An empty or truncated file is EOFError or BadZipFile, not OSError.
        raise req.fail(f"npz(): cannot read {path}: {e or type(e).__name__}") from None

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
    try:  # Keras prints "Using N files for ..." whatever verbose says: keep stdout for results
        with contextlib.redirect_stdout(sys.stderr):
            got = _read_directory(req.source.name, folder, args, common)
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


def _read_directory(kind: str, folder: Path, args: dict[str, Any], common: dict[str, Any]) -> Any:
    import keras

    if kind == "images":
        return keras.utils.image_dataset_from_directory(
            str(folder),
            labels=args.get("labels", "inferred"),
            image_size=tuple(args.get("size", (256, 256))),
            color_mode=args.get("color_mode", "rgb"),
            **common,
        )
    return keras.utils.text_dataset_from_directory(str(folder), **common)
