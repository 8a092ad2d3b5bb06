"""Training a checked spec: `kspec run`, `--resume` and `Spec.fit()`.

The order matters: the data loads before any model is built (a missing file fails in seconds),
the model is built and compiled inside the distribution strategy's scope, and every epoch
leaves a consistent run folder behind (history written, BackupAndRestore's checkpoint saved),
so that a killed run can continue where it stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kspec.catalog import KerasObject
from kspec.check.graph import Checked, Graph, Setting
from kspec.check.settings import TrainSettings, stages
from kspec.codes import Code
from kspec.diagnostics import Diagnostic, KspecError
from kspec.run import rundir
from kspec.run.callbacks import catch_sigint, make_tracker, user_callback
from kspec.run.data import (
    Data,
    augmenter,
    fit_args,
    load_data,
    pipeline,
    request,
    signature_of_graph,
)
from kspec.run.pretrained import preflight_weights
from kspec.run.request import Request
from kspec.run.runtime import environment
from kspec.run.sources import preflight
from kspec.source import NO_SPAN, Span


@dataclass
class RunOptions:
    """What `kspec run` takes besides the spec; `note` receives messages meant for the user."""

    epochs: int | None = None
    output: str | Path | None = None
    model: str | None = None
    quiet: bool = False
    overrides: list[str] = field(default_factory=list)
    workdir: Path | None = None
    note: Callable[[str], None] | None = None


@dataclass
class RunResult:
    model: Any
    history: dict[str, list[Any]]
    run_dir: Path
    metrics: dict[str, Any]
    epochs: int  # completed epochs, counting those before a resume
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)


def fail(
    message: str,
    span: Span = NO_SPAN,
    help: str | None = None,
    checked: Checked | None = None,
    code: Code = "run-error",
) -> KspecError:
    return KspecError([Diagnostic(code, message, span, help)], checked.sources if checked else None)


# -- a run ---------------------------------------------------------------------------------
def run(checked: Checked, options: RunOptions) -> RunResult:
    """Train the spec's model into a new run folder."""
    graph = checked.model(options.model)
    settings = TrainSettings.of(checked.train, options.epochs)
    notes: list[str] = []
    preflight(_request(checked, graph, settings, options))
    preflight_weights(checked, graph)
    with _environment(settings, checked, notes, options) as strategy:
        data = _load(checked, graph, settings, options)
        run_dir = rundir.new_run_dir(graph.name, options.output)
        rundir.write_json(
            run_dir / rundir.RUN_FILE,
            {
                "status": "running",
                "spec_path": checked.path,
                "overrides": options.overrides,
                "workdir": str(options.workdir or Path.cwd()),
                "model": graph.name,
                "epochs": sum(stage.epochs for stage in stages(checked, graph, settings)),
                "main_epochs": settings.epochs,
                "spec_text": checked.sources[checked.path].text,
            },
        )
        applied = options.overrides + ([f"train.epochs={options.epochs}"] if options.epochs else [])
        rundir.atomic_write(run_dir / "resolved.kspec", rundir.resolved_spec(checked, applied))
        from kspec.report.summary import render_summary

        rundir.atomic_write(run_dir / "summary.txt", render_summary(graph) + "\n")
        return _train(checked, graph, data, run_dir, settings, strategy, options, notes, [])


def resume(run_dir: Path, options: RunOptions) -> RunResult:
    """Continue a killed or interrupted run from its last completed epoch."""
    from kspec.check.spec import check_text

    try:
        info = rundir.read_json(run_dir / rundir.RUN_FILE)
    except (OSError, ValueError):
        raise fail(
            f"{run_dir} is not a kspec run folder (no readable {rundir.RUN_FILE})",
            Span(0, 0, 0, 0, str(run_dir)),
            help="pass the folder `kspec run` printed",
        ) from None
    if info["status"] == "completed":
        raise fail(
            f"the run in {run_dir} already completed its {info['epochs']} epochs",
            Span(0, 0, 0, 0, str(run_dir)),
            help="start a new run instead",
        )
    checked, _ = check_text(info["spec_text"], info["spec_path"], info["overrides"])
    assert checked is not None
    graph = checked.model(info["model"])
    settings = TrainSettings.of(checked.train, info.get("main_epochs", info["epochs"]))
    options.workdir = Path(info["workdir"])
    options.overrides = info["overrides"]
    notes: list[str] = []
    with _environment(settings, checked, notes, options) as strategy:
        data = _load(checked, graph, settings, options)
        start = backup_epoch(run_dir)
        records = rundir.read_history(run_dir)[:start]
        _note(options, notes, f"resuming {run_dir} at epoch {start + 1} of {info['epochs']}")
        return _train(checked, graph, data, run_dir, settings, strategy, options, notes, records)


def backup_epoch(run_dir: Path) -> int:
    """The number of epochs BackupAndRestore's checkpoint holds (0 when there is none)."""
    try:
        return int(
            rundir.read_json(run_dir / rundir.BACKUP_DIR / "training_metadata.json")["epoch"]
        )
    except (OSError, ValueError, KeyError):
        return 0


def _note(options: RunOptions, notes: list[str], text: str) -> None:
    notes.append(text)
    if options.note is not None:
        options.note(text)


def _load(checked: Checked, graph: Graph, settings: TrainSettings, options: RunOptions) -> Data:
    signature = signature_of_graph(graph, checked.train)
    return load_data(
        checked.data,
        checked.sources,
        signature,
        spec_path=checked.path,
        workdir=options.workdir or Path.cwd(),
        seed=settings.seed or 0,
    )


def _request(
    checked: Checked, graph: Graph, settings: TrainSettings, options: RunOptions
) -> Request:
    signature = signature_of_graph(graph, checked.train)
    return request(
        checked.data,
        checked.sources,
        signature,
        spec_path=checked.path,
        workdir=options.workdir or Path.cwd(),
        seed=settings.seed or 0,
    )


def _environment(settings: TrainSettings, checked: Checked, notes: list[str],
                 options: RunOptions) -> contextlib.AbstractContextManager[Any]:  # fmt: skip
    """runtime.environment, after checking what distribution needs from the spec."""
    if settings.distribute == "multi_worker":
        span = settings.fields["distribute"].span
        if "TF_CONFIG" not in os.environ:
            raise fail(
                "distribute = multi_worker reads the cluster from TF_CONFIG, which is not set",
                span,
                checked=checked,
                help='set TF_CONFIG={"cluster": {"worker": ["host:port", ...]}, "task": '
                '{"type": "worker", "index": N}} in each worker\'s environment',
            )
        if settings.steps_per_execution > 1:
            raise fail("steps_per_execution > 1 does not work with distribute = multi_worker: "
                       "Keras 3's multi-step loop fails under MultiWorkerMirroredStrategy",
                       settings.fields["steps_per_execution"].span, checked=checked,
                       help="remove steps_per_execution, or set it to 1")  # fmt: skip
    return environment(settings.seed, settings.mixed_precision, settings.distribute,
                       lambda text: _note(options, notes, text))  # fmt: skip


def _train(
    checked: Checked,
    graph: Graph,
    data: Data,
    run_dir: Path,
    settings: TrainSettings,
    strategy: Any,
    options: RunOptions,
    notes: list[str],
    records: list[dict[str, Any]],
) -> RunResult:
    from kspec.keras.build import build_checked
    from kspec.keras.freeze import apply_flags

    with strategy.scope():
        model = build_checked(checked, graph.name)
        if "initial_weights" in settings.fields:  # a resume's backup, if any, replaces these
            _initial_weights(model, checked, settings.fields["initial_weights"], options)
    # Workers of a multi-worker run must shuffle alike: each reads its shard of one order.
    seed = settings.seed if settings.seed is not None else (
        0 if settings.distribute == "multi_worker" else None)  # fmt: skip
    augment = augmenter(data.options.augment, data.signature)
    every = [
        c
        for stage in stages(checked, graph, settings)
        for c in _list(stage.settings.fields.get("callbacks"))
    ]
    own_backup = any(isinstance(c, KerasObject) and c.name == "BackupAndRestore" for c in every)
    tracker = make_tracker(run_dir, records, with_backup=not own_backup)
    log = list(rundir.read_json(run_dir / rundir.RUN_FILE).get("phases", []))
    started = time.time()
    val_ds = None
    for i, stage in enumerate(stages(checked, graph, settings)):
        done = len(tracker.records)
        if i == len(log):  # the run folder records where each phase starts
            log.append(
                {"phase": stage.name or "main", "first_epoch": done + 1, "epochs": stage.epochs}
            )
            _update_info(run_dir, phases=log)
        end = log[i]["first_epoch"] - 1 + stage.epochs
        if done >= end or i + 1 < len(log):
            continue  # finished (or stopped early) before a resume
        if i > 0:
            _note(options, notes, f"phase {stage.name}: epochs {done + 1} to {end}")
        apply_flags(model, stage.flags)
        with strategy.scope():  # a new phase recompiles: the optimizer sees the new trainable set
            model.compile(
                **compile_args(stage.settings, checked),
                jit_compile=stage.settings.jit_compile,
                steps_per_execution=stage.settings.steps_per_execution,
            )
            if not tracker.restore:  # a phase after one this process trained: back it up now,
                model.optimizer.build(model.trainable_variables)  # with the new optimizer
                tracker.checkpoint(done)
        batch = stage.settings.batch_size
        train_ds = pipeline(data.train, data.signature, data.options, batch, training=True,
                            seed=seed, augment=augment)  # fmt: skip
        val_ds = None
        if data.validation is not None:
            val_ds = pipeline(data.validation, data.signature, data.options, batch, training=False)
        user = [user_callback(c, run_dir) for c in _list(stage.settings.fields.get("callbacks"))]
        with catch_sigint(model, tracker):
            try:
                model.fit(
                    **fit_args(train_ds, val_ds),
                    initial_epoch=done,
                    epochs=end,
                    verbose=0 if options.quiet else 1,
                    callbacks=[*user, *tracker.callbacks],
                )
            except KeyboardInterrupt:  # a second Ctrl-C: stop now, still keep what was trained
                tracker.interrupted = True
        if tracker.interrupted:
            break
    settings = stage.settings
    if val_ds is None and data.validation is not None:  # resumed with every epoch already done
        val_ds = pipeline(
            data.validation, data.signature, data.options, settings.batch_size, training=False
        )
    interrupted = tracker.interrupted
    rundir.atomic_save(run_dir / "model.keras", model.save, suffix=".keras")
    metrics = _final_metrics(model, data, settings, val_ds, tracker.records, interrupted)
    rundir.write_json(run_dir / "metrics.json", metrics)
    history = rundir.history_table(tracker.records)
    from kspec.run.plot import curves_png

    boundaries = [p["first_epoch"] - 1 for p in log[1:]]
    rundir.atomic_write(run_dir / "curves.png", curves_png(history, boundaries))
    info = rundir.read_json(run_dir / rundir.RUN_FILE)
    done = len(tracker.records)
    status = "interrupted" if interrupted else "completed"
    info.update(
        status=status,
        epochs_done=done,
        seconds=round(time.time() - started, 3),
        epoch_seconds=tracker.epoch_seconds,
        epoch_cpu_seconds=tracker.epoch_cpu_seconds,
    )
    rundir.write_json(run_dir / rundir.RUN_FILE, info)
    if status == "completed":
        shutil.rmtree(run_dir / rundir.BACKUP_DIR, ignore_errors=True)
    return RunResult(model, history, run_dir, metrics, done, interrupted, notes)


def _initial_weights(model: Any, checked: Checked, setting: Setting, options: RunOptions) -> None:
    from kspec.keras.weights import load_initial_weights

    from_file = setting.span.path == checked.path  # else --set: relative to where kspec runs
    base = Path(checked.path).resolve().parent if from_file else (options.workdir or Path.cwd())
    load_initial_weights(model, base / str(setting.value), setting.span, checked.sources)


def _update_info(run_dir: Path, **fields: Any) -> None:
    info = rundir.read_json(run_dir / rundir.RUN_FILE)
    info.update(fields)
    rundir.write_json(run_dir / rundir.RUN_FILE, info)


def _final_metrics(model: Any, data: Data, settings: TrainSettings, val_ds: Any,
                   records: list[dict[str, Any]], interrupted: bool) -> dict[str, Any]:  # fmt: skip
    """metrics.json: the trained model evaluated on the validation data (the training data when
    there is none). The last epoch's validation logs are that evaluation already, unless the
    weights changed after it: an interruption, restored best weights, or EMA weights."""
    last = records[-1] if records else {}
    if val_ds is not None and not interrupted and not _swaps_weights(settings) and last:
        logged = {k.removeprefix("val_"): v for k, v in last.items() if k.startswith("val_")}
        if logged:
            return {"data": "validation", **logged}
    if val_ds is None:
        train = pipeline(
            data.train, data.signature, data.options, settings.batch_size, training=False
        )
        return {
            "data": "training",
            **model.evaluate(**train.evaluate_args(), verbose=0, return_dict=True),
        }
    return {
        "data": "validation",
        **model.evaluate(**val_ds.evaluate_args(), verbose=0, return_dict=True),
    }


def _swaps_weights(settings: TrainSettings) -> bool:
    """Whether something replaces the weights after the last epoch's validation."""
    for c in _list(settings.fields.get("callbacks")):
        if isinstance(c, KerasObject) and (
            c.name == "SwapEMAWeights" or c.kwargs_dict().get("restore_best_weights") is True
        ):
            return True
    optimizer = settings.fields.get("optimizer")
    value = optimizer.value if optimizer is not None else None
    return isinstance(value, KerasObject) and value.kwargs_dict().get("use_ema") is True


def _list(setting: Setting | None) -> list[Any]:
    if setting is None or setting.value is None:
        return []
    return list(setting.value) if isinstance(setting.value, list | tuple) else [setting.value]


# -- compile -------------------------------------------------------------------------------
def compile_args(settings: TrainSettings, checked: Checked) -> dict[str, Any]:
    """optimizer, loss, loss_weights and metrics through Keras's own registries."""
    import keras

    from kspec.keras.build import keras_value

    fields = settings.fields
    if "loss" not in fields:
        raise fail(
            "the train section has no loss, so there is nothing to minimize",
            Span(0, 0, 0, 0, checked.path),
            checked=checked,
            help="add `loss = ...` to train, e.g. loss = sparse_categorical_crossentropy",
        )

    def one(value: Any, get: Callable[[Any], Any], module: str) -> Any:
        if isinstance(value, KerasObject):
            return keras_value(value, module)
        return get(value) if get is not None else value

    def each(value: Any, fn: Callable[[Any], Any]) -> Any:
        if isinstance(value, dict):
            return {k: each(v, fn) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [each(v, fn) for v in value]
        return fn(value)

    optimizer = fields["optimizer"].value if "optimizer" in fields else "adam"
    args: dict[str, Any] = {
        "optimizer": one(optimizer, keras.optimizers.get, "keras.optimizers"),
        "loss": each(fields["loss"].value, lambda v: one(v, keras.losses.get, "keras.losses")),
    }
    if "metrics" in fields:
        # Names stay strings: compile resolves "accuracy" to the right variant for the loss.
        args["metrics"] = each(fields["metrics"].value, lambda v: one(v, None, "keras.metrics"))  # type: ignore[arg-type]
    if "loss_weights" in fields:
        args["loss_weights"] = fields["loss_weights"].value
    return args
