"""Epoch time and memory: `kspec run` against its generated script and a hand-written script.

Each side trains examples/mnist.kspec's convnet on the same MNIST-shaped uint8 images (random
pixels, written once to an npz file: nothing is downloaded), 20% held out, batch 128, in a
fresh process, the sides in turn (reversed every other round). Each side reports the median of
epochs 2..N (epoch 1 traces the graph), validation included, and its process's peak resident
memory; the table gives the medians over rounds and the ratios to the hand-written script.
The script and `kspec run` are measured twice: with the default feed (float32 arrays into fit)
and with `data.feed = batches` (uint8 arrays, each batch prepared as it is drawn).

Usage:  python bench/codegen_speed.py [--epochs 5] [--rounds 1] [--samples 10000]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "mnist.kspec"


def timer() -> tuple[object, list[float]]:
    import keras

    seconds: list[float] = []

    class Timer(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_begin(self, epoch: int, logs: object = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            seconds.append(time.perf_counter() - self.start)

    return Timer(), seconds


def hand_written(data: Path, epochs: int) -> list[float]:
    """What a user writes from the keras.io MNIST example."""
    import keras
    import numpy as np

    with np.load(data) as f:
        x, y = f["x"], f["y"]
    x = x.astype("float32").reshape(-1, 28, 28, 1) / 255
    from build_mnist_keras import plain_model  # bench/ is the script's folder: on sys.path

    model = plain_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    callback, seconds = timer()
    model.fit(x, y, batch_size=128, epochs=epochs, validation_split=0.2, verbose=0,
              callbacks=[callback])  # fmt: skip
    return seconds


def generated(data: Path, epochs: int, folder: Path) -> list[float]:
    """The script `kspec codegen` writes, with a timer added to its fit call."""
    import importlib

    import keras

    sys.path.insert(0, str(folder))
    script = importlib.import_module("train")
    callback, seconds = timer()
    fit = keras.Model.fit

    def timed(self: object, *args: object, **kwargs: object) -> object:
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), callback]  # type: ignore[misc]
        return fit(self, *args, **{**kwargs, "verbose": 0})

    keras.Model.fit = timed
    script.main(["--epochs", str(epochs), "--output", str(folder / "model.keras")])
    return seconds


def overrides(data: Path, feed: str = "arrays") -> list[str]:
    return [f'data.source=npz("{data}")', "data.validation_split=0.2", "train.callbacks=[]",
            f"data.feed={feed}"]  # fmt: skip


def measured(command: list[str]) -> tuple[str, float]:
    """Run a child process; its stdout and its own peak resident memory in MiB."""
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise SystemExit(f"failed ({child.returncode}): {' '.join(command)}")
        out.seek(0)
        return out.read(), usage.ru_maxrss / 1024  # KiB on Linux


def side(name: str, data: Path, epochs: int, folder: Path) -> tuple[list[float], float]:
    """One side in a fresh process: its per-epoch wall-clock seconds and peak memory (MiB)."""
    if name.startswith("kspec run"):
        feed = "batches" if "batches" in name else "arrays"
        sets = [a for o in overrides(data, feed) for a in ("--set", o)]
        out = Path(tempfile.mkdtemp(dir=folder))
        command = ["kspec", "run", str(SPEC), "-q", "--epochs", str(epochs), "-o", str(out), *sets]
        _, peak = measured(command)
        return list(json.loads((out / "run.json").read_text())["epoch_seconds"]), peak
    script = folder / ("batches" if "batches" in name else "arrays")
    command = [sys.executable, __file__, "--side", name, "--data", str(data),
               "--epochs", str(epochs), "--folder", str(script)]  # fmt: skip
    stdout, peak = measured(command)
    return list(json.loads(stdout.strip().splitlines()[-1])), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.side == "hand-written":
        print(json.dumps(hand_written(args.data, args.epochs)))
        return
    if args.side and args.side.startswith("generated script"):
        print(json.dumps(generated(args.data, args.epochs, args.folder)))
        return

    import numpy as np

    names = ["hand-written", "generated script", "kspec run", "generated script, feed = batches",
             "kspec run, feed = batches"]  # fmt: skip
    epochs: dict[str, list[float]] = {n: [] for n in names}
    peaks: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "mnist.npz"
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (args.samples, 28, 28), dtype=np.uint8)
        np.savez(data, x=x, y=rng.integers(0, 10, args.samples).astype(np.uint8))
        for feed in ("arrays", "batches"):
            sets = [a for o in overrides(data, feed) for a in ("--set", o)]
            script = subprocess.run(["kspec", "codegen", str(SPEC), *sets], capture_output=True,
                                    text=True, check=True).stdout  # fmt: skip
            (folder / feed).mkdir()
            (folder / feed / "train.py").write_text(script)
        load = [os.getloadavg()[0]]
        for r in range(args.rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                seconds, peak = side(name, data, args.epochs, folder)
                epochs[name].append(statistics.median(seconds[1:]))
                peaks[name].append(peak)
                load.append(os.getloadavg()[0])
                print(f"{name}: {epochs[name][-1]:.3f} s, {peak:.0f} MiB", file=sys.stderr)
    base = statistics.median(epochs["hand-written"])
    print(f"\n{args.rounds} round(s) of {args.epochs} epochs, {args.samples:,} images, "
          f"{os.cpu_count()} CPUs, 1-minute load average {min(load):.2f} to "
          f"{max(load):.2f}\n")  # fmt: skip
    print("| side | steady epoch, wall (median of epochs 2..N) | ratio to hand-written "
          "| peak memory |")  # fmt: skip
    print("|---|---:|---:|---:|")
    for name in names:
        value = statistics.median(epochs[name])
        print(f"| {name} | {value:.3f} s | {value / base:.2f} | "
              f"{statistics.median(peaks[name]):,.0f} MiB |")  # fmt: skip


if __name__ == "__main__":
    main()
