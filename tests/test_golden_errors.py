"""Golden corpus of broken specs: each `.txt` is exactly what `kspec check FILE` shows a user.

A case is `tests/golden/errors/NAME.kspec`, with optional extra arguments in `NAME.args` (shell
syntax: `--set units=x`). The transcript holds the command, its stderr and its exit status; the
diff of `pytest --update-golden` is the review of any change to a message.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from conftest import GOLDEN, ROOT

from kspec.cli import main

ERRORS = GOLDEN / "errors"
CASES = sorted(ERRORS.glob("*.kspec"))


def case_args(src: Path) -> list[str]:
    args = src.with_suffix(".args")
    return shlex.split(args.read_text(encoding="utf-8")) if args.exists() else []


def run_check(src: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[str, str, int]:
    """Run the real CLI from the repository root, as a user would: (stdout, stderr, status)."""
    argv = ["check", src.relative_to(ROOT).as_posix(), *case_args(src), *extra]
    status = main(argv)
    out, err = capsys.readouterr()
    return out, err, status


def transcript(src: Path, err: str, status: int) -> str:
    command = shlex.join(["kspec", "check", src.relative_to(ROOT).as_posix(), *case_args(src)])
    return f"$ {command}\n{err}[exit status {status}]\n"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # paths in messages are relative to the working directory


@pytest.mark.parametrize("src", CASES, ids=lambda p: p.stem)
def test_error_golden(src: Path, capsys: pytest.CaptureFixture[str], update_golden: bool) -> None:
    out, err, status = run_check(src, capsys)
    got = transcript(src, err, status)
    expected = src.with_suffix(".txt")
    if update_golden:
        expected.write_text(got, encoding="utf-8")
    assert out == "", "text diagnostics go to stderr"
    assert status == 1, "every case in the corpus is a broken spec"
    assert "Traceback" not in err and "internal error" not in err
    assert got == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("src", CASES, ids=lambda p: p.stem)
def test_error_json_points_into_the_source(src: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same diagnostics for tools: every one locates a real place with code and message."""
    out, _, status = run_check(src, capsys, "--format", "json")
    report = json.loads(out)
    assert status == 1 and report["ok"] is False
    severities = {d["severity"] for d in report["diagnostics"]}
    assert "error" in severities or "--strict" in case_args(src)
    for d in report["diagnostics"]:
        assert d["code"] and d["message"] and not d["message"].endswith(".")
        if d["file"].startswith("--set"):
            continue
        lines = (ROOT / d["file"]).read_text(encoding="utf-8").split("\n")
        assert 1 <= d["line"] <= len(lines), d
        assert 1 <= d["column"] <= len(lines[d["line"] - 1]) + 1, d


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 45
    missing = [p.name for p in CASES if not p.with_suffix(".txt").exists()]
    assert not missing, f"run pytest --update-golden to create: {missing}"
    stale = [p.name for p in ERRORS.glob("*.txt") if not p.with_suffix(".kspec").exists()]
    assert not stale, f"golden outputs without a spec: {stale}"
