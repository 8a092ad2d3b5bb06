"""Reading a run folder back: run.json and history.json checked field by field.

`--resume` trusts nothing it reads: a folder edited by hand, truncated by a full disk or
written by something else is a `bad-run-folder` diagnostic naming the file, the field and what
is wrong with it, and saying whether the run can still continue from its last good epoch.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError
from kspec.run import rundir
from kspec.source import Span

STATUSES = ("running", "interrupted", "failed", "finished")
HISTORY_FILE = "history.json"


def error(path: Path, message: str, help: str | None, code: Any = "bad-run-folder") -> KspecError:
    return KspecError([Diagnostic(code, message, Span(0, 0, 0, 0, str(path)), help)])


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)  # fmt: skip


def read_info(run_dir: Path) -> dict[str, Any]:
    """run.json, with every field `--resume` reads checked; a KspecError names what is wrong."""
    path = run_dir / rundir.RUN_FILE
    lost = (
        "run.json is where --resume reads the spec and its options from, so this run cannot "
        "continue; train it again with `kspec run SPEC -o DIR --force`"
    )
    if not run_dir.is_dir():
        raise error(run_dir, f"{run_dir} is not a folder", "pass the folder `kspec run` printed")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(
            run_dir,
            f"{run_dir} is not a kspec run folder: it has no {rundir.RUN_FILE}",
            "pass the folder `kspec run` printed",
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise error(path, f"cannot read {rundir.RUN_FILE}: {e}", lost) from None
    try:
        info = json.loads(text)
    except ValueError as e:
        raise error(path, f"{rundir.RUN_FILE} is not JSON: {e}", lost) from None
    if not isinstance(info, dict):
        raise error(path, f"{rundir.RUN_FILE} holds {_kind(info)}, not an object", lost)

    def need(name: str, ok: Any, want: str, optional: bool = False) -> None:
        if name not in info:
            if optional:
                return
            raise error(path, f"{rundir.RUN_FILE} has no `{name}`", lost)
        if not ok(info[name]):
            raise error(
                path, f"{rundir.RUN_FILE}: `{name}` must be {want}, got {_kind(info[name])}", lost
            )

    def count(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    need("status", lambda v: v in STATUSES or v == "completed", f"one of {', '.join(STATUSES)}")
    need("spec_text", lambda v: isinstance(v, str), "the spec's text")
    need("spec_path", lambda v: isinstance(v, str), "a path")
    need("model", lambda v: isinstance(v, str), "a model name")
    need("workdir", lambda v: isinstance(v, str), "a path")
    need("overrides", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
         "a list of NAME=VALUE strings")  # fmt: skip
    need("epochs", lambda v: count(v) and v >= 1, "a whole number of epochs")
    need("main_epochs", lambda v: count(v) and v >= 1, "a whole number of epochs", optional=True)
    need("phases", _phases_ok, "a list of {phase, first_epoch, epochs}", optional=True)
    if info["status"] == "completed":  # what kspec before 0.x wrote for `finished`
        info["status"] = "finished"
    return info


def _phases_ok(value: Any) -> bool:
    if not isinstance(value, list):
        return False
    for p in value:
        if not isinstance(p, dict) or not isinstance(p.get("phase"), str):
            return False
        for key in ("first_epoch", "epochs"):
            v = p.get(key)
            if not isinstance(v, int) or isinstance(v, bool) or v < (1 if key == "first_epoch"
                                                                     else 0):  # fmt: skip
                return False
    return True


def read_history(run_dir: Path, epochs: int) -> list[dict[str, Any]]:
    """history.json's first `epochs` epochs as per-epoch records.

    The history is written before the checkpoint of the same epoch, so it never holds fewer
    epochs than the checkpoint does; anything else is a KspecError.
    """
    path = run_dir / HISTORY_FILE
    if epochs == 0:
        return []
    keep = (
        f"the checkpoint of epoch {epochs} is intact: `kspec run --resume {run_dir} --force` "
        f"continues from epoch {epochs + 1}, without the history of the epochs before it"
    )
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(path, f"{HISTORY_FILE} is missing", keep) from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise error(path, f"{HISTORY_FILE} is not JSON: {e}", keep) from None
    if not isinstance(table, dict) or not isinstance(table.get("epoch"), list):
        raise error(path, f"{HISTORY_FILE} is not a history table (no `epoch` list)", keep)
    n = len(table["epoch"])
    if table["epoch"] != list(range(1, n + 1)):
        raise error(path, f"{HISTORY_FILE}: `epoch` is not 1, 2, 3, ...", keep)
    for key, values in table.items():
        if not isinstance(values, list) or len(values) != n:
            raise error(path, f"{HISTORY_FILE}: `{key}` is not a list of {n} values", keep)
        for i, v in enumerate(values):
            number = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            if v is not None and not number:
                raise error(path, f"{HISTORY_FILE}: `{key}`[{i}] is {_kind(v)}, not a number", keep)
    if n < epochs:
        raise error(
            path, f"{HISTORY_FILE} holds {n} epochs but the checkpoint holds {epochs}", keep
        )
    return [{k: v[i] for k, v in table.items() if k != "epoch"} for i in range(epochs)]
