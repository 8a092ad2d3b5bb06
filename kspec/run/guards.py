"""Stopping a run that cannot go on: a loss that becomes NaN or infinite.

Keras's TerminateOnNaN stops training without saying where; this one records the epoch and the
batch, so the run folder and the diagnostic can name them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass
class NanStop:
    epoch: int  # 1-based
    batch: int  # 1-based: the last batch of the step that reported it
    value: float


def nan_guard(on_stop: Any) -> Any:
    """A callback that stops fit at the first non-finite loss and calls `on_stop(NanStop)`."""
    import keras

    class StopOnNaN(keras.callbacks.Callback):  # type: ignore[misc]
        epoch = 0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            loss = (logs or {}).get("loss")
            if loss is None:
                return
            value = float(loss)
            if not math.isfinite(value):
                self.model.stop_training = True
                on_stop(NanStop(self.epoch + 1, batch + 1, value))

    return StopOnNaN()
