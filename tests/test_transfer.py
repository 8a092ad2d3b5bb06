"""Transfer learning end to end: starting weights from a file, a frozen base, a fine-tuning
phase, one history across phases, and --resume across the phase boundary after a kill."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest
from test_run import backup_epoch, kspec_process, read, wait_for

import kspec
from kspec.cli import main

pytestmark = [pytest.mark.keras, pytest.mark.slow]

RECIPE = """model encoder {
    input x: (16,)
    Dense(12, activation=relu)
    BatchNormalization()
    Dense(8, activation=relu)
}

model classifier {
    input features: (16,)
    layer base = encoder(trainable=false)
    base(training=false)
    Dense(4, activation=softmax)
}

data {
    source = synthetic(samples=SAMPLES)
    validation_split = 0.25
}

train {
    model = classifier
    optimizer = Adam(learning_rate=1e-2)
    loss = sparse_categorical_crossentropy
    metrics = [accuracy]
    batch_size = 32
    epochs = 2
    seed = 3
    steps_per_execution = 1
    initial_weights = "start.keras"

    phase finetune {
        unfreeze = base.layers[-1:]
        optimizer = RMSprop(learning_rate=1e-3)
        epochs = 2
    }
}
"""


def write_recipe(tmp_path: Path, samples: int = 256) -> Path:
    """The spec, and the weights file it starts from: the same model, built and saved here."""
    import keras

    path = tmp_path / "transfer.kspec"
    path.write_text(RECIPE.replace("SAMPLES", str(samples)))
    keras.utils.set_random_seed(7)
    kspec.load(path).build().save(tmp_path / "start.keras")
    return path


def weights_by_layer(model_file: Path) -> dict[str, list[np.ndarray]]:
    import keras

    model = keras.models.load_model(model_file)
    base = model.get_layer("encoder")
    out = {f"encoder/{layer.name}": layer.get_weights() for layer in base.layers}
    out["head"] = model.layers[-1].get_weights()
    return out


def same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_two_phases_keep_frozen_weights_and_train_the_rest(tmp_path: Path) -> None:
    path = write_recipe(tmp_path)
    run_dir = tmp_path / "run"
    assert main(["run", str(path), "-q", "-o", str(run_dir)]) == 0
    start = weights_by_layer(tmp_path / "start.keras")
    end = weights_by_layer(run_dir / "model.keras")
    # frozen in both phases: the first Dense and BatchNormalization (its moving statistics too,
    # as training=false runs it in inference mode) keep the file's weights
    assert same(end["encoder/dense"], start["encoder/dense"])
    assert same(end["encoder/batch_normalization"], start["encoder/batch_normalization"])
    # unfrozen in the fine-tuning phase, and the head trained throughout: changed
    assert not same(end["encoder/dense_1"], start["encoder/dense_1"])
    assert not same(end["head"], start["head"])
    info = read(run_dir / "run.json")
    assert info["phases"] == [
        {"phase": "main", "first_epoch": 1, "epochs": 2},
        {"phase": "finetune", "first_epoch": 3, "epochs": 2},
    ]
    assert read(run_dir / "history.json")["epoch"] == [1, 2, 3, 4]


def test_static_split_per_phase_equals_keras(tmp_path: Path) -> None:
    from test_build import weight_counts

    from kspec.check.phases import phase_flags, split
    from kspec.keras.freeze import apply_flags

    spec = kspec.load(write_recipe(tmp_path))
    graph = spec.graph()
    model = spec.build()
    for flags in phase_flags(graph, spec.checked.phases):
        apply_flags(model, flags)
        assert weight_counts(model) == split(graph, flags)


def test_unmatched_initial_weights_are_listed(tmp_path: Path) -> None:
    import keras

    path = write_recipe(tmp_path)
    inputs = keras.Input((16,))
    keras.Model(inputs, keras.layers.Dense(4, name="other")(inputs)).save(tmp_path / "start.keras")
    with pytest.raises(kspec.KspecError) as err:
        kspec.load(path).fit(output=tmp_path / "run", quiet=True)
    d = err.value.diagnostics[0]
    assert d.code == "weights-mismatch"
    assert d.message == (
        "initial_weights: start.keras has no weights of the right shape for 4 layers: "
        "encoder/dense, encoder/batch_normalization, encoder/dense_1, dense"
    )


def test_killed_in_the_second_phase_resumes_inside_it(tmp_path: Path) -> None:
    path = write_recipe(tmp_path, samples=8192)
    run_dir = tmp_path / "run"
    process = kspec_process("run", str(path), "-q", "-o", str(run_dir), cwd=tmp_path)
    wait_for(lambda: backup_epoch(run_dir) >= 3, process)  # one epoch into the fine-tuning
    process.send_signal(signal.SIGSTOP)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    done = backup_epoch(run_dir)
    assert 3 <= done < 4 and not (run_dir / "model.keras").exists()
    before = read(run_dir / "history.json")
    resumed = kspec_process("run", "--resume", str(run_dir), "-q", cwd=tmp_path)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert f"resuming {run_dir} at epoch {done + 1} of 4" in err
    history = read(run_dir / "history.json")
    assert history["epoch"] == [1, 2, 3, 4]
    assert history["loss"][:done] == before["loss"][:done]
    info = read(run_dir / "run.json")
    assert info["status"] == "finished" and len(info["phases"]) == 2
    start = weights_by_layer(tmp_path / "start.keras")
    end = weights_by_layer(run_dir / "model.keras")
    assert same(end["encoder/dense"], start["encoder/dense"])  # still frozen after the resume
    assert not same(end["encoder/dense_1"], start["encoder/dense_1"])
