"""The run folder: where a run's files live, written so that a crash never leaves half a file.

Every file goes through `atomic_write`: the bytes land in a temporary file in the same
directory, are flushed to disk, and `os.replace` swaps them in. A reader (or a resumed run)
sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kspec import output
from kspec.check.graph import Checked

RUN_FILE = "run.json"  # what `--resume` needs: the spec text, overrides, options, status
BACKUP_DIR = "backup"  # keras.callbacks.BackupAndRestore's folder inside the run


def new_run_dir(model: str, output: str | Path | None, root: Path | None = None) -> Path:
    """`output` if given, else `runs/<model>-<timestamp>/` (with -2, -3 ... if taken)."""
    if output is not None:
        path = Path(output)
        path.mkdir(parents=True, exist_ok=True)
        return path
    base = (root or Path.cwd()) / "runs"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        path = base / (f"{model}-{stamp}" if n == 1 else f"{model}-{stamp}-{n}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"too many runs named {model}-{stamp} in {base}")


def atomic_path(path: str | Path, suffix: str = "") -> contextlib.AbstractContextManager[Path]:
    """A temporary path beside `path` to write to; it replaces `path` only if the block succeeds.

    `suffix` keeps an extension that a writer insists on (Keras saves only to `*.keras`). A
    failed write is a `write-error` KspecError and leaves the old file (kspec/output.py).
    """
    return output.replacing(path, suffix)


def atomic_write(path: str | Path, data: bytes | str) -> None:
    output.write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)


def atomic_save(path: str | Path, save: Callable[[Path], Any], suffix: str = "") -> None:
    """Run `save(tmp)` (e.g. `model.save`), then move the result onto `path`."""
    output.save_with(path, save, suffix)


def write_json(path: str | Path, value: Any) -> None:
    atomic_write(path, json.dumps(_plain(value), indent=2) + "\n")


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _plain(value: Any) -> Any:
    """JSON has no NaN or numpy scalars: floats become numbers or null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- history -------------------------------------------------------------------------------
def history_table(records: list[dict[str, float]]) -> dict[str, list[float]]:
    """Per-epoch records -> Keras's History layout: one list per metric, plus `epoch` (1-based)."""
    keys = list(dict.fromkeys(k for r in records for k in r))
    table: dict[str, list[Any]] = {"epoch": list(range(1, len(records) + 1))}
    for key in keys:
        table[key] = [r.get(key) for r in records]
    return table


def write_history(run_dir: Path, records: list[dict[str, float]]) -> None:
    table = history_table(records)
    write_json(run_dir / "history.json", table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    writer.writerows(zip(*table.values(), strict=True))
    atomic_write(run_dir / "history.csv", out.getvalue())


def read_history(run_dir: Path) -> list[dict[str, float]]:
    """history.json back into per-epoch records (empty when there is none yet)."""
    try:
        table = read_json(run_dir / "history.json")
    except FileNotFoundError:
        return []
    n = len(table.get("epoch", []))
    return [{k: v[i] for k, v in table.items() if k != "epoch"} for i in range(n)]


# -- the resolved spec ---------------------------------------------------------------------
def resolved_spec(checked: Checked, overrides: list[str]) -> str:
    """The spec as it ran (kspec/run/resolved.py prints it)."""
    from kspec.run.resolved import resolved_spec as printed

    return printed(checked, overrides)
