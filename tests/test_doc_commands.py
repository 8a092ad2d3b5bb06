"""Every `kspec ...` command the README, docs/ and the `--help` texts show runs as shown.

Commands are read from fenced code blocks (`kspec ...` or `$ kspec ...` lines, comments cut),
inline code spans with arguments and no placeholders (`FILE`, `DIR`, `...`), and the examples of
`kspec --help` and each command's help. They run in a scratch folder that holds what they name:
the examples, a `specs/` folder, small MNIST-format files in `data/mnist`, the run folder the
help names, `model.keras` and `x.npy`. `kspec run` trains one epoch (`--epochs 1`) to stay short,
and the transfer-learning run (a minute of MobileNetV2) runs only with KSPEC_DOC_COMMANDS=all.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from kspec.cli import COMMANDS, MAIN_HELP, main

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]{2,}\b|\.\.\.|\[|<")
RUN_FOLDER = "runs/digits-20250101-120000"
# Commands that do not finish on their own or need what a test machine lacks: why.
SKIP = {
    "kspec lsp": "a server an editor starts; tests/test_lsp.py drives it",
}
# Commands that import TensorFlow run in this process, to import it once.
IN_PROCESS = {"run", "evaluate", "predict"}
# MobileNetV2 at 160x160 trains for a minute on 2 CPU cores: only with KSPEC_DOC_COMMANDS=all.
HEAVY = {"kspec run examples/transfer.kspec --set weights='\"base.weights.h5\"'"}


def _command(line: str) -> str | None:
    """The command a line shows, as a shell would run it (comments and notes cut)."""
    line = line.strip().removeprefix("$ ")
    if not line.startswith("kspec "):
        return None
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None  # prose that starts with the word kspec
    line = line.split("  (")[0].split("  #")[0].split(" # ")[0].strip()  # "kspec ir f  (note)"
    words = shlex.split(line)
    if (len(words) < 3 and words[1:] != ["lsp"]) or PLACEHOLDER.search(line):
        return None
    return line


def doc_commands() -> dict[str, str]:
    """command -> where it is shown."""
    found: dict[str, str] = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT).as_posix()
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
            for line in block.splitlines():
                if (cmd := _command(line)) is not None:
                    found.setdefault(cmd, where)
        for span in re.findall(r"`(kspec [^`]+)`", text):
            if (cmd := _command(span)) is not None:
                found.setdefault(cmd, where)
    helps = [("kspec --help", MAIN_HELP)] + [
        (f"kspec {n} --help", c[1]) for n, c in COMMANDS.items()
    ]
    for where, text in helps:
        for line in text.splitlines():
            if line.startswith("  ") and (cmd := _command(line)) is not None:
                found.setdefault(cmd, where)
    return found


COMMANDS_SHOWN = doc_commands()


def test_the_docs_show_commands_of_every_kind() -> None:
    shown = {c.split()[1] for c in COMMANDS_SHOWN}
    assert set(COMMANDS) <= shown | {"lsp"}, set(COMMANDS) - shown


def test_the_docs_name_only_files_in_the_repository() -> None:
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        assert "shared/" not in text, f"{path.name} points outside the repository"
        for name in re.findall(
            r"\b((?:examples|tests|docs|schema|editors|bench)/[\w./-]+\.\w+)", text
        ):
            assert (ROOT / name).exists(), f"{path.name} names {name}, which does not exist"


def _idx(path: Path, array: object, magic: int) -> None:
    import numpy as np

    a = np.asarray(array, np.uint8)
    header = np.array([0, 0, 8, magic], np.uint8).tobytes() + np.array(a.shape, ">i4").tobytes()
    path.write_bytes(header + a.tobytes())


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np

    work = tmp_path_factory.mktemp("docs")
    for folder in ("examples", "schema"):
        shutil.copytree(ROOT / folder, work / folder)
    shutil.copytree(ROOT / "tests" / "golden", work / "tests" / "golden")
    shutil.copytree(ROOT / "examples", work / "specs")
    mnist = work / "data" / "mnist"
    mnist.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 256), ("t10k", 64)):
        _idx(mnist / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 3)
        _idx(mnist / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n), 1)
    np.save(work / "x.npy", rng.random((5, 8, 8)).astype(np.float32) * 16)
    for argv in (
        ["run", "examples/digits.kspec", "--epochs", "1", "-q", "-o", RUN_FOLDER],
        ["run", "examples/mnist.kspec", "--epochs", "1", "-q", "-o", "runs/mnist",
         "--set", 'data.source=idx("data/mnist")'],
    ):  # fmt: skip
        kspec(argv, work, check=True)
    shutil.copy(work / "runs" / "mnist" / "model.keras", work / "model.keras")
    (work / "f.kspec").write_text(F_KSPEC)
    if os.environ.get("KSPEC_DOC_COMMANDS") == "all":
        _transfer_files(work / "examples")
    return work


F_KSPEC = """units = 64
model f {
    input x: (16,)
    Dense(units, activation=relu)
    Dense(4, activation=softmax)
}
data {
    source = synthetic(samples=64)
}
train {
    loss = sparse_categorical_crossentropy
    epochs = 5
}
"""


def _transfer_files(examples: Path) -> None:
    """examples/transfer.kspec's flower folder (two tiny images a class) and a weights file."""
    import keras
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for label in ("daisy", "dandelion", "roses", "sunflowers", "tulips"):
        folder = examples / "data" / "flower_photos" / label
        folder.mkdir(parents=True)
        for i in range(2):
            pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
            (folder / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(160, 160, 3)
    )
    base.save_weights(examples / "base.weights.h5")


def kspec(argv: list[str], cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """`kspec ARGV` in this process (TensorFlow is imported once, not once per command)."""
    out, err = io.StringIO(), io.StringIO()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    finally:
        os.chdir(previous)
    if check:
        assert status == 0, err.getvalue()
    return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command as a user's shell runs it (globs, quotes), with this Python's `kspec`."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        input=(ROOT / "examples" / "mnist.kspec").read_text(),  # for `kspec fmt -`
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _bounded(command: str) -> str:
    """`kspec run FILE ...` trains one epoch; a resume continues as the run started."""
    if "--resume" in command and "--epochs" in command:  # extends the 1-epoch run by one
        return re.sub(r"--epochs \d+", "--epochs 2", command)
    if not command.startswith("kspec run ") or "--resume" in command:
        return command
    if "--epochs" in command:
        return re.sub(r"--epochs \d+", "--epochs 1", command)
    return command + " --epochs 1"


@pytest.mark.slow
@pytest.mark.keras
@pytest.mark.parametrize("command", sorted(COMMANDS_SHOWN), ids=lambda c: c[6:50])
def test_every_shown_command_runs(command: str, scratch: Path) -> None:
    if command in SKIP:
        pytest.skip(SKIP[command])
    if command in HEAVY and os.environ.get("KSPEC_DOC_COMMANDS") != "all":
        pytest.skip("a minute of training; KSPEC_DOC_COMMANDS=all runs it")
    words = command.split()
    if command.startswith("kspec run --resume ") and "--epochs" not in words:
        import json  # a run that was stopped: continue it

        info_path = scratch / words[words.index("--resume") + 1] / "run.json"
        info = json.loads(info_path.read_text())
        info_path.write_text(json.dumps({**info, "status": "interrupted"}))
    expected = 1 if "tests/golden/errors/" in command else 0
    if "kspec graph " in command and not command.endswith(".dot") and not shutil.which("dot"):
        expected = 1  # no Graphviz here: a diagnostic that says so
    if command.split()[1] in IN_PROCESS:
        done = kspec(shlex.split(_bounded(command))[1:], scratch)
    else:
        done = shell(_bounded(command), scratch)
    where = COMMANDS_SHOWN[command]
    assert done.returncode == expected, f"{command} (shown in {where}):\n{done.stderr}"
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
