"""How long `kspec summary` takes on a 10,000-step single chain (`x -> Dense(4) -> ...` on one
line), against 10,000 statements of one step each, and how long `kspec fmt` takes on a constant
tuple of 100,000 items (and `kspec fmt --check` on its formatted text, one item a line). Prints
the table of bench/README.md.

    python bench/summary_speed.py                          # this checkout, 3 runs each
    python bench/summary_speed.py --checkout /tmp/kspec-old --runs 1

`--checkout DIR` measures another copy of the source (e.g. `git archive main | tar -x -C DIR`),
so a before/after pair runs the same specs. Each figure is the median of whole processes, in
wall-clock and CPU seconds (user + system of the child); on a shared machine CPU is steadier.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = 10_000


def specs(folder: Path) -> dict[str, tuple[str, Path]]:
    chain = "model m {\n    input x: (4,)\n    x" + " -> Dense(4)" * STEPS + "\n}\n"
    statements = "model m {\n    input x: (4,)\n" + "    Dense(4)\n" * STEPS + "}\n"
    items = ", ".join(str(i) for i in range(100_000))
    tuple_ = f"a = ({items})\nmodel m {{\n    input x: (4,)\n    Dense(2)\n}}\n"
    lines = ",\n".join(f"    {i}" for i in range(100_000))  # as fmt writes it: one item a line
    formatted = f"a = (\n{lines},\n)\n\nmodel m {{\n    input x: (4,)\n\n    Dense(2)\n}}\n"
    out = {}
    for name, command, text in (
        ("summary, 10,000-step chain", "summary", chain),
        ("summary, 10,000 statements", "summary", statements),
        ("fmt, tuple of 100,000 items", "fmt", tuple_),
        ("fmt --check, the same tuple formatted", "fmt --check", formatted),
    ):
        path = folder / f"{name.split(',')[0]}-{len(out)}.kspec"
        path.write_text(text, encoding="utf-8")
        out[name] = (command, path)
    return out


def measure(checkout: Path, command: str, path: Path) -> tuple[float, float]:
    if command == "fmt":  # fmt rewrites the file: give every run the unformatted text
        fresh = path.with_suffix(".run.kspec")
        shutil.copyfile(path, fresh)
        path = fresh
    code = (
        f"import sys; sys.path.insert(0, {str(checkout)!r}); "
        "from kspec.cli import main; sys.exit(main())"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *command.split(), str(path)],
        capture_output=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command} {path} failed:\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkout", type=Path, default=ROOT, help="the kspec source to measure")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(f"kspec at {args.checkout}, {args.runs} run(s) each, medians in seconds")
        print("| case | wall | CPU |\n|---|---:|---:|")
        for name, (command, path) in specs(Path(tmp)).items():
            runs = [measure(args.checkout, command, path) for _ in range(args.runs)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"| {name} | {wall:.2f} | {cpu:.2f} |", flush=True)


if __name__ == "__main__":
    main()
