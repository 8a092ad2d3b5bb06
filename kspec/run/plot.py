"""curves.png: loss and metric curves per epoch, drawn with NumPy and encoded as PNG by hand.

matplotlib is a large dependency for one picture; a line plot needs only lines, dots, a few
labels in a 5x7 bitmap font, and a PNG writer (zlib + CRC, both in the standard library).
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Mapping, Sequence

import numpy as np

WHITE, INK, GRID = (255, 255, 255), (60, 60, 60), (228, 228, 228)
TRAIN, VAL = (31, 119, 180), (255, 127, 14)  # the usual blue and orange
PANEL_W, PANEL_H, COLUMNS = 420, 300, 3
LEFT, RIGHT, TOP, BOTTOM = 58, 20, 34, 26

# The classic 5x7 LCD font: five column bytes per glyph, bit 0 = top row.
FONT: dict[str, tuple[int, ...]] = {
    " ": (0, 0, 0, 0, 0),
    ".": (0, 0x60, 0x60, 0, 0),
    "-": (8, 8, 8, 8, 8),
    "_": (0x40, 0x40, 0x40, 0x40, 0x40),
    "+": (8, 8, 0x3E, 8, 8),
    ":": (0, 0x36, 0x36, 0, 0),
    "0": (0x3E, 0x51, 0x49, 0x45, 0x3E),
    "1": (0, 0x42, 0x7F, 0x40, 0),
    "2": (0x42, 0x61, 0x51, 0x49, 0x46),
    "3": (0x21, 0x41, 0x45, 0x4B, 0x31),
    "4": (0x18, 0x14, 0x12, 0x7F, 0x10),
    "5": (0x27, 0x45, 0x45, 0x45, 0x39),
    "6": (0x3C, 0x4A, 0x49, 0x49, 0x30),
    "7": (0x01, 0x71, 0x09, 0x05, 0x03),
    "8": (0x36, 0x49, 0x49, 0x49, 0x36),
    "9": (0x06, 0x49, 0x49, 0x29, 0x1E),
    "a": (0x20, 0x54, 0x54, 0x54, 0x78),
    "b": (0x7F, 0x48, 0x44, 0x44, 0x38),
    "c": (0x38, 0x44, 0x44, 0x44, 0x20),
    "d": (0x38, 0x44, 0x44, 0x48, 0x7F),
    "e": (0x38, 0x54, 0x54, 0x54, 0x18),
    "f": (0x08, 0x7E, 0x09, 0x01, 0x02),
    "g": (0x0C, 0x52, 0x52, 0x52, 0x3E),
    "h": (0x7F, 0x08, 0x04, 0x04, 0x78),
    "i": (0, 0x44, 0x7D, 0x40, 0),
    "j": (0x20, 0x40, 0x44, 0x3D, 0),
    "k": (0x7F, 0x10, 0x28, 0x44, 0),
    "l": (0, 0x41, 0x7F, 0x40, 0),
    "m": (0x7C, 0x04, 0x18, 0x04, 0x78),
    "n": (0x7C, 0x08, 0x04, 0x04, 0x78),
    "o": (0x38, 0x44, 0x44, 0x44, 0x38),
    "p": (0x7C, 0x14, 0x14, 0x14, 0x08),
    "q": (0x08, 0x14, 0x14, 0x18, 0x7C),
    "r": (0x7C, 0x08, 0x04, 0x04, 0x08),
    "s": (0x48, 0x54, 0x54, 0x54, 0x20),
    "t": (0x04, 0x3F, 0x44, 0x40, 0x20),
    "u": (0x3C, 0x40, 0x40, 0x20, 0x7C),
    "v": (0x1C, 0x20, 0x40, 0x20, 0x1C),
    "w": (0x3C, 0x40, 0x30, 0x40, 0x3C),
    "x": (0x44, 0x28, 0x10, 0x28, 0x44),
    "y": (0x0C, 0x50, 0x50, 0x50, 0x3C),
    "z": (0x44, 0x64, 0x54, 0x4C, 0x44),
}


def curves_png(
    history: Mapping[str, Sequence[float | None]], boundaries: Sequence[int] = ()
) -> bytes:
    """One panel per metric (`loss`, `accuracy`, ...), training in blue and validation in orange;
    a dashed line after each epoch in `boundaries`, where a training phase ended."""
    names = [k for k in history if k != "epoch" and not k.startswith("val_")]
    names += [k for k in history if k.startswith("val_") and k[4:] not in history]  # val-only
    names = names or ["loss"]
    columns = min(COLUMNS, len(names))
    rows = -(-len(names) // columns)
    canvas = np.full((rows * PANEL_H, columns * PANEL_W, 3), WHITE, np.uint8)
    for i, name in enumerate(names):
        top, left = (i // columns) * PANEL_H, (i % columns) * PANEL_W
        series = [(history.get(name, []), TRAIN, "train")]
        if not name.startswith("val_") and f"val_{name}" in history:
            series.append((history[f"val_{name}"], VAL, "val"))
        draw_panel(canvas[top : top + PANEL_H, left : left + PANEL_W], name, series, boundaries)
    return encode_png(canvas)


def draw_panel(
    img: np.ndarray,
    title: str,
    series: list[tuple[Sequence[float | None], tuple[int, int, int], str]],
    boundaries: Sequence[int] = (),
) -> None:
    height, width, _ = img.shape
    x0, x1, y0, y1 = LEFT, width - RIGHT, TOP, height - BOTTOM  # plot area, y grows downwards
    values = [v for s, _, _ in series for v in s if v is not None and math.isfinite(v)]
    n = max((len(s) for s, _, _ in series), default=0)
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (high - low) * 0.08 or (abs(high) * 0.1 or 1.0)
    low, high = low - pad, high + pad

    def to_px(epoch: int, value: float) -> tuple[float, float]:
        fx = 0.5 if n <= 1 else (epoch - 1) / (n - 1)
        return x0 + fx * (x1 - x0), y1 - (value - low) / (high - low) * (y1 - y0)

    for k in range(5):  # horizontal grid with value labels
        value = low + (high - low) * k / 4
        y = round(to_px(1, value)[1])
        img[y, x0:x1] = GRID
        label = f"{value:.3g}"
        draw_text(img, label, x0 - 6 - text_width(label), y - 3, INK)
    img[y0:y1, x0] = INK
    img[y1, x0:x1] = INK
    for after in boundaries:  # between epoch `after` and the next: a dashed vertical line
        if 0 < after < n:
            x = round(to_px(after, low)[0] + to_px(after + 1, low)[0]) // 2
            for y in range(y0, y1, 6):
                img[y : min(y + 3, y1), x] = INK
    for epoch in sorted({1, n} if n else set()):
        x = round(to_px(epoch, low)[0])
        img[y1 : y1 + 4, x] = INK
        draw_text(img, str(epoch), x - text_width(str(epoch)) // 2, y1 + 7, INK)
    draw_text(img, "epoch", (x0 + x1 - text_width("epoch")) // 2, y1 + 7, INK)
    draw_text(img, title, x0, 8, INK, scale=2)
    legend_x = x1
    for values_, color, label in reversed(series):
        legend_x -= text_width(label) + 18
        img[14:18, legend_x : legend_x + 10] = color
        draw_text(img, label, legend_x + 13, 12, INK)
        points = [
            to_px(e, v) for e, v in enumerate(values_, 1) if v is not None and math.isfinite(v)
        ]
        for a, b in itertools.pairwise(points):
            draw_line(img, a, b, color)
        for px, py in points:
            stamp(img, px, py, color, radius=2)


def draw_line(
    img: np.ndarray, a: tuple[float, float], b: tuple[float, float], color: tuple[int, int, int]
) -> None:
    steps = int(max(abs(b[0] - a[0]), abs(b[1] - a[1])) * 2) + 2
    t = np.linspace(0.0, 1.0, steps)
    xs = np.rint(a[0] + (b[0] - a[0]) * t).astype(int)
    ys = np.rint(a[1] + (b[1] - a[1]) * t).astype(int)
    height, width, _ = img.shape
    for dx in (0, 1):  # two pixels thick
        for dy in (0, 1):
            ok = (xs + dx < width) & (ys + dy < height) & (xs >= 0) & (ys >= 0)
            img[ys[ok] + dy, xs[ok] + dx] = color


def stamp(img: np.ndarray, x: float, y: float, color: tuple[int, int, int], radius: int) -> None:
    cx, cy = round(x), round(y)
    height, width, _ = img.shape
    img[
        max(cy - radius, 0) : min(cy + radius + 1, height),
        max(cx - radius, 0) : min(cx + radius + 1, width),
    ] = color


def text_width(text: str, scale: int = 1) -> int:
    return len(text) * 6 * scale


def draw_text(
    img: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int], scale: int = 1
) -> None:
    """Stamp `text` with its top-left corner at (x, y); unknown characters draw as spaces."""
    height, width, _ = img.shape
    for i, char in enumerate(text.lower()):
        for col, bits in enumerate(FONT.get(char, FONT[" "])):
            for row in range(7):
                if bits >> row & 1:
                    px, py = x + (i * 6 + col) * scale, y + row * scale
                    if px >= 0 and py >= 0 and px + scale <= width and py + scale <= height:
                        img[py : py + scale, px : px + scale] = color


def encode_png(img: np.ndarray) -> bytes:
    """An RGB uint8 array as a PNG file: one IDAT chunk, filter type 0 on every row."""
    height, width, channels = img.shape
    if channels != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image, got {img.shape} {img.dtype}")
    rows = np.concatenate([np.zeros((height, 1), np.uint8), img.reshape(height, width * 3)], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def decode_png(data: bytes) -> np.ndarray:
    """The inverse of encode_png for its own output (filter 0, RGB); checks every CRC."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if zlib.crc32(tag + body) != crc:
            raise ValueError(f"bad CRC in {tag.decode()} chunk")
        if tag == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif tag == b"IDAT":
            idat += body
        pos += 12 + length
    width, height = size
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width * 3 + 1)
    if rows[:, 0].any():
        raise ValueError("only filter type 0 is supported")
    return rows[:, 1:].reshape(height, width, 3).copy()
