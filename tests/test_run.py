"""`kspec run`, `--resume`, Ctrl-C, evaluate, predict and Spec.fit(): real training, kept short."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import EXAMPLES, SHARED_MNIST

import kspec
from kspec.cli import main

pytestmark = [pytest.mark.keras, pytest.mark.slow]

TINY = """model tiny {
    input x: (16,)
    Dense(32, activation=relu)
    Dense(4, activation=softmax)
}

data {
    source = synthetic(samples=SAMPLES)
    validation_split = 0.25
}

train {
    optimizer = Adam(learning_rate=1e-2)
    loss = sparse_categorical_crossentropy
    metrics = [accuracy]
    batch_size = 32
    epochs = 2
    seed = 3
}
"""
RUN_FILES = {
    "model.keras",
    "history.json",
    "history.csv",
    "metrics.json",
    "summary.txt",
    "resolved.kspec",
    "curves.png",
    "run.json",
}


def tiny(tmp_path: Path, samples: int = 256, extra: str = "") -> Path:
    path = tmp_path / "tiny.kspec"
    path.write_text(
        TINY.replace("SAMPLES", str(samples)).replace("    seed = 3\n", f"    seed = 3\n{extra}")
    )
    return path


def kspec_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    code = "import sys; from kspec.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


def weights(path: Path) -> list[np.ndarray]:
    import keras

    return [np.asarray(w) for w in keras.models.load_model(path).get_weights()]


def read(path: Path) -> Any:
    return json.loads(path.read_text())


# -- accuracy ------------------------------------------------------------------------------
def test_digits_quick_start_reaches_95_percent(tmp_path: Path) -> None:
    result = kspec.load(EXAMPLES / "digits.kspec").fit(output=tmp_path / "run", quiet=True)
    assert result.metrics["data"] == "validation"
    assert result.metrics["accuracy"] >= 0.95, result.history["val_accuracy"]
    assert result.history["val_accuracy"][-1] == pytest.approx(result.metrics["accuracy"])


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"no shared MNIST at {SHARED_MNIST}")
def test_mnist_convnet_on_real_idx_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """8,000 training / 2,000 validation images of the real MNIST test set, via idx()."""
    code = main(
        [
            "run",
            str(EXAMPLES / "mnist.kspec"),
            "-v",
            "0",
            "--epochs",
            "3",
            "-o",
            str(tmp_path),
            "--set",
            f'data.source=idx("{SHARED_MNIST}")',
            "--set",
            "data.validation_split=0.2",
        ]
    )
    assert code == 0, capsys.readouterr().err
    metrics = read(tmp_path / "metrics.json")
    assert metrics["accuracy"] >= 0.95, metrics
    assert len(read(tmp_path / "history.json")["epoch"]) == 3


# -- the run folder ------------------------------------------------------------------------
def test_run_folder_evaluate_and_predict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tiny(tmp_path)
    run_dir = tmp_path / "run"
    assert main(["run", str(spec), "-v", "0", "-o", str(run_dir), "--set", "train.epochs=3"]) == 0
    out = capsys.readouterr().out
    assert f"run folder: {run_dir}" in out and out.startswith("done: 3 epochs; validation ")
    assert {p.name for p in run_dir.iterdir()} == RUN_FILES  # the backup is gone once complete
    history, metrics = read(run_dir / "history.json"), read(run_dir / "metrics.json")
    assert history["epoch"] == [1, 2, 3] and set(history) >= {"loss", "val_loss", "val_accuracy"}
    assert metrics["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-5)
    assert "epochs = 3" in (run_dir / "resolved.kspec").read_text()
    assert (run_dir / "summary.txt").read_text() == kspec.load(spec).summary_text() + "\n"
    assert (run_dir / "curves.png").read_bytes().startswith(b"\x89PNG")
    info = read(run_dir / "run.json")
    assert (info["status"], info["epochs_done"]) == ("finished", 3)

    assert main(["evaluate", str(run_dir), "--format", "json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert (evaluated["data"], evaluated["examples"]) == ("validation", 64)
    assert evaluated["loss"] == pytest.approx(metrics["loss"], rel=1e-5)

    x = np.random.default_rng(0).standard_normal((5, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert (
        main(
            [
                "predict",
                str(run_dir / "model.keras"),
                str(tmp_path / "x.npy"),
                "-o",
                str(tmp_path / "p.npy"),
            ]
        )
        == 0
    )
    import keras

    expected = keras.models.load_model(run_dir / "model.keras").predict(x, verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), expected, rtol=1e-6)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files


def test_same_seed_same_history(tmp_path: Path) -> None:
    spec = kspec.load(tiny(tmp_path))
    first = spec.fit(output=tmp_path / "a", quiet=True).history
    second = spec.fit(output=tmp_path / "b", quiet=True).history
    other = spec.with_overrides({"train.seed": 4}).fit(output=tmp_path / "c", quiet=True).history
    assert first == second
    assert first["loss"] != other["loss"]


def test_mixed_precision_is_a_note_on_cpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU: mixed precision applies")
    spec = tiny(tmp_path, extra="    mixed_precision = true\n")
    assert main(["run", str(spec), "-v", "0", "--epochs", "1", "-o", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    assert "note: mixed_precision = true is ignored: mixed_float16 needs a GPU" in err


# -- interruptions -------------------------------------------------------------------------
def wait_for(condition: Any, process: subprocess.Popen[str], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(
                f"kspec ended early ({process.returncode}): {process.communicate()}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out waiting for the run")
        time.sleep(0.02)


def backup_epoch(run_dir: Path) -> int:
    from kspec.run.train import backup_epoch as newest

    return newest(run_dir)


def test_killed_run_resumes_from_its_last_epoch(tmp_path: Path) -> None:
    spec = tiny(tmp_path, samples=8192, extra="    steps_per_execution = 1\n")
    run_dir = tmp_path / "run"
    process = kspec_process(
        "run", str(spec), "-v", "0", "--epochs", "4", "-o", str(run_dir), cwd=tmp_path
    )
    wait_for(lambda: backup_epoch(run_dir) >= 2, process)
    process.send_signal(signal.SIGSTOP)  # freeze it at once, then kill it the hard way
    process.send_signal(signal.SIGKILL)
    process.communicate()
    done = backup_epoch(run_dir)
    assert 2 <= done < 4 and not (run_dir / "model.keras").exists()
    before = read(run_dir / "history.json")

    resumed = kspec_process("run", "--resume", str(run_dir), "-v", "0", cwd=tmp_path)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"note: resuming {run_dir} at epoch {done + 1} of 4" in err
    history = read(run_dir / "history.json")
    assert history["epoch"] == [1, 2, 3, 4]
    assert history["loss"][:done] == before["loss"][:done]  # the epochs before the kill are kept
    assert read(run_dir / "run.json")["status"] == "finished"
    assert len(weights(run_dir / "model.keras")) == 4


def test_ctrl_c_stops_after_the_batch_and_keeps_the_model(tmp_path: Path) -> None:
    spec = tiny(tmp_path, samples=8192, extra="    steps_per_execution = 1\n")
    run_dir = tmp_path / "run"
    process = kspec_process(
        "run", str(spec), "-v", "0", "--epochs", "6", "-o", str(run_dir), cwd=tmp_path
    )
    wait_for(lambda: (run_dir / "history.json").exists(), process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert out.startswith("interrupted: ") and f"kspec run --resume {run_dir}" in err
    info = read(run_dir / "run.json")
    assert info["status"] == "interrupted" and info["epochs_done"] < 6
    assert len(read(run_dir / "history.json")["epoch"]) == info["epochs_done"]
    assert len(weights(run_dir / "model.keras")) == 4
    assert main(["run", "--resume", str(run_dir), "-v", "0"]) == 0
    assert read(run_dir / "history.json")["epoch"] == [1, 2, 3, 4, 5, 6]


# -- distribution --------------------------------------------------------------------------
def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_multi_worker_training_ends_with_the_same_weights(tmp_path: Path) -> None:
    spec = tiny(tmp_path, samples=512, extra="    distribute = multi_worker\n")
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(
            kspec_process(
                "run",
                str(spec),
                "-v",
                "0",
                "--epochs",
                "1",
                "-o",
                f"w{index}",
                cwd=tmp_path,
                env={"TF_CONFIG": json.dumps(config)},
            )
        )
    results = [p.communicate(timeout=300) for p in processes]
    for p, (_, err) in zip(processes, results, strict=True):
        assert p.returncode == 0, err
    first, second = (
        weights(tmp_path / "w0" / "model.keras"),
        weights(tmp_path / "w1" / "model.keras"),
    )
    assert len(first) == 4
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    # Both saw the same (synthetic, seeded) data, so both report the same final evaluation.
    assert read(tmp_path / "w0" / "metrics.json") == read(tmp_path / "w1" / "metrics.json")


def test_multi_worker_without_tf_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_CONFIG", raising=False)
    spec = tiny(tmp_path, extra="    distribute = multi_worker\n")
    assert main(["run", str(spec), "-v", "0", "-o", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert (
        "error: distribute = multi_worker reads the cluster from TF_CONFIG, which is not set" in err
    )


# -- sources read from folders ---------------------------------------------------------------
IMAGES = """model m {
    input image: (8, 8, 3)
    Conv2D(4, 3, activation=relu)
    GlobalAveragePooling2D()
    Dense(2, activation=softmax)
}
data {
    source = images("pics", size=(8, 8))
    scale = 1 / 255
    validation_split = 0.25
    cache = true
    augment = [RandomFlip(horizontal)]
}
train {
    loss = sparse_categorical_crossentropy
    metrics = [accuracy]
    batch_size = 4
    epochs = 2
    seed = 1
}
"""
TEXT = """model m {
    input tokens: (12,) as int32
    Embedding(40, 8)
    GlobalAveragePooling1D()
    Dense(1, activation=sigmoid)
}
data {
    source = text("texts", max_tokens=40, sequence_length=12)
    validation_split = 0.25
}
train {
    loss = binary_crossentropy
    metrics = [accuracy]
    batch_size = 4
    epochs = 2
    seed = 1
}
"""


def test_image_and_text_folders_train_and_evaluate_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for label, words in (("neg", "bad awful poor"), ("pos", "good great fine")):
        (tmp_path / "pics" / label).mkdir(parents=True)
        (tmp_path / "texts" / label).mkdir(parents=True)
        for i in range(8):
            pixels = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
            (tmp_path / "pics" / label / f"{i}.png").write_bytes(tf.io.encode_png(pixels).numpy())
            (tmp_path / "texts" / label / f"{i}.txt").write_text(f"{words} " * (i + 1))
    for name, text in (("images", IMAGES), ("text", TEXT)):
        spec = tmp_path / f"{name}.kspec"
        spec.write_text(text)
        run_dir = tmp_path / f"run-{name}"
        assert main(["run", str(spec), "-v", "0", "-o", str(run_dir)]) == 0, capsys.readouterr().err
        capsys.readouterr()
        assert main(["evaluate", str(run_dir), "--format", "json"]) == 0
        evaluated = json.loads(capsys.readouterr().out)
        metrics = read(run_dir / "metrics.json")
        assert evaluated["examples"] == 4  # the same 25% split as in training
        assert evaluated["loss"] == pytest.approx(metrics["loss"], rel=1e-5)


def test_mirrored_strategy_trains_on_the_local_devices(tmp_path: Path) -> None:
    spec = kspec.load(tiny(tmp_path, extra="    distribute = mirrored\n"))
    result = spec.fit(output=tmp_path / "run", quiet=True, epochs=1)
    assert result.epochs == 1 and len(result.model.get_weights()) == 4


def test_evaluate_a_bare_model_on_a_spec_or_a_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tiny(tmp_path)
    assert main(["run", str(spec), "-v", "0", "-o", str(tmp_path / "run")]) == 0
    metrics = read(tmp_path / "run" / "metrics.json")
    capsys.readouterr()
    model = str(tmp_path / "run" / "model.keras")
    assert main(["evaluate", model, "--data", str(spec), "--format", "json"]) == 0
    on_spec = json.loads(capsys.readouterr().out)
    assert (on_spec["data"], on_spec["examples"]) == ("validation", 64)
    assert on_spec["loss"] == pytest.approx(metrics["loss"], rel=1e-5)
    assert main(["evaluate", model, "--data", "synthetic(samples=256)", "--format", "json"]) == 0
    on_source = json.loads(capsys.readouterr().out)
    assert (on_source["data"], on_source["examples"]) == ("all", 256)
    assert main(["evaluate", model]) == 1
    assert "error: a bare model file needs --data" in capsys.readouterr().err
