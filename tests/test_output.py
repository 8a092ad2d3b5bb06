"""kspec/output.py, the one writer: a failed write keeps the old file and is a diagnostic.

Disk-full faults are injected two ways: by patching `os.write`/`os.fsync` (everywhere), and,
when the tests run as root and may mount, with a real 64 KiB tmpfs filled to the brim, and a
tmpfs remounted read-only.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kspec import output
from kspec.cli import EXIT_OK, EXIT_SPEC, main
from kspec.diagnostics import KspecError

OLD = "the old contents, which must survive\n"
SPEC = "model m {\n    input x: (4,)\n    Dense(2)\n}\n"
UNFORMATTED = "model m {\n  input x: (4,)\n  Dense(2)\n}\n"
CONFIG = {  # a Keras model config, as `kspec import` reads it (no TensorFlow needed)
    "class_name": "Sequential",
    "config": {
        "name": "s",
        "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "x"}},
            {"class_name": "Dense", "config": {"name": "d", "units": 2}},
        ],
    },
}


def _inputs(folder: Path) -> tuple[str, str]:
    spec = folder / "in.kspec"
    spec.write_text(SPEC)
    config = folder / "model.json"
    config.write_text(json.dumps(CONFIG))
    return str(spec), str(config)


# Every command that writes a file the user names: (name, argv for (spec, config, out), suffix).
COMMANDS: list[tuple[str, Callable[[str, str, str], list[str]], str]] = [
    ("ir", lambda spec, _, out: ["ir", spec, "-o", out], ".json"),
    ("graph", lambda spec, _, out: ["graph", spec, "-o", out], ".dot"),
    ("import", lambda _, config, out: ["import", config, "-o", out], ".kspec"),
    ("codegen", lambda spec, _, out: ["codegen", spec, "-o", out], ".py"),
    ("fmt", lambda _spec, _config, out: ["fmt", out], ".kspec"),
]
IDS = [c[0] for c in COMMANDS]


def _prepare(name: str, folder: Path, out: Path) -> str:
    """The old file: for fmt the spec itself (unformatted, so fmt must rewrite it)."""
    text = UNFORMATTED if name == "fmt" else OLD
    out.write_text(text)
    return text


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# -- the writer itself -----------------------------------------------------------------------
def test_a_new_file_gets_the_umask_and_an_old_one_keeps_its_mode(tmp_path: Path) -> None:
    new, old = tmp_path / "new.txt", tmp_path / "old.txt"
    old.write_text(OLD)
    old.chmod(0o640)
    mask = os.umask(0o027)
    try:
        output.write_text(new, "a")
        output.write_text(old, "b")
    finally:
        os.umask(mask)
    assert (new.read_text(), new.stat().st_mode & 0o777) == ("a", 0o640)
    assert (old.read_text(), old.stat().st_mode & 0o777) == ("b", 0o640)
    old.chmod(0o600)
    output.write_text(old, "c")
    assert old.stat().st_mode & 0o777 == 0o600
    assert _leftovers(tmp_path) == []


def test_a_symlink_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "spec.kspec"
    target.write_text(OLD)
    link = tmp_path / "link.kspec"
    link.symlink_to(Path("real") / "spec.kspec")  # relative, as users make them
    chain = tmp_path / "chain.kspec"
    chain.symlink_to(link)
    output.write_text(chain, "new\n")
    assert link.is_symlink() and chain.is_symlink()
    assert target.read_text() == "new\n"
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "real") == []


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "made.json")
    output.write_text(link, "{}")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "{}"


def _fail_after(monkeypatch: pytest.MonkeyPatch, name: str, code: int, allow: int = 0) -> None:
    """Make os.NAME fail with `code` after `allow` successful calls (a disk that fills up)."""
    real = getattr(os, name)
    calls = {"n": 0}

    def fake(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > allow:
            raise OSError(code, os.strerror(code))
        if name == "write":  # a short write: half the bytes went to disk
            fd, data = args
            return real(fd, bytes(data[: max(1, len(data) // 2)]))
        return real(*args)

    monkeypatch.setattr(os, name, fake)


@pytest.mark.parametrize(
    ("name", "code", "allow"),
    [
        ("write", errno.ENOSPC, 0),
        ("write", errno.ENOSPC, 1),  # after a short write
        ("write", errno.EDQUOT, 0),
        ("fsync", errno.ENOSPC, 0),  # delayed allocation: the disk fills at fsync
        ("fsync", errno.EIO, 0),
        ("replace", errno.EACCES, 0),
    ],
)
def test_a_failed_write_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, code: int, allow: int
) -> None:
    path = tmp_path / "out.txt"
    path.write_text(OLD)
    _fail_after(monkeypatch, name, code, allow)
    with pytest.raises(KspecError) as info:
        output.write_text(path, "x" * 10_000)
    monkeypatch.undo()
    (d,) = info.value.diagnostics
    assert d.code == "write-error" and d.span.path == str(path)
    assert d.message == f"cannot write {path}: {os.strerror(code)}"
    assert d.help and d.help.endswith("any old file there is unchanged")
    assert path.read_text() == OLD
    assert _leftovers(tmp_path) == []


def test_an_interrupt_while_writing_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.txt"
    path.write_text(OLD)

    def interrupted(*_: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == OLD and _leftovers(tmp_path) == []


def test_a_folder_missing_a_folder_or_a_save_that_fails(tmp_path: Path) -> None:
    with pytest.raises(KspecError) as info:
        output.write_text(tmp_path, "x")
    assert info.value.diagnostics[0].help.startswith("that is a folder")  # type: ignore[union-attr]
    with pytest.raises(KspecError) as info:
        output.write_text(tmp_path / "no" / "such" / "f.txt", "x")
    assert info.value.diagnostics[0].help.startswith("the folder does not exist")  # type: ignore[union-attr]

    def save(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    (tmp_path / "m.keras").write_text(OLD)
    with pytest.raises(KspecError):
        output.save_with(tmp_path / "m.keras", save, suffix=".keras")
    assert (tmp_path / "m.keras").read_text() == OLD and _leftovers(tmp_path) == []


# -- every command with -o, and fmt ------------------------------------------------------------
@pytest.mark.parametrize(("name", "argv", "suffix"), COMMANDS, ids=IDS)
@pytest.mark.parametrize("fault", ["write", "fsync"])
def test_disk_full_during_a_command_keeps_the_old_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    argv: Callable[[str, str, str], list[str]],
    suffix: str,
    fault: str,
) -> None:
    spec, config = _inputs(tmp_path)
    out = tmp_path / "out" / f"existing{suffix}"
    out.parent.mkdir()
    old = _prepare(name, tmp_path, out)
    _fail_after(monkeypatch, fault, errno.ENOSPC)
    status = main(argv(spec, config, str(out)))
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert status == EXIT_SPEC, err
    assert f"{out}: error: cannot write {out}: No space left on device" in err
    assert "help: the disk is full" in err and "internal error" not in err
    assert out.read_text() == old
    assert _leftovers(out.parent) == []
    # With the space back, the same command succeeds.
    assert main(argv(spec, config, str(out))) == EXIT_OK
    assert out.read_text() != old


def test_fmt_writes_through_a_link_and_goes_on_after_a_failed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real.kspec"
    real.write_text(UNFORMATTED)
    link = tmp_path / "link.kspec"
    link.symlink_to(real.name)
    assert main(["fmt", str(link)]) == EXIT_OK
    assert link.is_symlink() and real.read_text() == SPEC
    # One unwritable file does not stop the others.
    first, second = tmp_path / "a.kspec", tmp_path / "b.kspec"
    first.write_text(UNFORMATTED)
    second.write_text(UNFORMATTED)
    _fail_after(monkeypatch, "write", errno.ENOSPC)
    assert main(["fmt", str(first)]) == EXIT_SPEC
    monkeypatch.undo()
    capsys.readouterr()
    real_replace = os.replace

    def refuse_first(src: Any, dst: Any) -> None:
        if Path(dst) == first:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", refuse_first)
    assert main(["fmt", str(first), str(second)]) == EXIT_SPEC
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert f"cannot write {first}: Read-only file system" in err
    assert first.read_text() == UNFORMATTED and second.read_text() == SPEC


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_an_image_from_dot_is_written_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, _ = _inputs(tmp_path)
    out = tmp_path / "m.svg"
    out.write_text(OLD)
    _fail_after(monkeypatch, "write", errno.ENOSPC)
    assert main(["graph", spec, "-o", str(out)]) == EXIT_SPEC
    monkeypatch.undo()
    assert out.read_text() == OLD
    assert main(["graph", spec, "-o", str(out)]) == EXIT_OK
    assert out.read_text().lstrip().startswith("<?xml")


# -- real file systems (root only) -------------------------------------------------------------
def _mount(folder: Path, options: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    folder.mkdir(exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    if not _mount(folder, options):
        pytest.skip("needs root and a working `mount -t tmpfs`")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> None:
    """Fill the file system until a write fails, as a full disk is."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 512)
    finally:
        os.close(fd)


@pytest.mark.parametrize(("name", "argv", "suffix"), COMMANDS, ids=IDS)
def test_a_real_full_disk_keeps_the_old_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    argv: Callable[[str, str, str], list[str]],
    suffix: str,
) -> None:
    spec, config = _inputs(tmp_path)
    big = SPEC.replace("Dense(2)", "Dense(2)\n" + "    Dense(2)\n" * 400)
    Path(spec).write_text(big)  # an output larger than the one free block
    with tmpfs(tmp_path / "disk", "size=64k") as disk:
        out = disk / f"existing{suffix}"
        old = _prepare(name, disk, out)
        if name == "fmt":
            old = "model m {\n  input x: (4,)\n" + "  Dense(2)\n" * 1500 + "}\n"
            out.write_text(old)
        _fill(disk)
        status = main(argv(spec, config, str(out)))
        err = capsys.readouterr().err
        assert status == EXIT_SPEC, err
        assert f"cannot write {out}: No space left on device" in err
        assert out.read_text() == old
        assert _leftovers(disk) == []


@pytest.mark.parametrize(("name", "argv", "suffix"), COMMANDS, ids=IDS)
def test_a_read_only_folder_is_a_diagnostic(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    argv: Callable[[str, str, str], list[str]],
    suffix: str,
) -> None:
    spec, config = _inputs(tmp_path)
    with tmpfs(tmp_path / "ro", "size=1m") as folder:
        out = folder / f"existing{suffix}"
        old = _prepare(name, folder, out)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        status = main(argv(spec, config, str(out)))
        err = capsys.readouterr().err
        assert status == EXIT_SPEC, err
        assert f"cannot write {out}: Read-only file system" in err
        assert "help: the file system is read-only" in err
        assert out.read_text() == old


@pytest.mark.slow  # imports TensorFlow
def test_disk_full_during_predict_keeps_the_old_predictions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", np.zeros((3, 4), np.float32))
    out = tmp_path / "out.npy"
    out.write_text(OLD)
    argv = ["predict", str(tmp_path / "m.keras"), str(tmp_path / "x.npy"), "-o", str(out)]
    _fail_after(monkeypatch, "fsync", errno.ENOSPC)
    status = main(argv)
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert status == EXIT_SPEC, err
    assert f"cannot write {out}: No space left on device" in err
    assert out.read_text() == OLD and _leftovers(tmp_path) == []
    assert main(argv) == EXIT_OK and np.load(out).shape == (3, 2)
