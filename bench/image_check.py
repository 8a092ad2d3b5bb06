"""What checking an `images()` folder before training costs: the container check (PNG chunks
and CRCs, JPEG end marker) and the decode of every image with tf.data's decoder
(kspec/run/validate.py), on a generated folder of two classes.

    python bench/image_check.py --images 1000 --size 64 --runs 3

Prints the median wall-clock and CPU seconds of each step, in one process after TensorFlow is
imported and one warm-up (the first decode builds tf.data's function).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64, help="width and height in pixels")
    ap.add_argument("--format", choices=["png", "jpeg"], default="png")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    import numpy as np
    import tensorflow as tf

    from kspec.run.validate import IMAGE_SUFFIXES, image_problem, undecodable

    encode = tf.io.encode_png if args.format == "png" else tf.io.encode_jpeg
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.images):
            folder = Path(tmp) / "ab"[i % 2]
            folder.mkdir(exist_ok=True)
            pixels = rng.integers(0, 256, (args.size, args.size, 3), dtype=np.uint8)
            (folder / f"{i}.{args.format}").write_bytes(encode(pixels).numpy())
        paths = [p for p in sorted(Path(tmp).rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
        undecodable(paths[:2], 3)
        steps: dict[str, list[tuple[float, float]]] = {"container check": [], "decode": []}
        for _ in range(args.runs):
            for name, work in (
                ("container check", lambda: [image_problem(p) for p in paths]),
                ("decode", lambda: undecodable(paths, 3)),
            ):
                wall, cpu = time.perf_counter(), time.process_time()
                work()
                steps[name].append((time.perf_counter() - wall, time.process_time() - cpu))
        print(f"{args.images} {args.format} images of {args.size}x{args.size}, {args.runs} runs")
        print("| step | wall s | CPU s |\n|---|---:|---:|")
        for name, runs in steps.items():
            wall_s = statistics.median(w for w, _ in runs)
            cpu_s = statistics.median(c for _, c in runs)
            print(f"| {name} | {wall_s:.2f} | {cpu_s:.2f} |")


if __name__ == "__main__":
    main()
