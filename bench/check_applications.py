"""`kspec check` on specs with a keras.applications base, as whole processes.

    python bench/check_applications.py --runs 9

Prints median wall and CPU seconds for checking examples/mnist.kspec (the start-up baseline)
and a spec per application family member below, in alternation after one warm-up each: what
a pretrained base adds to checking is reading and tracing Keras's source for that family only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from check_speed import MNIST, Timing, kspec_command, median, run_once  # noqa: E402

BASES = {
    "ConvNeXtXLarge": "ConvNeXtXLarge(include_top=false, weights=imagenet, pooling=avg)",
    "EfficientNetV2L": "EfficientNetV2L(include_top=false, weights=imagenet, pooling=avg)",
    "MobileNetV2": "MobileNetV2(include_top=false, weights=imagenet, pooling=avg)",
}


def spec(base: str) -> str:
    return f"model m {{\n    input image: (224, 224, 3)\n    {base}\n    Dense(5)\n}}\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    runs = ap.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        commands = {"kspec check examples/mnist.kspec": [*kspec_command(), "check", str(MNIST)]}
        for name, base in BASES.items():
            path = Path(tmp) / f"{name}.kspec"
            path.write_text(spec(base))
            commands[f"kspec check, a {name} base"] = [*kspec_command(), "check", str(path)]
        times: dict[str, list[Timing]] = {name: [] for name in commands}
        for command in commands.values():
            run_once(command)  # warm-up
        for _ in range(runs):
            for name, command in commands.items():
                times[name].append(run_once(command))
    base = times["kspec check examples/mnist.kspec"]
    print(f"\nWhole process, {runs} alternating runs each (median seconds):\n")
    print("| command | wall | CPU | paired wall ratio to mnist |")
    print("|---|---:|---:|---:|")
    for name, ts in times.items():
        mid = median(ts)
        paired = statistics.median(t.wall / b.wall for t, b in zip(ts, base, strict=True))
        print(f"| {name} | {mid.wall:.3f} | {mid.cpu:.3f} | {paired:.2f}x |")


if __name__ == "__main__":
    main()
