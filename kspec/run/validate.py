"""Loaded data checked before training: what would otherwise fail deep inside tf.data or train
silently to `loss nan`.

Arrays: numeric dtypes, finite inputs and labels, labels that fit the loss and the output's
units, one length per split. Image folders: every image file is whole (a truncated PNG or JPEG
otherwise fails mid-epoch inside tf.data). Each problem names the file, the array or image, and
the first bad index, at the spec's `data.source` line.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from kspec.check.settings import Port, Signature
from kspec.run.request import Part, Request

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}  # Keras's color_mode -> decode channels


def check_data(train: Part, validation: Part | None, signature: Signature, req: Request) -> None:
    """Raise a `bad-data` KspecError at the source for the first problem found."""
    where = _where(req)
    for name, part in (("training", train), ("validation", validation)):
        if part is None or part.dataset is not None:
            continue
        lengths = {f"x['{k}']": len(v) for k, v in part.x.items()} | {
            f"y['{k}']": len(v) for k, v in part.y.items()
        }
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            raise req.fail(
                f"{where}: the {name} arrays differ in length: {shown}",
                code="bad-data",
                help="every input and label array needs one entry per example",
            )
        for key, array in part.x.items():
            _numbers(array, f"{where}: input '{key}'", req)
        for port in signature.outputs:
            if port.name in part.y:
                _labels(port, part.y[port.name], f"{where}: labels '{port.name}'", req)
    if req.source is not None and getattr(req.source, "name", None) == "images":
        check_image_folder(req.path(str(req.args()["path"])), req, image_channels(req))


def _where(req: Request) -> str:
    args = req.args()
    if "path" in args:
        return str(req.path(str(args["path"])))
    return str(getattr(req.source, "name", req.source))


def _first(mask: np.ndarray) -> str:
    """The index of the first True in `mask`, as the array would be indexed."""
    at = tuple(int(i) for i in np.argwhere(mask)[0])
    return f"[{', '.join(map(str, at))}]"


def _numbers(array: np.ndarray, what: str, req: Request) -> None:
    kind = array.dtype.kind
    if kind not in "biuf":
        sample = ""
        if array.size:
            bad = next((i for i, v in np.ndenumerate(array) if not _is_number(v)), None)
            if bad is not None:
                sample = f"; the first, at [{', '.join(map(str, bad))}], is {array[bad]!r}"
        raise req.fail(
            f"{what} holds {array.dtype} values, not numbers{sample}",
            code="bad-data",
            help="store numbers (int or float arrays); class names belong in a CSV label column",
        )
    if kind == "f" and array.size and not np.all(np.isfinite(array)):
        mask = ~np.isfinite(array)
        at = _first(mask)
        raise req.fail(
            f"{what} has {int(mask.sum())} NaN or infinite value(s); the first is at {at}: "
            f"{array[tuple(np.argwhere(mask)[0])]}",
            code="bad-data",
            help="drop or fill those examples before training: they make the loss NaN",
        )


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _labels(port: Port, y: np.ndarray, what: str, req: Request) -> None:
    _numbers(y, what, req)
    loss = (port.loss or "").lower().replace("_", "")
    units = port.shape[-1] if port.shape else None
    if not y.size:
        return
    if loss == "sparsecategoricalcrossentropy":
        whole = y if y.dtype.kind in "biu" else None
        if whole is None:
            fraction = y != np.round(y)
            if fraction.any():
                raise req.fail(
                    f"{what} must be class indices for {port.loss}, but {_first(fraction)} is "
                    f"{y[tuple(np.argwhere(fraction)[0])]}",
                    code="bad-data",
                    help="use whole-number labels 0..classes-1, or a loss for real values",
                )
        bad = (y < 0) | (y >= units) if units else y < 0
        if bad.any():
            top = f"0..{units - 1}" if units else "0 or more"
            raise req.fail(
                f"{what}: label {y[tuple(np.argwhere(bad)[0])]} at {_first(bad)} is outside "
                f"{top} (output '{port.name}' has {units} units, one per class)",
                code="bad-data",
                help=f"make the last layer Dense({int(y.max()) + 1}, ...)"
                if units and y.max() >= units
                else "class indices start at 0",
            )
    elif loss in ("categoricalcrossentropy", "categoricalfocalcrossentropy"):
        if y.ndim == 1 and units not in (None, 1):
            raise req.fail(
                f"{what} are class indices (one number per example), but {port.loss} takes "
                f"one-hot labels of {units} values",
                code="bad-data",
                help="use loss = sparse_categorical_crossentropy for class indices",
            )
    elif loss in ("binarycrossentropy", "binaryfocalcrossentropy"):
        bad = (y < 0) | (y > 1)
        if bad.any():
            raise req.fail(
                f"{what}: label {y[tuple(np.argwhere(bad)[0])]} at {_first(bad)} is outside "
                f"0..1, which {port.loss} takes",
                code="bad-data",
                help="binary labels are 0 or 1 (or probabilities between)",
            )


# -- image folders -------------------------------------------------------------------------
def image_channels(req: Request) -> int:
    """The channels Keras's loader decodes an images() source's files to."""
    return _CHANNELS.get(str(req.args().get("color_mode", "rgb")), 3)


def image_files(folder: Path) -> list[Path]:
    return [
        p for p in sorted(folder.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    ]


def check_image_folder(folder: Path, req: Request, channels: int = 3) -> None:
    if not folder.is_dir():
        return  # the loader reports it
    paths = image_files(folder)
    help = "replace or remove the file; Keras would fail on it in the middle of an epoch"
    for path in paths:
        problem = image_problem(path)
        if problem is not None:
            raise req.fail(f"images(): {path}: {problem}", code="bad-data", help=help)
    bad = undecodable(paths, channels)
    if bad is not None:
        raise req.fail(f"images(): {bad[0]}: {bad[1]}", code="bad-data", help=help)


def undecodable(paths: list[Path], channels: int) -> tuple[Path, str] | None:
    """The first image TensorFlow cannot decode as Keras's loader decodes it, and why.

    A file whole in its container (right chunks and CRCs, end marker) can still hold data the
    decoder refuses (a corrupt PNG stream, a bogus JPEG table); inside tf.data that error names
    no file. Every image is decoded once here, in parallel, with tf.data's own decoder
    (bench/README.md: about a second per 1,000 small images on 2 cores).
    """
    if not paths:
        return None
    import tensorflow as tf

    def decode(path: Any) -> Any:
        image = tf.io.decode_image(
            tf.io.read_file(path), channels=channels, expand_animations=False
        )
        return path, tf.shape(image)[0]

    names = [str(p) for p in paths]
    decoded = (
        tf.data.Dataset.from_tensor_slices(names)
        .map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        .ignore_errors()  # drops each image that fails: the ones missing are the bad ones
    )
    good = {path.decode() for path, _ in decoded.as_numpy_iterator()}
    for name, path in zip(names, paths, strict=True):
        if name in good:
            continue
        try:
            data = tf.io.read_file(name)
            tf.io.decode_image(data, channels=channels, expand_animations=False)
        except tf.errors.OpError as e:
            return path, f"cannot be decoded ({_op_message(e)})"
        return path, "cannot be decoded"
    return None


def _op_message(error: Any) -> str:
    """TensorFlow's message without its `{{function_node ...}}` prefix and `[Op:...]` tail."""
    text = str(getattr(error, "message", error)).strip().splitlines()[0]
    text = re.sub(r"^\{\{[^}]*\}\}\s*", "", text)
    return re.sub(r"\s*\[Op:[^\]]*\]$", "", text) or type(error).__name__


def image_problem(path: Path) -> str | None:
    """Why an image file cannot be whole (truncated, empty, not what its name says), or None.

    Checks the container's structure (PNG chunks and CRCs, JPEG's end marker, GIF's trailer,
    BMP's size field): cheap, and what a file cut short by a copy or a full disk fails.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        return f"cannot read it ({e.strerror})"
    if not data:
        return "the file is empty"
    suffix = path.suffix.lower()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png_problem(data)
    if data.startswith(b"\xff\xd8"):
        return None if b"\xff\xd9" in data[-4096:] else "truncated JPEG (no end-of-image marker)"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return None if data.rstrip(b"\x00").endswith(b"\x3b") else "truncated GIF (no trailer)"
    if data.startswith(b"BM"):
        if len(data) < 6 or struct.unpack("<I", data[2:6])[0] > len(data):
            return "truncated BMP (shorter than its header says)"
        return None
    return f"not a {suffix[1:].upper()} image (unknown file signature)"


def _png_problem(data: bytes) -> str | None:
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        end = at + 12 + length
        if end > len(data):
            return f"truncated PNG ({kind.decode('latin-1')} chunk cut short at byte {len(data)})"
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[at + 4 : end - 4]) & 0xFFFFFFFF != crc:
            return f"corrupt PNG (bad CRC in its {kind.decode('latin-1')} chunk at byte {at})"
        if kind == b"IEND":
            return None
        at = end
    return "truncated PNG (no IEND chunk)"
