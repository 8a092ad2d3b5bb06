"""How fast `kspec check` is: start-up against building the model in Keras, and parse + check
throughput on generated specs of growing size. Prints the tables of bench/README.md.

    python bench/check_speed.py                    # everything (several minutes on 2 cores)
    python bench/check_speed.py --only startup --runs 11
    python bench/check_speed.py --only throughput --sizes 100,1000,10000,100000

Start-up runs the commands in alternation (check, Keras, plain Keras, check, ...) after one
unmeasured warm-up each. Throughput is measured in this process, the parser built beforehand.
Every figure is a median, in wall-clock seconds and in CPU seconds (user + system, children
included for whole processes): on a shared machine the CPU time is the steadier of the two.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever kspec is installed

from kspec.check.spec import check_text  # noqa: E402
from kspec.syntax.parse import parse, parser  # noqa: E402

MNIST = ROOT / "examples" / "mnist.kspec"


class Timing(NamedTuple):
    wall: float
    cpu: float


def both(t: Timing) -> str:
    return f"{t.wall:.3f} / {t.cpu:.3f}"


def median(timings: list[Timing]) -> Timing:
    return Timing(
        statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings)
    )


# -- generated specs -------------------------------------------------------------------------
def flat_spec(layers: int) -> str:
    """`layers` layers written out, four per group: a residual Dense unit, with named tensors."""
    lines = ["model big {", "    input x: (64,)"]
    for i in range(layers // 4):
        lines += [
            f"    a{i} = Dense(64, activation=relu)",
            f"    b{i} = a{i} -> Dropout(0.1) -> LayerNormalization()",
            f"    [a{i}, b{i}] -> Add()",
        ]
    return "\n".join([*lines, "}", ""])


def loop_spec(layers: int) -> str:
    """The same layers from a block unrolled by a loop: little to parse, as much to check."""
    return (
        "block unit(width) {\n    input x\n    a = x -> Dense(width, activation=relu)\n"
        "    b = a -> Dropout(0.1) -> LayerNormalization()\n    output [a, b] -> Add()\n}\n\n"
        f"model big {{\n    input x: (64,)\n    for i in range({layers // 4}) {{\n"
        "        unit(64)\n    }\n}\n"
    )


# -- measuring -------------------------------------------------------------------------------
def kspec_command() -> list[str]:
    script = shutil.which("kspec", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "kspec.cli"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(command: list[str]) -> Timing:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cpu, start = children_cpu(), time.perf_counter()
    subprocess.run(
        command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return Timing(time.perf_counter() - start, children_cpu() - cpu)


def in_process(work: Callable[[], object], repeats: int) -> Timing:
    timings = []
    for _ in range(repeats):
        cpu, start = time.process_time(), time.perf_counter()
        work()
        timings.append(Timing(time.perf_counter() - start, time.process_time() - cpu))
    return median(timings)


def startup(runs: int) -> None:
    commands = {
        "kspec check examples/mnist.kspec": [*kspec_command(), "check", str(MNIST)],
        "import TF + kspec build (same spec)": [sys.executable, "bench/build_mnist_keras.py"],
        "import TF + hand-written tf.keras": [
            sys.executable,
            "bench/build_mnist_keras.py",
            "--plain",
        ],
    }
    times: dict[str, list[Timing]] = {name: [] for name in commands}
    for command in commands.values():
        run_once(command)  # warm-up: file cache, Lark's grammar cache
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(run_once(command))
    check = times["kspec check examples/mnist.kspec"]
    base = median(check)
    print(f"\nWhole process, {runs} alternating runs each (median seconds):\n")
    print("| command | wall | CPU | wall / check | CPU / check | paired wall ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, ts in times.items():
        mid = median(ts)
        paired = statistics.median(t.wall / c.wall for t, c in zip(ts, check, strict=True))
        print(
            f"| {name} | {mid.wall:.3f} | {mid.cpu:.3f} | {mid.wall / base.wall:.1f}x | "
            f"{mid.cpu / base.cpu:.1f}x | {paired:.1f}x |"
        )


def throughput(sizes: list[int]) -> None:
    parser()  # built (or loaded from its cache) once, as in any run
    check_text(flat_spec(100), "warm-up.kspec")
    print("\nParse + check in one process (median seconds, wall / CPU; CPU µs per layer):\n")
    print("| spec | layers | lines | parse | parse + check | µs / layer |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind, make in (("flat", flat_spec), ("loop", loop_spec)):
        for n in sizes:
            text = make(n)
            repeats = 5 if n <= 10_000 else 2
            checked, _ = check_text(text, f"{kind}{n}.kspec")
            assert checked is not None
            layers = len(checked.model().layers) - 1  # the input layer is not a layer written
            t_parse = in_process(lambda: parse(text, "big.kspec"), repeats)  # noqa: B023
            t_all = in_process(lambda: check_text(text, "big.kspec"), repeats)  # noqa: B023
            cells = [
                kind,
                f"{layers:,}",
                f"{text.count(chr(10)):,}",
                both(t_parse),
                both(t_all),
                f"{t_all.cpu / layers * 1e6:.0f}",
            ]
            print(f"| {' | '.join(cells)} |")


def whole_process_big(layers: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"flat{layers}.kspec"
        path.write_text(flat_spec(layers), encoding="utf-8")
        command = [*kspec_command(), "check", str(path)]
        run_once(command)
        mid = median([run_once(command) for _ in range(runs)])
    print(
        f"\nWhole process `kspec check` of the flat {layers:,}-layer spec, median of {runs} "
        f"runs: {mid.wall:.3f} s wall, {mid.cpu:.3f} s CPU"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--only", choices=("startup", "throughput"), help="run one part")
    ap.add_argument("--runs", type=int, default=9, help="whole-process runs per command")
    ap.add_argument("--sizes", default="100,1000,10000", help="layer counts, comma-separated")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, kspec from {ROOT}")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    if args.only in (None, "startup"):
        startup(args.runs)
    if args.only in (None, "throughput"):
        throughput([int(s) for s in args.sizes.split(",")])
        whole_process_big(10_000, max(3, args.runs // 2))
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other work on the machine)")


if __name__ == "__main__":
    main()
