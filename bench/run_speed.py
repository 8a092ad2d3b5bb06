"""Training speed: `kspec run` against the plain tf.keras script a user would write.

Both train the MNIST convnet of examples/mnist.kspec on the first 8,000 images of the real
MNIST test set (../shared/data/mnist, gzipped IDX) and validate on the last 2,000, batch 128.
Runs alternate (kspec, plain, plain, kspec, ...) so that a noisy machine hurts both alike;
each run is a fresh process. Reported:

- steady-state epoch time: the median of epochs 2..N of each run (epoch 1 traces the graph),
  validation included on both sides, and the median of the per-round ratios kspec / plain;
- whole-process time of a 1-epoch run, start-up and exit included.

Usage:  python bench/run_speed.py [--rounds 5] [--epochs 6] [--data ../shared/data/mnist]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "mnist.kspec"


# -- the plain script (run with --plain): what a user writes without kspec ------------------
def plain(data: Path, epochs: int) -> None:
    import gzip

    import keras
    import numpy as np

    def read_idx(path: Path, offset: int) -> np.ndarray:
        return np.frombuffer(gzip.open(path).read(), np.uint8, offset=offset)

    y = read_idx(data / "t10k-labels-idx1-ubyte.gz", 8)
    x = read_idx(data / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1)
    x = x.astype("float32") / 255
    from build_mnist_keras import plain_model  # bench/ is the script's folder: on sys.path

    model = plain_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    seconds: list[float] = []
    cpu: list[float] = []

    class Timer(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.start, self.cpu = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            seconds.append(time.perf_counter() - self.start)
            cpu.append(time.process_time() - self.cpu)

    history = model.fit(x[:8000], y[:8000], batch_size=128, epochs=epochs, verbose=0,
                        validation_data=(x[8000:], y[8000:]), callbacks=[Timer()])  # fmt: skip
    accuracy = history.history["val_accuracy"]
    print(
        json.dumps({"epoch_seconds": seconds, "epoch_cpu_seconds": cpu, "val_accuracy": accuracy})
    )


# -- the two sides, each in a fresh process ------------------------------------------------
@dataclass
class Run:
    epoch: list[float]  # wall-clock seconds per epoch
    cpu: list[float]  # process CPU seconds per epoch (all threads)
    accuracy: float  # validation accuracy after the last epoch
    wall: float  # the whole process, start to exit


def run_plain(data: Path, epochs: int) -> Run:
    command = [sys.executable, __file__, "--plain", "--data", str(data), "--epochs", str(epochs)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(out["epoch_seconds"], out["epoch_cpu_seconds"], out["val_accuracy"][-1], wall)


def run_kspec(data: Path, epochs: int, extra: list[str]) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        command = ["kspec", "run", str(SPEC), "-q", "--epochs", str(epochs), "-o", tmp,
                   "--set", f'data.source=idx("{data}")', "--set", "data.validation_split=0.2",
                   "--set", "train.callbacks=[]", *extra]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
        info = json.loads((Path(tmp) / "run.json").read_text())
        accuracy = json.loads((Path(tmp) / "history.json").read_text())["val_accuracy"][-1]
    return Run(info["epoch_seconds"], info["epoch_cpu_seconds"], accuracy, wall)


def steady(seconds: list[float]) -> float:
    return statistics.median(seconds[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mnist")
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.plain:
        plain(args.data, args.epochs)
        return

    sides: dict[str, Callable[[int], Run]] = {
        "plain tf.keras (model.fit on NumPy)": lambda e: run_plain(args.data, e),
        "kspec run (defaults)": lambda e: run_kspec(args.data, e, []),
        "kspec run, steps_per_execution=1": lambda e: run_kspec(
            args.data, e, ["--set", "train.steps_per_execution=1"]
        ),
    }
    names = list(sides)
    runs: dict[str, list[Run]] = {n: [] for n in names}
    whole: dict[str, list[float]] = {n: [] for n in names}
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:  # alternate the order
            runs[name].append(sides[name](args.epochs))
            whole[name].append(sides[name](1).wall)
        loads.append(os.getloadavg()[0])
        shown = ", ".join(f"{n}: {steady(runs[n][-1].epoch):.3f}s" for n in names)
        print(f"round {r + 1} (load {loads[-1]:.2f}): {shown}", file=sys.stderr)

    def paired(name: str, field: str) -> float:
        pairs = [steady(getattr(a, field)) / steady(getattr(b, field))
                 for a, b in zip(runs[name], runs[names[0]], strict=True)]  # fmt: skip
        return statistics.median(pairs)

    def best(name: str, field: str) -> float:
        return min(steady(getattr(x, field)) for x in runs[name])

    print(f"\n{args.rounds} rounds of {args.epochs} epochs, {os.cpu_count()} CPUs, 1-minute load "
          f"average {min(loads):.2f} to {max(loads):.2f}\n")  # fmt: skip
    print("| configuration | steady epoch, wall: median / best | paired ratio | ratio of bests "
          "| steady epoch, CPU: median | paired ratio | 1-epoch run, whole process: median / best "
          "| val accuracy |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        epoch = statistics.median(steady(x.epoch) for x in runs[name])
        cpu = statistics.median(steady(x.cpu) for x in runs[name])
        accuracy = statistics.median(x.accuracy for x in runs[name])
        of_bests = best(name, "epoch") / best(names[0], "epoch")
        print(f"| {name} | {epoch:.3f} / {best(name, 'epoch'):.3f} s | "
              f"{paired(name, 'epoch'):.2f} | {of_bests:.2f} | "
              f"{cpu:.3f} s | {paired(name, 'cpu'):.2f} | {statistics.median(whole[name]):.2f} / "
              f"{min(whole[name]):.2f} s | {accuracy:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
