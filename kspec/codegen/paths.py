"""Paths in generated scripts: a path the spec wrote is relative to the spec's folder, which is
where the script is written; a path given on the command line is relative to the working one."""

from __future__ import annotations

from pathlib import Path

from kspec.codegen.pyliteral import py_literal


def data_path(value: str, from_file: bool) -> str:
    """A path as the script computes it; `from_file`: the spec file (not --set) wrote it."""
    p = Path(value)
    if value.startswith("~"):
        return f"Path({py_literal(value)}).expanduser()"
    if p.is_absolute() or not from_file:
        return f"Path({py_literal(value)})"
    return f"Path(__file__).resolve().parent / {py_literal(value)}"


def script_path(value: str, written_in: str) -> str:
    """A path the file `written_in` gave (a spec file, or `--set ...`)."""
    return data_path(value, bool(written_in) and not written_in.startswith("--"))
