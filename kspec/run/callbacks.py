"""The run's own Keras callbacks: per-epoch history, checkpoints, NaN, Ctrl-C; and the user's."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kspec.catalog import KerasObject
from kspec.catalog.names import CALLBACK_PATHS
from kspec.run import checkpoint, rundir
from kspec.run.guards import nan_guard


def user_callback(value: Any, run_dir: Path) -> Any:
    """A user's callback; relative file paths it writes land in the run folder."""
    from kspec.keras.build import keras_value

    if isinstance(value, str):
        value = KerasObject(value)
    args, kwargs = list(value.args), dict(value.kwargs)
    if value.name in CALLBACK_PATHS:
        index, name, default = CALLBACK_PATHS[value.name]
        if len(args) > index:
            args[index] = _in_run(args[index], run_dir)
        elif name in kwargs:
            kwargs[name] = _in_run(kwargs[name], run_dir)
        elif default is not None:
            kwargs[name] = _in_run(default, run_dir)
    return keras_value(
        KerasObject(value.name, tuple(args), tuple(kwargs.items())), "keras.callbacks"
    )


def _in_run(path: Any, run_dir: Path) -> Any:
    if isinstance(path, str) and not os.path.isabs(path):
        return str(run_dir / path)
    return path


@dataclass
class Tracker:
    """Shared state of the run's own callbacks."""

    records: list[dict[str, Any]]
    callbacks: list[Any] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)  # wall-clock time per epoch
    epoch_cpu_seconds: list[float] = field(default_factory=list)  # CPU time, all threads
    interrupted: bool = False
    steps: int | None = None
    last_batch: int = -1
    backup: Any = None  # the run's checkpoint callback, when kspec keeps one
    run_dir: Path = Path()
    stopped: Any = None  # a guards.NanStop: the epoch it happened in is not complete

    def checkpoint(self, model: Any, epochs: int) -> None:
        """Save the backup now, as after epoch `epochs`: between two phases, the weights a fit
        ended with (restored best weights, say) and the next phase's optimizer are where a
        resume starts."""
        if self.backup is not None:
            checkpoint.save(self.run_dir, model, epochs)

    def partial_epoch(self) -> bool:
        """Keras ends an interrupted epoch as if complete; it is not, unless its last batch ran."""
        if self.stopped is not None:
            return True
        return self.interrupted and (self.steps is None or self.last_batch + 1 < self.steps)


def make_tracker(run_dir: Path, records: list[dict[str, Any]], *, with_backup: bool) -> Tracker:
    import keras

    tracker = Tracker(list(records), run_dir=run_dir)

    class EpochWriter(keras.callbacks.Callback):  # type: ignore[misc]
        """Writes history.json/.csv after every complete epoch, so a kill loses at most one."""

        def on_train_begin(self, logs: Any = None) -> None:
            tracker.steps = self.params.get("steps")

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            tracker.last_batch = -1
            self.started, self.cpu = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            tracker.last_batch = batch

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if tracker.partial_epoch():
                return
            tracker.epoch_seconds.append(round(time.perf_counter() - self.started, 4))
            tracker.epoch_cpu_seconds.append(round(time.process_time() - self.cpu, 4))
            record = {k: float(v) for k, v in (logs or {}).items()}
            if "learning_rate" not in record and _scheduled(self.model):  # for curves.png
                record["learning_rate"] = float(self.model.optimizer.learning_rate)
            tracker.records[epoch:] = [record]
            rundir.write_history(run_dir, tracker.records)

    def stop(nan: Any) -> None:
        tracker.stopped = nan

    tracker.callbacks.append(nan_guard(stop))
    tracker.callbacks.append(EpochWriter())
    if with_backup:
        tracker.backup = checkpoint.callback(run_dir, tracker.partial_epoch)
        tracker.callbacks.append(tracker.backup)
    return tracker


def _scheduled(model: Any) -> bool:
    """Whether the model's optimizer takes its learning rate from a schedule."""
    import keras

    schedule = getattr(getattr(model, "optimizer", None), "_learning_rate", None)
    return isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)


@contextlib.contextmanager
def catch_sigint(model: Any, tracker: Tracker) -> Iterator[None]:
    """The first Ctrl-C asks Keras to stop after the current batch; a second one stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if tracker.interrupted:
            raise KeyboardInterrupt
        tracker.interrupted = True
        model.stop_training = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
