"""A learning-rate schedule that ends before training does is a warning at the schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from kspec.check.spec import check_text
from kspec.cli import main

SPEC = """model m {
    input x: (8, 8)
    Flatten()
    Dense(10, activation=softmax)
}

data {
    source = SOURCE
}

train {
    optimizer = Adam(learning_rate=SCHEDULE)
    loss = sparse_categorical_crossentropy
    batch_size = 32
    epochs = EPOCHS
PHASE}
"""


def warnings(
    schedule: str, epochs: int, source: str = "synthetic(samples=320)", phase: str = ""
) -> list[str]:
    text = (
        SPEC.replace("SCHEDULE", schedule)
        .replace("EPOCHS", str(epochs))
        .replace("SOURCE", source)
        .replace("PHASE", phase)
    )
    _, diags = check_text(text, "s.kspec", raise_errors=False)
    assert not diags.errors, diags.errors
    return [
        f"{d.span.line}: {d.message}" for d in diags.warnings if d.code == "schedule-ends-early"
    ]


def test_cosine_decay_that_ends_at_epoch_20_of_200() -> None:
    # 320 examples at batch size 32: 10 steps an epoch; 200 steps end in epoch 20
    got = warnings("CosineDecay(1e-3, decay_steps=200)", 200)
    assert got == [
        "12: the learning-rate schedule ends after 200 steps, in epoch 20 of 200; "
        "the remaining epochs train at its final rate"
    ]


@pytest.mark.parametrize(
    "schedule",
    [
        "CosineDecay(1e-3, decay_steps=2000)",
        "CosineDecay(1e-3, decay_steps=1000, warmup_steps=1000)",
        "PolynomialDecay(1e-3, 100, cycle=true)",
        "ExponentialDecay(1e-3, decay_steps=10, decay_rate=0.9)",
        "1e-3",
    ],
)
def test_schedules_that_last_or_never_end(schedule: str) -> None:
    assert warnings(schedule, 200) == []


def test_warmup_counts_and_positional_decay_steps() -> None:
    assert warnings("CosineDecay(1e-3, 900, warmup_steps=100)", 200)  # 1000 < 2000
    assert warnings("PolynomialDecay(1e-3, 100)", 11)
    assert not warnings("PolynomialDecay(1e-3, 110)", 11)


def test_keras_datasets_count_their_training_examples() -> None:
    # digits: 1797 examples at batch size 32 are 57 steps an epoch
    assert warnings("CosineDecay(1e-3, decay_steps=570)", 11, "digits")
    assert not warnings("CosineDecay(1e-3, decay_steps=570)", 10, "digits")
    assert not warnings("CosineDecay(1e-3, decay_steps=1)", 10, 'idx("data")')  # unknown size


def test_a_phase_with_its_own_epochs() -> None:
    phase = "    phase tune {\n        epochs = 500\n    }\n"
    got = warnings("CosineDecay(1e-3, decay_steps=2000)", 200, phase=phase)
    assert got == [
        "12: the learning-rate schedule ends after 2,000 steps, in epoch 200 of 500 of phase "
        "tune; the remaining epochs train at its final rate"
    ]


def test_kspec_run_epochs_is_checked_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kspec.run import train

    def stop(*args: object) -> None:
        raise KeyboardInterrupt  # instead of training

    monkeypatch.setattr(train, "run", stop)
    spec = tmp_path / "s.kspec"
    spec.write_text(
        SPEC.replace("SCHEDULE", "CosineDecay(1e-3, decay_steps=900)")
        .replace("EPOCHS", "5")
        .replace("SOURCE", "synthetic(samples=320)")
        .replace("PHASE", "")
    )
    assert main(["run", str(spec), "--epochs", "200"]) == 130
    assert "ends after 900 steps, in epoch 90 of 200" in capsys.readouterr().err
