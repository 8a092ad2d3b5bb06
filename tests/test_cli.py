"""The `kspec` command as users and tools see it: exit codes, help, JSON, --strict, no TF."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

import kspec
from kspec import cli
from kspec.cli import COMMANDS, EXIT_INTERNAL, EXIT_OK, EXIT_SPEC, EXIT_USAGE, main

MNIST = str(EXAMPLES / "mnist.kspec")
DIAGNOSTIC_KEYS = {
    "severity",
    "code",
    "message",
    "file",
    "line",
    "column",
    "end_line",
    "end_column",
    "help",
    "notes",
}

BROKEN = """\
model m {
    input x: (784,)
    Dense(64, activation=rleu)
    Dense(10, units=3)
}
"""
# Clean but for a warning: the second input feeds nothing.
UNUSED_INPUT = """\
model m {
    input x: (784,)
    input extra: (4,)
    output x -> Dense(10)
}
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def write(tmp_path: Path, text: str, name: str = "spec.kspec") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- exit codes ----------------------------------------------------------------------------
def test_clean_specs_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    examples = sorted(str(p) for p in EXAMPLES.glob("*.kspec"))
    status, out, err = run(["check", *examples], capsys)
    assert status == EXIT_OK
    assert out == ""
    assert err.strip() == f"ok: {len(examples)} files, 0 errors, 0 warnings"


def test_spec_errors_exit_1_and_all_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(["check", write(tmp_path, BROKEN)], capsys)
    assert status == EXIT_SPEC
    assert "unknown activation 'rleu'" in err
    assert "got 'units' twice" in err
    assert err.rstrip().endswith("failed: 1 file, 2 errors, 0 warnings")


def test_errors_of_every_file_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = write(tmp_path, BROKEN, "first.kspec")
    second = write(tmp_path, "model m {\n    input x: (4,)\n    LSTM(3)\n}\n", "second.kspec")
    status, _, err = run(["check", first, MNIST, second], capsys)
    assert status == EXIT_SPEC
    assert f"{second}:3:5: error: LSTM expects a 3-D input" in err
    assert err.rstrip().endswith("failed: 3 files, 3 errors, 0 warnings")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["check"],
        ["check", "no/such/file.kspec"],
        ["check", MNIST, "--format", "yaml"],
        ["frobnicate", MNIST],
        ["summary", MNIST, "--model", "nope"],
    ],
    ids=["no-command", "no-file", "missing-file", "bad-format", "bad-command", "bad-model"],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    try:
        status = main(argv)
    except SystemExit as e:  # argparse's own usage errors
        status = e.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert status == EXIT_USAGE
    assert "Traceback" not in out + err
    if argv and argv[0] in COMMANDS:
        assert "error:" in err


def test_a_bug_is_an_internal_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("kspec.check.spec.check_text", broken)
    status, _, err = run(["check", MNIST], capsys)
    assert status == EXIT_INTERNAL
    assert "internal error: RuntimeError: boom" in err
    assert "Traceback" not in err
    assert "--debug" in err  # says how to see more


@pytest.mark.parametrize(
    "argv", [["--debug", "check", MNIST], ["check", MNIST, "--debug"]], ids=["before", "after"]
)
def test_debug_shows_the_internal_traceback(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.delenv("KSPEC_DEBUG", raising=False)
    monkeypatch.setattr("kspec.check.spec.check_text", broken)
    status, _, err = run(argv, capsys)
    assert status == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in err
    assert 'raise RuntimeError("boom")' in err  # the frame that failed, not only the message


def test_debug_changes_nothing_without_a_bug(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", MNIST, "--debug"], capsys)[0] == 0


# -- help and version ----------------------------------------------------------------------
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_subcommand_help_has_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert COMMANDS[command][0] in " ".join(out.split())  # says what it does
    example = out[out.index("example") :]
    assert f"kspec {command} " in example


def test_main_help_lists_commands_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "kspec check examples/" in out
    for command in COMMANDS:
        assert command in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"kspec {kspec.__version__}"


# -- JSON for tools ------------------------------------------------------------------------
def test_json_diagnostics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, BROKEN)
    status, out, err = run(["check", path, "--format", "json"], capsys)
    report = json.loads(out)
    assert status == EXIT_SPEC and err == ""
    assert report["ok"] is False
    first, second = report["diagnostics"]
    assert set(first) == DIAGNOSTIC_KEYS
    assert first["severity"] == "error"
    assert first["code"] == "bad-choice"
    assert first["message"] == "unknown activation 'rleu'"
    assert (first["file"], first["line"], first["column"]) == (path, 3, 15)
    assert first["help"] == "did you mean 'relu'?"
    assert second["code"] == "duplicate-argument" and second["line"] == 4


def test_json_syntax_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        ["check", write(tmp_path, "model m {\n  Dense(\n"), "--format", "json"], capsys
    )
    report = json.loads(out)
    assert status == EXIT_SPEC
    assert [d["code"] for d in report["diagnostics"]] == ["syntax-error"]
    assert set(report["diagnostics"][0]) == DIAGNOSTIC_KEYS


def test_json_clean(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["check", MNIST, "--format", "json"], capsys)
    assert status == EXIT_OK
    assert json.loads(out) == {"ok": True, "diagnostics": []}


def test_json_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["summary", MNIST, "--format", "json"], capsys)
    summary = json.loads(out)
    assert status == EXIT_OK
    text = json.dumps(summary)
    assert "34826" in text  # docs/language.md: the total Keras prints for this model
    assert "conv2d" in text


def test_json_summary_of_a_broken_spec_is_diagnostics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(["summary", write(tmp_path, BROKEN), "--format", "json"], capsys)
    report = json.loads(out)
    assert status == EXIT_SPEC
    assert report["ok"] is False and len(report["diagnostics"]) == 2


def test_text_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(["summary", MNIST], capsys)
    assert status == EXIT_OK
    assert 'Model: "mnist"' in out
    assert "Total params: 34,826" in out


# -- warnings and --strict -----------------------------------------------------------------
def test_warnings_do_not_fail_unless_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, UNUSED_INPUT)
    status, _, err = run(["check", path], capsys)
    assert status == EXIT_OK
    assert "warning: input 'extra' is never used" in err
    assert err.rstrip().endswith("ok: 1 file, 0 errors, 1 warning")

    status, _, err = run(["check", path, "--strict"], capsys)
    assert status == EXIT_SPEC
    assert err.rstrip().endswith("failed: 1 file, 0 errors, 1 warning")

    status, out, _ = run(["check", path, "--strict", "--format", "json"], capsys)
    report = json.loads(out)
    assert status == EXIT_SPEC and report["ok"] is False
    assert [d["severity"] for d in report["diagnostics"]] == ["warning"]


def test_set_overrides_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "units = 64\nmodel m {\n    input x: (8,)\n    Dense(units)\n}\n")
    status, out, _ = run(["summary", path, "--set", "units=3"], capsys)
    assert status == EXIT_OK
    assert "(None, 3)" in out
    status, _, err = run(["check", path, "--set", "unit=3"], capsys)
    assert status == EXIT_SPEC
    assert "did you mean 'units'?" in err


# -- no TensorFlow -------------------------------------------------------------------------
NO_TF_RUNS = {
    "check": ["check", MNIST],
    "summary": ["summary", MNIST],
    "check-json": ["check", str(EXAMPLES / "text_bilstm.kspec"), "--format", "json"],
    "summary-blocks": ["summary", str(EXAMPLES / "resnet_tiny.kspec")],
}


@pytest.mark.parametrize("argv", NO_TF_RUNS.values(), ids=NO_TF_RUNS.keys())
def test_check_and_summary_never_import_tensorflow(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from kspec.cli import main\n"
        f"status = main({argv!r})\n"
        "loaded = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print('STATUS', status, 'LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "STATUS 0 LOADED []"


def test_console_script_entry_point() -> None:
    """`python -m kspec.cli` behaves as the installed `kspec` command: exit status included."""
    done = subprocess.run(
        [sys.executable, "-m", "kspec.cli", "check", MNIST],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert cli.main.__module__ == "kspec.cli"
