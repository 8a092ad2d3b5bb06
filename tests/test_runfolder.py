"""The run folder read back and guarded, without training: corrupted run.json/history.json and
checkpoints, the folder lock, a finished run refused, an unwritable folder, and loaded data
validated before training (Hypothesis strategies for each kind of damage)."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kspec.check.settings import Port, Signature
from kspec.cli import main
from kspec.diagnostics import KspecError
from kspec.run import checkpoint, lock, record
from kspec.run.files import load_npz
from kspec.run.request import Part, Request
from kspec.run.train import output_errors
from kspec.run.validate import check_data, image_problem
from kspec.source import NO_SPAN
from kspec.syntax import ir

GOOD_INFO: dict[str, Any] = {
    "status": "running",
    "spec_path": "tiny.kspec",
    "overrides": [],
    "workdir": "/tmp",
    "model": "tiny",
    "epochs": 3,
    "main_epochs": 3,
    "spec_text": "model tiny {\n    input x: (4,)\n    Dense(2)\n}\n",
    "phases": [{"phase": "main", "first_epoch": 1, "epochs": 3}],
}
SPEC = """model tiny {
    input x: (16,)
    Dense(4, activation=softmax)
}

data {
    source = synthetic(samples=64)
}

train {
    loss = sparse_categorical_crossentropy
    epochs = 1
}
"""
FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def folder(tmp_path: Path, info: Any = GOOD_INFO, raw: bytes | None = None) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "run.json").write_bytes(raw if raw is not None else json.dumps(info).encode())
    return run_dir


def diagnosed(fn: Any, *args: Any) -> KspecError:
    with pytest.raises(KspecError) as e:
        fn(*args)
    return e.value


# -- run.json ------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def broken_infos(draw: Any) -> Any:
    """A run.json that --resume must refuse: not an object, a field gone, or a field of the
    wrong kind."""
    how = draw(st.sampled_from(["value", "drop", "retype"]))
    if how == "value":
        return draw(json_values.filter(lambda v: not isinstance(v, dict)))
    info = copy.deepcopy(GOOD_INFO)
    key = draw(st.sampled_from(sorted(info)))
    if how == "drop" and key not in ("main_epochs", "phases"):
        del info[key]
        return info
    wrong = {
        "status": st.sampled_from(["done", "", "RUNNING"]) | st.integers() | st.none(),
        "spec_text": st.integers() | st.none() | st.lists(st.text(max_size=3), max_size=2),
        "spec_path": st.integers() | st.none(),
        "model": st.integers() | st.lists(st.integers(), max_size=2),
        "workdir": st.booleans() | st.none(),
        "overrides": st.text(max_size=4) | st.lists(st.integers(), min_size=1, max_size=2),
        "epochs": st.text(max_size=4) | st.floats() | st.booleans() | st.integers(max_value=0),
        "main_epochs": st.text(max_size=4) | st.none() | st.integers(max_value=0),
        "phases": st.text(max_size=4) | st.lists(st.integers(), min_size=1, max_size=2),
    }[key]
    info[key] = draw(wrong)
    return info


@FAST
@given(info=broken_infos())
def test_a_broken_run_json_is_a_diagnostic_naming_it(tmp_path: Path, info: Any) -> None:
    run_dir = folder(tmp_path, info)
    error = diagnosed(record.read_info, run_dir)
    (d,) = error.diagnostics
    assert d.code == "bad-run-folder" and d.span.path == str(run_dir / "run.json")
    assert "cannot continue" in (d.help or "")


@pytest.mark.parametrize("raw", [b"[]", b"{}", b"null", b"", b'{"status": ', b"\xff\xfe"])
def test_the_issue_s_run_json_reproducers(
    tmp_path: Path, raw: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = folder(tmp_path, raw=raw)
    assert main(["run", "--resume", str(run_dir), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"{run_dir / 'run.json'}: error: " in err and "internal error" not in err
    assert sorted(p.name for p in run_dir.iterdir()) == ["run.json"]  # untouched, no lock left


def test_a_folder_without_run_json_is_not_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--resume", str(tmp_path), "-q"]) == 1
    assert "is not a kspec run folder: it has no run.json" in capsys.readouterr().err


# -- history.json --------------------------------------------------------------------------
@st.composite
def broken_histories(draw: Any) -> bytes:
    good = {"epoch": [1, 2, 3], "loss": [0.9, 0.5, 0.4]}
    how = draw(st.sampled_from(["bytes", "value", "epoch", "column", "short"]))
    if how == "bytes":
        text = json.dumps(good).encode()
        return text[: draw(st.integers(0, len(text) - 1))]
    if how == "value":
        return json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict)))).encode()
    if how == "epoch":
        good["epoch"] = draw(st.lists(st.integers(), max_size=3).filter(lambda e: e != [1, 2, 3]))
        return json.dumps(good).encode()
    if how == "column":
        good["loss"] = draw(
            st.lists(
                st.text(max_size=2) | st.booleans() | st.lists(st.none(), max_size=1),
                min_size=3,
                max_size=3,
            )
            | st.lists(st.floats(), max_size=2)
            | st.text(max_size=3)
        )
        return json.dumps(good).encode()
    return json.dumps({"epoch": [1], "loss": [0.9]}).encode()  # fewer epochs than the checkpoint


@FAST
@given(raw=broken_histories())
def test_a_broken_history_is_a_diagnostic_that_says_the_run_can_continue(
    tmp_path: Path, raw: bytes
) -> None:
    run_dir = folder(tmp_path)
    (run_dir / "history.json").write_bytes(raw)
    (d,) = diagnosed(record.read_history, run_dir, 3).diagnostics
    assert d.code == "bad-run-folder" and d.span.path.endswith("history.json")
    assert "--force" in (d.help or "") and "continues from epoch 4" in (d.help or "")


def test_a_good_history_reads_back_to_the_checkpoint_s_epoch(tmp_path: Path) -> None:
    run_dir = folder(tmp_path)
    (run_dir / "history.json").write_text(json.dumps({"epoch": [1, 2, 3], "loss": [3, 2, None]}))
    assert record.read_history(run_dir, 2) == [{"loss": 3}, {"loss": 2}]


# -- checkpoints ---------------------------------------------------------------------------
def fake_checkpoint(run_dir: Path, seq: int, epoch: int, body: bytes) -> tuple[Path, Path]:
    folder = run_dir / "backup"
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"checkpoint-{seq:06d}.weights.h5"
    meta = folder / f"checkpoint-{seq:06d}.json"
    weights.write_bytes(body)
    meta.write_text(
        json.dumps(
            {
                "epoch": epoch,
                "weights": weights.name,
                "bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            }
        )
    )
    return weights, meta


@st.composite
def damage(draw: Any) -> tuple[str, int]:
    return draw(
        st.sampled_from(["truncate", "flip", "no-meta", "meta-garbage", "meta-type", "no-weights"])
    ), draw(st.integers(0, 63))


@FAST
@given(harm=damage())
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(
    tmp_path: Path, harm: tuple[str, int]
) -> None:
    run_dir = tmp_path / f"run-{harm[0]}-{harm[1]}"
    fake_checkpoint(run_dir, 1, 2, b"A" * 64)
    weights, meta = fake_checkpoint(run_dir, 2, 3, b"B" * 64)
    how, at = harm
    if how == "truncate":
        weights.write_bytes(b"B" * at)
    elif how == "flip":
        weights.write_bytes(b"B" * at + b"C" + b"B" * (63 - at))
    elif how == "no-meta":
        meta.unlink()
    elif how == "meta-garbage":
        meta.write_bytes(meta.read_bytes()[:at])
    elif how == "meta-type":
        meta.write_text(json.dumps([{"epoch": "3"}, None, {"epoch": 3}][at % 3]))
    else:
        weights.unlink()
    found = checkpoint.find(run_dir)
    assert found.latest is not None and found.latest.epoch == 2
    assert len(found.skipped) == 1 and "checkpoint-000002" in found.skipped[0]


def test_a_removed_backup_folder_is_said_so(tmp_path: Path) -> None:
    found = checkpoint.find(tmp_path)
    assert found.latest is None and found.folder_missing


# -- the lock ------------------------------------------------------------------------------
HOLD = """
import sys, time
from pathlib import Path
from kspec.run.lock import locked
with locked(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_writer_is_told_the_folder_and_the_holder_s_pid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = folder(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        (d,) = diagnosed(lambda: lock.locked(run_dir).__enter__()).diagnostics
        assert d.code == "run-locked" and f"(process {holder.pid})" in d.message
        assert str(run_dir) in d.message
        assert main(["run", "--resume", str(run_dir), "-q"]) == 1
        assert f"process {holder.pid}" in capsys.readouterr().err
        spec = tmp_path / "tiny.kspec"
        spec.write_text(SPEC)
        assert main(["run", str(spec), "-q", "-o", str(run_dir), "--force"]) == 1
        assert f"process {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.communicate()
    with lock.locked(run_dir):  # a dead holder's lock is gone with it
        assert (run_dir / ".lock").read_text().strip() == str(os.getpid())
    assert not (run_dir / ".lock").exists()


# -- finished runs, unwritable folders -----------------------------------------------------
def test_a_finished_run_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = folder(tmp_path, {**GOOD_INFO, "status": "finished"})
    (run_dir / "model.keras").write_bytes(b"weights")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run_dir.iterdir()}
    spec = tmp_path / "tiny.kspec"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "-q", "-o", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "holds a finished run" in err and "--force" in err and "--epochs N" in err
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run_dir.iterdir()} == before
    assert main(["run", "--resume", str(run_dir), "-q"]) == 1
    assert "already finished its 3 epochs" in capsys.readouterr().err
    assert main(["run", "--resume", str(run_dir), "--epochs", "2", "-q"]) == 1
    assert "would not extend it" in capsys.readouterr().err


def test_an_unfinished_run_is_refused_with_the_resume_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = folder(tmp_path)
    spec = tmp_path / "tiny.kspec"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "-q", "-o", str(run_dir)]) == 2
    assert f"kspec run --resume {run_dir}" in capsys.readouterr().err


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EROFS", "EACCES", "ENOTDIR"])
def test_an_unwritable_run_folder_is_a_diagnostic(tmp_path: Path, errno_name: str) -> None:
    import errno

    code = getattr(errno, errno_name)
    with pytest.raises(KspecError) as e, output_errors(tmp_path):
        raise OSError(code, os.strerror(code), str(tmp_path / "run.json"))
    (d,) = e.value.diagnostics
    assert d.code == "output-error" and str(tmp_path / "run.json") in d.message


def test_output_under_a_file_is_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    spec = tmp_path / "tiny.kspec"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "-q", "-o", str(tmp_path / "file" / "run")]) == 1
    err = capsys.readouterr().err
    assert "cannot write the run folder" in err and "internal error" not in err


# -- data ----------------------------------------------------------------------------------
SIG = Signature((Port("x", (3,)),), (Port("y", (4,), loss="sparse_categorical_crossentropy"),))


def req(source: Any = None) -> Request:
    return Request(source, NO_SPAN, {}, Path("."), SIG)


@st.composite
def broken_arrays(draw: Any) -> tuple[Part, str, str]:
    """A part with one kind of damage, the message it must give and the first bad index."""
    n = draw(st.integers(2, 12))
    x = np.zeros((n, 3), np.float32)
    y = np.zeros(n, np.int64)
    i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, 2))
    how = draw(
        st.sampled_from(
            [
                "nan-x",
                "inf-x",
                "label-high",
                "label-negative",
                "label-fraction",
                "strings",
                "length",
            ]
        )
    )
    if how in ("nan-x", "inf-x"):
        x[i, j] = np.nan if how == "nan-x" else -np.inf
        return Part({"x": x}, {"y": y}, count=n), "NaN or infinite", f"[{i}, {j}]"
    if how == "label-high":
        y[i] = draw(st.integers(4, 10**6))
        return Part({"x": x}, {"y": y}, count=n), "outside 0..3", f"[{i}]"
    if how == "label-negative":
        y[i] = draw(st.integers(-(10**6), -1))
        return Part({"x": x}, {"y": y}, count=n), "outside 0..3", f"[{i}]"
    if how == "label-fraction":
        yf = y.astype(np.float32)
        yf[i] = 0.5
        return Part({"x": x}, {"y": yf}, count=n), "must be class indices", f"[{i}]"
    if how == "strings":
        xs = x.astype(str)
        xs[i, j] = draw(st.sampled_from(["abc", "", "1,5"]))
        return Part({"x": xs}, {"y": y}, count=n), "not numbers", f"[{i}, {j}]"
    short = draw(st.integers(0, n - 1))
    return Part({"x": x}, {"y": y[:short]}, count=n), "differ in length", f"has {short}"


@FAST
@given(case=broken_arrays())
def test_broken_arrays_name_the_array_and_the_first_bad_index(
    case: tuple[Part, str, str],
) -> None:
    part, message, where = case
    (d,) = diagnosed(check_data, part, None, SIG, req()).diagnostics
    assert d.code == "bad-data" and message in d.message and where in d.message


def test_good_arrays_pass() -> None:
    x, y = np.ones((5, 3), np.float32), np.arange(5) % 4
    check_data(Part({"x": x}, {"y": y}, count=5), None, SIG, req())


def test_class_indices_into_categorical_crossentropy() -> None:
    sig = Signature((Port("x", (3,)),), (Port("y", (4,), loss="categorical_crossentropy"),))
    part = Part({"x": np.ones((5, 3), np.float32)}, {"y": np.arange(5) % 4}, count=5)
    (d,) = diagnosed(check_data, part, None, sig, req()).diagnostics
    assert "sparse_categorical_crossentropy" in (d.help or "")


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@FAST
@given(cut=st.integers(0, len(png()) - 1))
def test_a_truncated_png_is_found(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png()[:cut])
    assert image_problem(path) is not None


def test_a_whole_png_and_a_cut_jpeg(tmp_path: Path) -> None:
    (tmp_path / "ok.png").write_bytes(png())
    assert image_problem(tmp_path / "ok.png") is None
    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    assert "truncated JPEG" in (image_problem(tmp_path / "cut.jpg") or "")


def npz_bytes() -> bytes:
    import io

    out = io.BytesIO()
    np.savez(out, x=np.ones((4, 3), np.float32), y=np.arange(4))
    return out.getvalue()


@FAST
@given(cut=st.integers(0, len(npz_bytes()) - 1))
def test_a_truncated_npz_is_a_data_error(tmp_path: Path, cut: int) -> None:
    from kspec.catalog import KerasObject

    path = tmp_path / "d.npz"
    path.write_bytes(npz_bytes()[:cut])
    (d,) = diagnosed(load_npz, req(KerasObject("npz", (), (("path", str(path)),)))).diagnostics
    assert d.code == "data-error" and str(path) in d.message


# -- the resolved spec ---------------------------------------------------------------------
def test_the_resolved_spec_is_printed_with_the_overrides_applied() -> None:
    from kspec.check.spec import check_text
    from kspec.run.resolved import resolved_spec
    from kspec.syntax.parse import parse

    checked, _ = check_text(SPEC, "tiny.kspec", ["train.epochs=5", "data.cache=true"])
    assert checked is not None
    text = resolved_spec(checked, ["train.epochs=5", "data.cache=true"])
    sections = {i.kind: i for i in parse(text).items if isinstance(i, ir.Section)}
    fields = {f.name: f.value for f in sections["train"].fields}
    assert fields["epochs"] == ir.Literal(5)
    assert "cache" in {f.name for f in sections["data"].fields}
