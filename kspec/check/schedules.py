"""Learning-rate schedules against the length of training: a schedule that ends before the
last epoch leaves the rest of training at its final rate (0 for CosineDecay), silently."""

from __future__ import annotations

import math
from typing import Any

from kspec.catalog import KerasObject
from kspec.catalog.datasets import DATASETS
from kspec.check.graph import Checked, Graph
from kspec.check.settings import DataOptions, TrainSettings, stages
from kspec.diagnostics import Diagnostics
from kspec.source import Span

# Schedules that stop changing: (Keras's positional order, steps before the end).
ENDING: dict[str, tuple[str, ...]] = {
    "CosineDecay": ("initial_learning_rate", "decay_steps", "alpha", "name", "warmup_target",
                    "warmup_steps"),
    "PolynomialDecay": ("initial_learning_rate", "decay_steps", "end_learning_rate", "power",
                        "cycle"),
}  # fmt: skip


def training_examples(data: dict[str, Any]) -> int | None:
    """How many examples an epoch trains on, when the source fixes it without loading."""
    setting = data.get("source")
    source = setting.value if setting is not None else None
    if isinstance(source, str) and source in DATASETS:
        n = DATASETS[source].examples
    elif isinstance(source, KerasObject) and source.name == "synthetic":
        n = source.kwargs_dict().get("samples", 1024)
    else:
        return None
    if not isinstance(n, int):
        return None
    return n - round(n * DataOptions.from_section(data).validation_split)


def schedule_steps(value: Any) -> tuple[int, int] | None:
    """(warmup steps, decay steps) of the optimizer `value`'s schedule, when it ends."""
    if not isinstance(value, KerasObject):
        return None
    schedule = value.kwargs_dict().get("learning_rate", value.args[0] if value.args else None)
    if not isinstance(schedule, KerasObject) or schedule.name not in ENDING:
        return None
    args = dict(zip(ENDING[schedule.name], schedule.args, strict=False)) | schedule.kwargs_dict()
    decay, warmup = args.get("decay_steps"), args.get("warmup_steps", 0)
    if args.get("cycle") is True or not isinstance(decay, int) or not isinstance(warmup, int):
        return None
    return warmup, decay


def check_schedules(checked: Checked, graph: Graph, diags: Diagnostics) -> None:
    examples = training_examples(checked.data)
    if examples is None or examples <= 0:
        return
    warned: set[Span] = set()
    for stage in stages(checked, graph, TrainSettings.of(checked.train, None)):
        optimizer = stage.settings.fields.get("optimizer")
        steps = schedule_steps(optimizer.value) if optimizer is not None else None
        if optimizer is None or steps is None or optimizer.span in warned:
            continue
        warmup, decay = steps
        per_epoch = math.ceil(examples / stage.settings.batch_size)
        total = per_epoch * stage.epochs
        if warmup + decay >= total:
            continue
        warned.add(optimizer.span)
        last = math.ceil((warmup + decay) / per_epoch)
        phase = f" of phase {stage.name}" if stage.name else ""
        diags.warning(
            f"the learning-rate schedule ends after {warmup + decay:,} steps, in epoch {last} "
            f"of {stage.epochs}{phase}; the remaining epochs train at its final rate",
            optimizer.span,
            code="schedule-ends-early",
            help=f"{stage.epochs} epochs of {per_epoch} steps ({examples:,} examples, batch size "
            f"{stage.settings.batch_size}) are {total:,} steps: set decay_steps="
            f"{total - warmup}, or train for {last} epochs",
        )
