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
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kspec import output
from kspec.check.graph import Checked
from kspec.source import Source, Span

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
    """The spec as it ran: the file's text with every `--set` spliced in where it applies.

    A constant's or field's value is replaced in place; a field the file does not set is
    added to its section (or a new section at the end). A header lists what was changed.
    """
    source = checked.sources[checked.path]
    edits: list[tuple[Span, str]] = []
    additions: dict[str, list[str]] = {}
    applied = []
    for item in overrides:
        name, _, value = item.partition("=")
        name, value = name.strip(), value.strip()
        applied.append(f"{name} = {value}")
        target = _find_value_span(checked, name)
        if target is not None:
            edits.append((target, value))
        elif "." in name:
            section, _, field = name.partition(".")
            additions.setdefault(section, []).append(f"    {field} = {value}")
    text = _splice(source, edits)
    for section, lines in additions.items():
        text = _add_to_section(text, checked, section, lines)
    header = ["# resolved by `kspec run`: the spec exactly as it was trained"]
    header += [f"# --set {a}" for a in applied]
    return "\n".join(header) + "\n" + text


def _find_value_span(checked: Checked, name: str) -> Span | None:
    from kspec.syntax import ir

    section, dot, field = name.partition(".")
    for item in checked.spec.items:
        if not dot and isinstance(item, ir.Const) and item.name == name:
            return item.value.span
        if dot and isinstance(item, ir.Section) and item.kind == section:
            for f in item.fields:
                if f.name == field:
                    return f.value.span
    return None


def _offset(source: Source, line: int, column: int) -> int:
    return sum(len(x) + 1 for x in source.text.splitlines()[: line - 1]) + column - 1


def _splice(source: Source, edits: list[tuple[Span, str]]) -> str:
    text = source.text
    ordered = sorted(edits, key=lambda e: (e[0].line, e[0].column), reverse=True)
    for span, value in ordered:
        start = _offset(source, span.line, span.column)
        end = _offset(source, span.end_line, span.end_column)
        text = text[:start] + value + text[end:]
    return text


def _add_to_section(text: str, checked: Checked, section: str, lines: list[str]) -> str:
    match = re.search(rf"(?m)^{section}\s*\{{", text)
    if match is None:
        return text.rstrip("\n") + f"\n\n{section} {{\n" + "\n".join(lines) + "\n}\n"
    at = match.end()
    return text[:at] + "\n" + "\n".join(lines) + text[at:]
