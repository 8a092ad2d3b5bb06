"""How fast `kspec import` is on a big model file: a Sequential model of N Dense layers, in the
JSON Keras 3 writes (generated here, without Keras). Prints the row of bench/README.md.

    python bench/import_speed.py --layers 20000 --runs 5

The in-process figure is `kspec.interop.importer.import_file` (read, decode, validate, write the
spec); the whole-process figure is the `kspec import` command, start-up included. Medians, in
wall-clock and CPU seconds (user + system).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever kspec is installed

from kspec.interop.importer import import_file  # noqa: E402


def _policy() -> dict[str, object]:
    return {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    }


def dense(i: int, units: int) -> dict[str, object]:
    """One Dense layer as Keras 3.15 serializes it."""
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {
            "name": f"dense_{i}" if i else "dense",
            "trainable": True,
            "dtype": _policy(),
            "units": units,
            "activation": "relu",
            "use_bias": True,
            "kernel_initializer": {
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {"seed": None},
                "registered_name": None,
            },
            "bias_initializer": {
                "module": "keras.initializers",
                "class_name": "Zeros",
                "config": {},
                "registered_name": None,
            },
            "kernel_regularizer": None,
            "bias_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
            "quantization_config": None,
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, units]},
    }


def sequential(layers: int, units: int = 8) -> dict[str, object]:
    entry = {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": [None, units],
            "dtype": "float32",
            "sparse": False,
            "ragged": False,
            "name": "input_layer",
            "optional": False,
        },
        "registered_name": None,
    }
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "big",
            "trainable": True,
            "dtype": _policy(),
            "layers": [entry, *(dense(i, units) for i in range(layers))],
            "build_input_shape": [None, units],
        },
        "registered_name": None,
    }


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime


def timed(fn: object) -> tuple[float, float]:
    w, c = time.perf_counter(), cpu()
    fn()  # type: ignore[operator]
    return time.perf_counter() - w, cpu() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.json"
        path.write_text(json.dumps(sequential(args.layers)))
        size = path.stat().st_size
        inproc = [timed(lambda: import_file(path)) for _ in range(args.runs)]
        out = Path(tmp) / "big.kspec"
        cmd = [sys.executable, "-c", "import sys, kspec.cli; sys.exit(kspec.cli.main())"]
        cmd += ["import", str(path), "-o", str(out)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        whole = [
            timed(lambda: subprocess.run(cmd, check=True, env=env, capture_output=True))
            for _ in range(args.runs)
        ]
    print(f"{args.layers:,} Dense layers, {size / 1e6:.1f} MB of JSON, {args.runs} runs (medians)")
    for label, t in (("import_file, in process", inproc), ("kspec import, whole process", whole)):
        wall = statistics.median(x[0] for x in t)
        cpu_s = statistics.median(x[1] for x in t)
        print(f"| {label} | {wall:.2f} | {cpu_s:.2f} |")


if __name__ == "__main__":
    main()
