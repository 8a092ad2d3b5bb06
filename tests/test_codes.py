"""Diagnostic codes are declared once (kspec/codes.py), all used, and documented."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from kspec.codes import DESCRIPTIONS, Code
from kspec.report.codes import render

ROOT = Path(__file__).resolve().parents[1]


def _string_constants() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "kspec").rglob("*.py"):
        if path.name == "codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_code_is_used_somewhere() -> None:
    unused = set(get_args(Code)) - _string_constants()
    assert not unused, f"codes nothing reports: {sorted(unused)}"


def test_every_code_is_described() -> None:
    assert list(get_args(Code)) == list(DESCRIPTIONS)
    assert all(text and not text.endswith(".") for text in DESCRIPTIONS.values())


def test_diagnostics_md_is_current() -> None:
    assert (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8") == render(), (
        "docs/diagnostics.md is stale: run `python -m kspec.report.codes > docs/diagnostics.md`"
    )


def test_syntax_error_is_only_for_parse_errors() -> None:
    users = set()
    for path in (ROOT / "kspec").rglob("*.py"):
        if path.name != "codes.py" and '"syntax-error"' in path.read_text(encoding="utf-8"):
            users.add(path.relative_to(ROOT).as_posix())
    assert users == {"kspec/syntax/errors.py"}
