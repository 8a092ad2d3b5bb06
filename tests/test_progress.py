"""`kspec run`'s progress: honest counts with steps_per_execution, no ANSI off a terminal."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from kspec.cli import build_parser
from kspec.run.progress import Display, verbosity


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def drive(display: Display, steps: int, per_execution: int, epochs: int = 2) -> str:
    """Call the display as Keras's trainer does: batch = the last step of each chunk."""
    display.train_begin({"steps": steps, "epochs": epochs})
    for epoch in range(epochs):
        display.epoch_begin(epoch)
        for begin in range(0, steps, per_execution):
            display.batch_end(begin + per_execution - 1, {"loss": 0.5, "accuracy": 0.25})
        display.epoch_end({"loss": 0.5, "accuracy": 0.25, "val_loss": 0.75})
    assert isinstance(display.stream, io.StringIO)
    return display.stream.getvalue()


def counts(text: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+)(?:\x1b\[0m)? ", text)]


@pytest.mark.parametrize("steps", [45, 16, 32, 100])
def test_the_count_never_passes_the_steps_of_an_epoch(steps: int) -> None:
    shown = counts(drive(Display(1, Terminal()), steps, per_execution=32))
    assert shown and all(0 < done <= total == steps for done, total in shown)
    assert (steps, steps) in shown


def test_the_bar_is_never_longer_than_its_width() -> None:
    text = drive(Display(1, Terminal()), 45, per_execution=32)
    bars = re.findall(r"\[([=>.]*)\]", text)
    assert bars and all(len(bar) == 30 for bar in bars)


def test_one_line_per_epoch_when_not_a_terminal_or_quiet() -> None:
    for display in (Display(1, io.StringIO()), Display(2, Terminal())):
        text = re.sub(r"\x1b\[[0-9]*m", "", drive(display, 45, per_execution=32, epochs=3))
        lines = text.splitlines()
        assert len(lines) == 6  # "Epoch N/3" and the epoch's line
        assert "\r" not in text and "[" not in text
        assert lines[1].startswith("45/45 - ") and "val_loss: 0.7500" in lines[1]


def test_no_ansi_off_a_terminal_or_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "\x1b" not in drive(Display(1, io.StringIO()), 45, 32)
    assert "\x1b[1m" in drive(Display(1, Terminal()), 45, 32)
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[1m" not in drive(Display(1, Terminal()), 45, 32)


def test_verbose_levels_and_quiet() -> None:
    assert drive(Display(0, io.StringIO()), 45, 32) == ""
    parse = build_parser().parse_args
    args = parse(["run", "x.kspec", "-v", "0"])
    assert verbosity(args.verbose, args.quiet) == 0
    args = parse(["run", "x.kspec", "--quiet"])
    assert verbosity(args.verbose, args.quiet) == 2
    args = parse(["run", "x.kspec"])
    assert verbosity(args.verbose, args.quiet) == 1
    with pytest.raises(SystemExit):
        parse(["run", "x.kspec", "--verbose", "3"])


@pytest.mark.keras
def test_a_real_fit_with_steps_per_execution_32(capsys: pytest.CaptureFixture[str]) -> None:
    import keras

    from kspec.run.progress import progress_callbacks

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=32)
    x = np.zeros((45 * 8, 4), np.float32)
    stream = Terminal()
    model.fit(
        x, x[:, :1], batch_size=8, epochs=2, verbose=0, callbacks=progress_callbacks(1, stream)
    )
    shown = counts(stream.getvalue())
    assert shown and all(done <= total == 45 for done, total in shown)
