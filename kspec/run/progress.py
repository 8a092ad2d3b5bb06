"""kspec's progress display for `kspec run`, driven by Keras callbacks.

Keras's own progress bar counts the last step of each `steps_per_execution` chunk, so with
kspec's default of 32 it shows `64/45` and a bar twice as long. This display clamps the count to
the epoch's steps and draws the bar only on a terminal: elsewhere (a log file, CI) it writes one
line per epoch, and it uses bold only on a terminal with NO_COLOR unset. `verbose` is Keras's:
0 silent, 1 a progress bar, 2 one line per epoch.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

BAR = 30


def color_allowed(stream: TextIO) -> bool:
    """ANSI styles only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def format_value(value: float) -> str:
    """A metric as Keras's progress bar writes it."""
    return f"{value:.4e}" if value != 0 and abs(value) < 1e-3 else f"{value:.4f}"


def format_seconds(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


class Display:
    """What the callbacks report, written to `stream`; the Keras callback only forwards."""

    def __init__(self, verbose: int, stream: TextIO | None = None) -> None:
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stdout
        self.live = verbose == 1 and bool(getattr(self.stream, "isatty", lambda: False)())
        self.bold = color_allowed(self.stream)
        self.steps: int | None = None
        self.epochs: int | None = None
        self.done = 0
        self.started = 0.0
        self.logs: dict[str, float] = {}

    def _b(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.bold else text

    def train_begin(self, params: dict[str, Any]) -> None:
        self.steps, self.epochs = params.get("steps"), params.get("epochs")

    def epoch_begin(self, epoch: int) -> None:
        self.done, self.started, self.logs = 0, time.perf_counter(), {}
        if self.verbose:
            total = f"/{self.epochs}" if self.epochs else ""
            self._write(self._b(f"Epoch {epoch + 1}{total}") + "\n")

    def batch_end(self, batch: int, logs: dict[str, Any] | None) -> None:
        # `batch` is the last step of a steps_per_execution chunk, which may pass the epoch's end
        self.done = batch + 1 if self.steps is None else min(batch + 1, self.steps)
        self.logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.live:
            self._write("\r" + self.line(final=False) + "\x1b[K")

    def epoch_end(self, logs: dict[str, Any] | None) -> None:
        if self.steps is None:
            self.steps = self.done  # the first epoch of an unknown-length dataset counts it
        self.done = self.steps
        self.logs = {k: float(v) for k, v in (logs or {}).items()}
        if self.verbose:
            self._write(("\r" if self.live else "") + self.line(final=True) + "\n")

    def line(self, final: bool) -> str:
        elapsed = time.perf_counter() - self.started
        total = self.steps
        count = f"{self.done:>{len(str(total))}}/{total}" if total else str(self.done)
        parts = [self._b(count)]
        if self.live and total:
            filled = BAR * self.done // total
            arrow = ">" if filled < BAR else ""
            parts[0] += " [" + "=" * filled + arrow + "." * (BAR - filled - len(arrow)) + "]"
        if final or not total or not self.done:
            per_step = elapsed / max(self.done, 1)
            parts.append(f"{format_seconds(elapsed)} {per_step * 1000:.0f}ms/step")
        else:
            parts.append(f"ETA: {format_seconds(elapsed / self.done * (total - self.done))}")
        parts += [f"{k}: {format_value(v)}" for k, v in self.logs.items()]
        return " - ".join(parts)

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def verbosity(verbose: int | None, quiet: bool) -> int:
    """`--verbose N` wins; `--quiet` is one line per epoch; else the progress bar."""
    return verbose if verbose is not None else 2 if quiet else 1


def progress_callbacks(verbose: int, stream: TextIO | None = None) -> list[Any]:
    """The Keras callbacks that drive a Display (none when verbose is 0)."""
    if verbose == 0:
        return []
    import keras

    display = Display(verbose, stream)

    class Progress(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_begin(self, logs: Any = None) -> None:
            display.train_begin(self.params)

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            display.epoch_begin(epoch)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            display.batch_end(batch, logs)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            display.epoch_end(logs)

    return [Progress()]
