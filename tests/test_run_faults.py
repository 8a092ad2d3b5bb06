"""`kspec run` killed at every stage, resumed, and fed broken data: the run folder always ends
complete (every file, exactly the epochs asked for, no temporary file, no backup).

Each reproducer kills the process at one exact moment by patching the function that runs then
(SIGKILL from inside, so nothing is cleaned up); the random-kill test kills at a random time,
KSPEC_KILL_TRIALS times (2 by default).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_run import RUN_FILES, tiny

pytestmark = [pytest.mark.keras, pytest.mark.slow]

PRELUDE = """
import os, signal, sys
from pathlib import Path
from kspec.run import checkpoint, rundir, train

def die():
    sys.stdout.flush(); sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""
MAIN = """
from kspec.cli import main
sys.exit(main(sys.argv[1:]))
"""


def kspec(*args: str, cwd: Path, fault: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + fault + MAIN, *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=600,
    )


def read(path: Path) -> Any:
    return json.loads(path.read_text())


def assert_complete(run_dir: Path, epochs: int) -> None:
    """What every finished run folder holds, and nothing else."""
    names = {p.name for p in run_dir.iterdir()}
    assert names == RUN_FILES, sorted(names ^ RUN_FILES)
    info = read(run_dir / "run.json")
    assert (info["status"], info["epochs_done"], info["epochs"]) == ("finished", epochs, epochs)
    assert read(run_dir / "history.json")["epoch"] == list(range(1, epochs + 1))
    assert len(info["epoch_seconds"]) == epochs
    assert (run_dir / "history.csv").read_text().count("\n") == epochs + 1


def killed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-2000:])


def resume(run_dir: Path, cwd: Path, *extra: str) -> str:
    result = kspec("run", "--resume", str(run_dir), "-q", *extra, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


# -- the reproducers ---------------------------------------------------------------
def test_killed_while_building_resumes_with_every_file(tmp_path: Path) -> None:
    spec, run_dir = tiny(tmp_path), tmp_path / "run"
    fault = "import kspec.keras.build as b\nb.build_checked = lambda *a, **k: die()\n"
    killed(kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path, fault=fault))
    err = resume(run_dir, tmp_path)
    assert f"resuming {run_dir} at epoch 1 of 2" in err
    assert_complete(run_dir, 2)


def test_killed_before_the_summary_was_written(tmp_path: Path) -> None:
    spec, run_dir = tiny(tmp_path), tmp_path / "run"
    fault = "import kspec.report.summary as s\ns.render_summary = lambda *a, **k: die()\n"
    killed(kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path, fault=fault))
    assert not (run_dir / "summary.txt").exists()
    resume(run_dir, tmp_path)
    assert_complete(run_dir, 2)


SAVE_MODEL_DIES = """
def atomic_save(path, save, suffix=""):
    if Path(path).name == "model.keras":  # half a temporary file, then the kill
        (Path(path).parent / ".model.keras.x1y2.tmp.keras").write_bytes(b"PK\\x03\\x04" * 8)
        die()
    return original(path, save, suffix)
original, rundir.atomic_save = rundir.atomic_save, atomic_save
"""


def test_killed_during_the_final_save(tmp_path: Path) -> None:
    spec, run_dir = tiny(tmp_path), tmp_path / "run"
    killed(kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path, fault=SAVE_MODEL_DIES))
    err = resume(run_dir, tmp_path)
    assert "finishing" in err and "all 2 epochs are trained" in err and "of 3" not in err
    assert "removed .model.keras.x1y2.tmp.keras" in err
    assert_complete(run_dir, 2)


CHECKPOINT_WRITE_DIES = """
def atomic_save(path, save, suffix=""):
    if Path(path).name.startswith("checkpoint-"):  # Keras's h5 writer cut short at 96 bytes
        tmp = Path(path).parent / ("." + Path(path).name + ".k3j4.tmp.weights.h5")
        save(tmp)
        with open(tmp, "r+b") as f:
            f.truncate(96)
        die()
    return original(path, save, suffix)
original, rundir.atomic_save = rundir.atomic_save, atomic_save
"""
CHECKPOINT_RECORD_DIES = """
def write_json(path, value):
    if Path(path).name.startswith("checkpoint-") and value.get("epoch") == EPOCH:
        die()
    return original(path, value)
original, rundir.write_json = rundir.write_json, write_json
"""


@pytest.mark.parametrize("where", ["weights", "record-first", "record-second"])
def test_killed_while_writing_a_checkpoint(tmp_path: Path, where: str) -> None:
    spec, run_dir = tiny(tmp_path, extra="    steps_per_execution = 1\n"), tmp_path / "run"
    fault = (
        CHECKPOINT_WRITE_DIES
        if where == "weights"
        else CHECKPOINT_RECORD_DIES.replace("EPOCH", "1" if where == "record-first" else "2")
    )
    killed(
        kspec(
            "run", str(spec), "-q", "-o", str(run_dir), "--epochs", "3", cwd=tmp_path, fault=fault
        )
    )
    err = resume(run_dir, tmp_path)
    start = 2 if where == "record-second" else 1  # the last complete checkpoint is kept
    assert f"at epoch {start} of 3" in err
    assert_complete(run_dir, 3)


def _killed_after_second_checkpoint(tmp_path: Path) -> Path:
    """A 3-epoch run killed right after epoch 2's checkpoint was saved: its folder."""
    spec, run_dir = tiny(tmp_path, extra="    steps_per_execution = 1\n"), tmp_path / "run"
    dies = "original = checkpoint.save\n" + (
        "def save(run_dir, model, epoch):\n    original(run_dir, model, epoch)\n"
        "    if epoch == 2:\n        die()\ncheckpoint.save = save\n"
    )
    killed(
        kspec("run", str(spec), "-q", "-o", str(run_dir), "--epochs", "3", cwd=tmp_path, fault=dies)
    )
    return run_dir


def test_a_truncated_checkpoint_is_skipped_for_the_last_good_epoch(tmp_path: Path) -> None:
    run_dir = _killed_after_second_checkpoint(tmp_path)
    (weights,) = (run_dir / "backup").glob("*.weights.h5")
    with open(weights, "r+b") as f:  # what a full disk leaves
        f.truncate(96)
    err = resume(run_dir, tmp_path)
    assert "skipping a checkpoint" in err and "truncated" in err and "epoch 1 of 3" in err
    assert_complete(run_dir, 3)


def test_a_removed_backup_folder_restarts_from_epoch_one(tmp_path: Path) -> None:
    run_dir = _killed_after_second_checkpoint(tmp_path)
    shutil.rmtree(run_dir / "backup")
    err = resume(run_dir, tmp_path)
    assert "backup is missing" in err and "epoch 1 of 3" in err
    assert_complete(run_dir, 3)


def test_a_garbled_history_stops_the_resume_unless_forced(tmp_path: Path) -> None:
    run_dir = _killed_after_second_checkpoint(tmp_path)
    (run_dir / "history.json").write_text('{"epoch": [1, 2], "loss": "garbage"}')
    refused = kspec("run", "--resume", str(run_dir), "-q", cwd=tmp_path)
    assert refused.returncode == 1 and "history.json: `loss` is not a list" in refused.stderr
    assert "--force` continues from epoch 3" in refused.stderr
    err = resume(run_dir, tmp_path, "--force")
    assert "its epochs are dropped" in err and "at epoch 3 of 3" in err
    assert_complete(run_dir, 3)


def test_killed_after_finishing_but_before_the_backup_went(tmp_path: Path) -> None:
    spec, run_dir = tiny(tmp_path), tmp_path / "run"
    fault = (
        "import shutil\noriginal = shutil.rmtree\n"
        "shutil.rmtree = lambda p, *a, **k: die() if Path(p).name == 'backup' else "
        "original(p, *a, **k)\n"
    )
    killed(kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path, fault=fault))
    assert read(run_dir / "run.json")["status"] == "finished" and (run_dir / "backup").exists()
    resume(run_dir, tmp_path)
    assert_complete(run_dir, 2)


PHASES = """
    phase finetune {
        optimizer = RMSprop(learning_rate=1e-3)
        epochs = 2
    }
"""
PHASE_LOGGED_DIES = """
original = train._update_info
def update(run_dir, **fields):
    original(run_dir, **fields)
    if len(fields.get("phases", [])) == 2 and fields.get("status") is None:
        die()
train._update_info = update
"""
PHASE_CHECKPOINT_DIES = """
original, saves = checkpoint.save, []
def save(run_dir, model, epoch):
    original(run_dir, model, epoch)
    saves.append(epoch)
    if saves == [1, 2, 2]:  # the checkpoint after the recompile at the boundary
        die()
checkpoint.save = save
"""


@pytest.mark.parametrize("fault", [PHASE_LOGGED_DIES, PHASE_CHECKPOINT_DIES])
def test_killed_at_a_phase_boundary_resumes_into_the_phase(tmp_path: Path, fault: str) -> None:
    spec = tiny(tmp_path, extra="    steps_per_execution = 1\n")
    spec.write_text(spec.read_text().rstrip().removesuffix("}") + PHASES + "}\n")
    run_dir = tmp_path / "run"
    killed(kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path, fault=fault))
    err = resume(run_dir, tmp_path)
    assert "at epoch 3 of 4" in err and "phase finetune: epochs 3 to 4" in err
    assert_complete(run_dir, 4)
    assert read(run_dir / "run.json")["phases"] == [
        {"phase": "main", "first_epoch": 1, "epochs": 2},
        {"phase": "finetune", "first_epoch": 3, "epochs": 2},
    ]


def test_a_finished_run_extends_to_more_epochs(tmp_path: Path) -> None:
    spec, run_dir = tiny(tmp_path), tmp_path / "run"
    assert kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path).returncode == 0
    before = read(run_dir / "history.json")
    err = resume(run_dir, tmp_path, "--epochs", "4")
    assert "at epoch 3 of 4" in err
    assert_complete(run_dir, 4)
    assert read(run_dir / "history.json")["loss"][:2] == before["loss"]
    refused = kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path)
    assert refused.returncode == 2 and "holds a finished run" in refused.stderr
    forced = kspec("run", str(spec), "-q", "-o", str(run_dir), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert_complete(run_dir, 2)


def test_run_json_records_where_it_ran(tmp_path: Path) -> None:
    spec, run_dir = tiny(tmp_path), tmp_path / "run"
    assert kspec("run", str(spec), "-q", "-o", str(run_dir), "--set", "train.epochs=1",
                 cwd=tmp_path).returncode == 0  # fmt: skip
    info = read(run_dir / "run.json")
    import keras
    import tensorflow as tf

    assert info["versions"]["keras"] == keras.__version__
    assert info["versions"]["tensorflow"] == tf.__version__
    assert info["versions"]["numpy"] == np.__version__
    assert info["seed"] == 3 and info["devices"] and info["platform"]
    assert len(info["epoch_seconds"]) == len(info["epoch_cpu_seconds"]) == 1
    assert "    epochs = 1\n" in info["resolved_spec"]
    assert (run_dir / "resolved.kspec").read_text() == info["resolved_spec"]


# -- failures during training --------------------------------------------------------------
def npz_spec(tmp_path: Path, x: np.ndarray, y: np.ndarray, loss: str, units: int = 4) -> Path:
    np.savez(tmp_path / "d.npz", x=x, y=y)
    spec = tmp_path / "n.kspec"
    spec.write_text(
        f"model n {{\n    input x: ({x.shape[1]},)\n    Dense({units})\n}}\n\n"
        'data {\n    source = npz("d.npz")\n}\n\n'
        f"train {{\n    optimizer = SGD(learning_rate=1.0)\n    loss = {loss}\n"
        "    epochs = 2\n    batch_size = 8\n    steps_per_execution = 1\n}\n"
    )
    return spec


def test_a_nan_loss_stops_the_run_and_marks_it_failed(tmp_path: Path) -> None:
    x = np.full((64, 3), 1e18, np.float32)
    spec = npz_spec(tmp_path, x, np.ones((64, 4), np.float32), "mean_squared_error")
    run_dir = tmp_path / "run"
    result = kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path)
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert "n.kspec:" in result.stderr and "in epoch 1, batch " in result.stderr
    info = read(run_dir / "run.json")
    assert info["status"] == "failed" and "in epoch 1, batch" in info["message"]
    assert not (run_dir / "model.keras").exists()


def test_a_keras_fit_error_names_the_loss_line_and_fails_the_run(tmp_path: Path) -> None:
    x = np.ones((32, 3), np.float32)
    spec = npz_spec(tmp_path, x, np.ones((32, 3), np.float32), "categorical_crossentropy")
    run_dir = tmp_path / "run"
    result = kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "n.kspec:12:" in result.stderr and "Keras failed while training" in result.stderr
    assert "bug in kspec" not in result.stderr
    info = read(run_dir / "run.json")
    assert info["status"] == "failed" and "ValueError" in info["message"]


def chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png(size: int = 8, idat: bytes | None = None) -> bytes:
    rows = b"".join(b"\x00" + bytes(range(size)) for _ in range(size))
    head = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(rows) if idat is None else idat)
        + (chunk(b"IEND", b""))
    )


def jpeg(bogus_huffman: bool = False) -> bytes:
    """A baseline 8x8 grey JPEG, made without an encoder; with `bogus_huffman`, its DC table
    claims more codes than any table holds (a decoder refuses it; the markers stay whole)."""
    counts = bytes([0, 1] + [0] * 14) if not bogus_huffman else bytes([255] * 16)
    dht = b"\xff\xc4" + struct.pack(">H", 2 + 1 + 16 + 1) + b"\x00" + counts + b"\x00"
    ac = (
        b"\xff\xc4"
        + struct.pack(">H", 2 + 1 + 16 + 1)
        + b"\x10"
        + bytes([0, 1] + [0] * 14)
        + b"\x00"
    )
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes([1] * 64)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x3f\x00"
    # DC difference 0 (code "00"), then end of block (AC code "00"), padded with ones
    return b"\xff\xd8" + dqt + sof + dht + ac + sos + b"\x0f" + b"\xff\xd9"


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("2.png", png()[:40], "truncated PNG"),
        # header, IHDR and every CRC right: only the compressed pixels are wrong
        ("2.png", png(idat=b"\x78\x9c" + b"\xff" * 20), "cannot be decoded (Invalid PNG data"),
        ("2.jpg", jpeg(bogus_huffman=True), "cannot be decoded (jpeg::Uncompress failed"),
    ],
    ids=["truncated png", "corrupt png stream", "bogus jpeg table"],
)
def test_a_broken_image_in_an_images_folder_is_named(
    tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    for label in ("a", "b"):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(4):
            (tmp_path / "imgs" / label / f"{i}.png").write_bytes(png())
        (tmp_path / "imgs" / label / "9.jpg").write_bytes(jpeg())
    (tmp_path / "imgs" / "b" / "2.png").unlink()
    (tmp_path / "imgs" / "b" / name).write_bytes(data)
    spec = tmp_path / "i.kspec"
    spec.write_text(
        "model i {\n    input x: (8, 8, 1)\n    Flatten()\n    Dense(2, activation=softmax)\n}\n"
        'data {\n    source = images("imgs", size=(8, 8), color_mode="grayscale")\n}\n'
        "train {\n    loss = sparse_categorical_crossentropy\n    epochs = 1\n}\n"
    )
    result = kspec("run", str(spec), "-q", "-o", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 1 and "internal error" not in result.stderr
    assert f"{tmp_path / 'imgs' / 'b' / name}: {problem}" in result.stderr, result.stderr[-2000:]
    assert "i.kspec:7:14: error: images():" in result.stderr  # at the data source
    assert not (tmp_path / "run").exists()  # refused before a run folder is made


def test_an_image_that_breaks_during_training_is_named_and_the_run_marked_failed(
    tmp_path: Path,
) -> None:
    """A file that fails inside tf.data (here: the check before training is switched off, as
    if the file changed after it) is still named, from a decode of the folder after the error."""
    for label in ("a", "b"):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(4):
            (tmp_path / "imgs" / label / f"{i}.png").write_bytes(png())
    bad = tmp_path / "imgs" / "a" / "1.png"
    bad.write_bytes(png(idat=b"\x78\x9c" + b"\xff" * 20))
    spec = tmp_path / "i.kspec"
    spec.write_text(
        "model i {\n    input x: (8, 8, 1)\n    Flatten()\n    Dense(2, activation=softmax)\n}\n"
        'data {\n    source = images("imgs", size=(8, 8), color_mode="grayscale")\n}\n'
        "train {\n    loss = sparse_categorical_crossentropy\n    epochs = 1\n}\n"
    )
    skip_check = "from kspec.run import validate\nvalidate.check_image_folder = lambda *a: None\n"
    run_dir = tmp_path / "run"
    result = kspec("run", str(spec), "-q", "-o", str(run_dir), cwd=tmp_path, fault=skip_check)
    assert result.returncode == 1 and "internal error" not in result.stderr, result.stderr[-2000:]
    assert f"{bad}: cannot be decoded (Invalid PNG data" in result.stderr, result.stderr[-2000:]
    info = read(run_dir / "run.json")
    assert info["status"] == "failed" and str(bad) in info["message"]


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.array([["1", "x", "2"]] * 8), np.zeros(8, np.int64), "not numbers"),
        (np.ones((8, 3), np.float32), np.array([0, 1, 2, 3, 4, 0, 1, 2]), "labels run up to 4"),
        (np.ones((8, 3), np.float32), np.array([0, 1, np.nan, 3, 0, 0, 1, 2]), "NaN"),
        (np.ones((8, 3), np.float32), np.zeros(7, np.int64), "npz(): arrays in d.npz"),
    ],
)
def test_broken_npz_data_is_refused_before_training(
    tmp_path: Path, x: np.ndarray, y: np.ndarray, message: str
) -> None:
    spec = npz_spec(tmp_path, x, y, "sparse_categorical_crossentropy")
    result = kspec("run", str(spec), "-q", "-o", str(tmp_path / "run"), cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr, result.stderr[-2000:]
    assert "internal error" not in result.stderr and not (tmp_path / "run").exists()


# -- kill at a random moment ---------------------------------------------------------------
def trials() -> int:
    return int(os.environ.get("KSPEC_KILL_TRIALS", "2"))


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + MAIN, *args],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_after(process: subprocess.Popen[str], delay: float) -> bool:
    """SIGKILL `process` after `delay` seconds; False if it had ended by then."""
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return True
    return False  # the caller reads its output


@pytest.mark.timeout(120 + 150 * trials())  # KSPEC_KILL_TRIALS=N runs past the default limit
def test_killed_at_a_random_moment_resumes_to_a_complete_folder(tmp_path: Path) -> None:
    seed = int(os.environ.get("KSPEC_KILL_SEED", str(random.SystemRandom().randrange(10**6))))
    rng = random.Random(seed)
    spec = tiny(tmp_path, samples=2048, extra="    steps_per_execution = 1\n")
    timed = time.monotonic()
    full = kspec(
        "run", str(spec), "-q", "-o", str(tmp_path / "timing"), "--epochs", "3", cwd=tmp_path
    )
    assert full.returncode == 0, full.stderr
    length = time.monotonic() - timed  # how long a whole run takes here: kills land inside it
    outcomes = []
    for trial in range(trials()):
        run_dir = tmp_path / f"run-{trial}"
        delay = rng.uniform(0.2, length)
        run = start("run", str(spec), "-q", "-o", str(run_dir), "--epochs", "3", cwd=tmp_path)
        hit = kill_after(run, delay)
        if not hit:
            first = run.communicate()
            assert run.returncode == 0, first
        kills = [round(delay, 2)] if hit else []
        for _ in range(5):  # resumes, the odd ones killed again at a random moment
            if (
                (run_dir / "run.json").exists()
                and read(run_dir / "run.json").get("status") == "finished"
                and not (run_dir / "backup").exists()
            ):
                break
            if not (run_dir / "run.json").exists():  # killed before the folder was a run
                args = ["run", str(spec), "-q", "-o", str(run_dir), "--epochs", "3"]
            else:
                args = ["run", "--resume", str(run_dir), "-q"]
            process = start(*args, cwd=tmp_path)
            if len(kills) % 2 == 1 and rng.random() < 0.5:
                again = rng.uniform(0.2, length)
                if kill_after(process, again):
                    kills.append(round(again, 2))
                    continue
            _, err = process.communicate(timeout=600)
            assert process.returncode == 0, (seed, kills, err[-2000:])
        assert_complete(run_dir, 3)
        outcomes.append(kills)
    print(f"kill trials (seed {seed}): {outcomes}")
