"""Training a checked spec: `kspec run`, `--resume` and `Spec.fit()`.

The order matters: the data loads before any model is built (a missing file fails in seconds),
the model is built and compiled inside the distribution strategy's scope, and every epoch
leaves a consistent run folder behind (history written, BackupAndRestore's checkpoint saved),
so that a killed run can continue where it stopped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kspec.catalog import KerasObject
from kspec.check.graph import Checked, Graph, Setting
from kspec.check.settings import TrainSettings, stages
from kspec.codes import Code
from kspec.diagnostics import Diagnostic, KspecError
from kspec.run import checkpoint, lock, record, rundir
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
from kspec.run.progress import progress_callbacks, verbosity
from kspec.run.provenance import environment_record
from kspec.run.request import Request
from kspec.run.resolved import resolved_spec
from kspec.run.runtime import environment
from kspec.run.sources import preflight
from kspec.run.validate import check_data, image_channels, image_files, undecodable
from kspec.source import NO_SPAN, Span


@dataclass
class RunOptions:
    """What `kspec run` takes besides the spec; `note` receives messages meant for the user."""

    epochs: int | None = None
    output: str | Path | None = None
    model: str | None = None
    quiet: bool = False  # one line per epoch
    verbose: int | None = None  # Keras's verbose: 0, 1 (progress bar), 2; wins over quiet
    overrides: list[str] = field(default_factory=list)
    workdir: Path | None = None
    note: Callable[[str], None] | None = None
    force: bool = False  # replace a run in `output`; on resume, drop an unreadable history


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
RUN_FILES = ("model.keras", "history.json", "history.csv", "metrics.json", "summary.txt",
             "resolved.kspec", "curves.png", rundir.RUN_FILE)  # fmt: skip


class RunExists(KspecError):
    """`--output` holds a run already; the CLI exits 2 (a usage error) on it."""


def run(checked: Checked, options: RunOptions) -> RunResult:
    """Train the spec's model into a new run folder."""
    graph = checked.model(options.model)
    settings = TrainSettings.of(checked.train, options.epochs)
    notes: list[str] = []
    if options.output is not None:
        _refuse_existing(Path(options.output), options.force)
    preflight(_request(checked, graph, settings, options))
    preflight_weights(checked, graph)
    with _environment(settings, checked, notes, options) as strategy:
        data = _load(checked, graph, settings, options)
        with output_errors(options.output):
            run_dir = rundir.new_run_dir(graph.name, options.output)
        with lock.locked(run_dir), output_errors(run_dir):
            _refuse_existing(run_dir, options.force, locked=True)  # one that began meanwhile
            if options.force:
                _clear(run_dir)
            applied = options.overrides + (
                [f"train.epochs={options.epochs}"] if options.epochs else []
            )
            resolved = resolved_spec(checked, applied)
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
                    "resolved_spec": resolved,
                    **environment_record(settings.seed),
                },
            )
            _write_static(run_dir, graph, resolved)
            return _failing_marks(
                run_dir,
                lambda: _train(
                    checked, graph, data, run_dir, settings, strategy, options, notes, [], None
                ),
            )


def _refuse_existing(path: Path, force: bool, locked: bool = False) -> None:
    if not (path / rundir.RUN_FILE).exists():
        return
    if not locked:
        lock.check_free(path)
    if force:
        return
    try:
        status = rundir.read_json(path / rundir.RUN_FILE).get("status")
    except (OSError, ValueError, AttributeError):
        status = None
    span = Span(0, 0, 0, 0, str(path))
    if status in ("finished", "completed"):
        message, help = (
            f"{path} holds a finished run",
            (
                f"give another --output, extend it with `kspec run --resume {path} --epochs N`, "
                "or add --force to replace it"
            ),
        )
    else:
        message, help = (
            f"{path} holds a run that did not finish ({status or 'unknown'})",
            (f"continue it with `kspec run --resume {path}`, or add --force to replace it"),
        )
    raise RunExists([Diagnostic("run-exists", message, span, help)])


def _clear(run_dir: Path) -> None:
    """--force: the old run's files go, so nothing of it mixes into the new one."""
    for name in RUN_FILES:
        with contextlib.suppress(FileNotFoundError):
            (run_dir / name).unlink()
    shutil.rmtree(run_dir / rundir.BACKUP_DIR, ignore_errors=True)
    remove_temporary(run_dir)


def remove_temporary(run_dir: Path) -> list[str]:
    """The temporary files a killed write leaves (`.NAME.*.tmp*`), removed; their names."""
    gone = []
    for folder in (run_dir, run_dir / rundir.BACKUP_DIR):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.startswith(".") and ".tmp" in path.name and path.is_file():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    gone.append(str(path.relative_to(run_dir)))
    return gone


def _write_static(run_dir: Path, graph: Graph, resolved: str) -> None:
    """The files a run writes before training; a resume writes them again (a kill while
    building may have come before them)."""
    from kspec.report.summary import render_summary

    rundir.atomic_write(run_dir / "resolved.kspec", resolved)
    rundir.atomic_write(run_dir / "summary.txt", render_summary(graph) + "\n")


@contextlib.contextmanager
def output_errors(run_dir: str | Path | None) -> Iterator[None]:
    """A run folder that cannot be written (read-only, full, a file in the way) is a diagnostic."""
    try:
        yield
    except OSError as e:
        if e.errno not in _OUTPUT_ERRNOS:
            raise
        where = e.filename or run_dir or "runs/"
        why = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
               errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied", errno.ENOTDIR: "a file is in the way",
               errno.EEXIST: "a file is in the way"}.get(e.errno or 0, e.strerror)  # fmt: skip
        raise KspecError(
            [
                Diagnostic(
                    "output-error",
                    f"cannot write the run folder: {where}: {why}",
                    Span(0, 0, 0, 0, str(run_dir or where)),
                    "free space or choose a writable --output; what was written so far is "
                    "intact, and `kspec run --resume DIR` continues from the last complete epoch",
                )
            ]
        ) from None


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                  errno.ENOTDIR, errno.EEXIST}  # fmt: skip


def _failing_marks(run_dir: Path, body: Callable[[], RunResult]) -> RunResult:
    """Run `body`; if it fails, run.json says `failed`, with the message, before the error
    goes on (an interruption is recorded by _train itself)."""
    try:
        return body()
    except KspecError as e:
        _mark_failed(run_dir, "; ".join(d.message for d in e.diagnostics))
        raise
    except Exception as e:
        _mark_failed(run_dir, f"{type(e).__name__}: {e}")
        raise


def _mark_failed(run_dir: Path, message: str) -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        _update_info(run_dir, status="failed", message=message)


def resume(run_dir: Path, options: RunOptions) -> RunResult:
    """Continue a killed, interrupted or failed run from its last complete epoch; with
    `options.epochs`, extend a finished run to that many epochs."""
    from kspec.check.spec import check_text

    run_dir = Path(run_dir)
    info = record.read_info(run_dir)  # before locking: a folder that is no run stays untouched
    with lock.locked(run_dir), output_errors(run_dir):
        info = record.read_info(run_dir)
        gone = remove_temporary(run_dir)
        finished = info["status"] == "finished"
        # Killed after run.json said finished but before the backup went: finish tidying up.
        leftover = finished and (run_dir / rundir.BACKUP_DIR).exists()
        if finished and options.epochs is None and not leftover:
            raise fail(
                f"the run in {run_dir} already finished its {info['epochs']} epochs",
                Span(0, 0, 0, 0, str(run_dir)),
                help=f"extend it with `kspec run --resume {run_dir} --epochs N`, or start a "
                "new run",
            )
        if options.epochs is not None and options.epochs <= info["epochs"]:
            raise fail(
                f"the run in {run_dir} has {info['epochs']} epochs already; --epochs "
                f"{options.epochs} would not extend it",
                Span(0, 0, 0, 0, str(run_dir)),
                help=f"give more than {info['epochs']}",
            )
        checked, _ = check_text(info["spec_text"], info["spec_path"], info["overrides"])
        assert checked is not None
        graph = checked.model(info["model"])
        options.workdir = Path(info["workdir"])
        options.overrides = info["overrides"]
        notes: list[str] = []
        for name in gone:
            _note(options, notes, f"removed {name}, left by a write that was killed")
        total = info["epochs"]
        if options.epochs is not None:  # the last phase (or the main training) grows
            extra = options.epochs - total
            log = list(info.get("phases", []))
            if log:
                log[-1] = {**log[-1], "epochs": log[-1]["epochs"] + extra}
            info["main_epochs"] = info.get("main_epochs", total) + (extra if len(log) <= 1 else 0)
            info["phases"], info["epochs"] = log, options.epochs
        settings = TrainSettings.of(checked.train, info.get("main_epochs", info["epochs"]))
        with _environment(settings, checked, notes, options) as strategy:
            data = _load(checked, graph, settings, options)
            restore, start = _restore_point(run_dir, info, checked, graph, settings, finished,
                                            options, notes)  # fmt: skip
            if options.force and start:
                try:
                    records = record.read_history(run_dir, start)
                except KspecError:
                    records = [{} for _ in range(start)]
                    _note(options, notes, "history.json is unreadable: its epochs are dropped")
            else:
                records = record.read_history(run_dir, start)
            total = info["epochs"]
            _update_info(run_dir, status="running", epochs=total,
                         main_epochs=info.get("main_epochs", total),
                         phases=info.get("phases", []))  # fmt: skip
            if start >= total:
                _note(options, notes, f"finishing {run_dir}: all {total} epochs are trained; "
                      "writing the model and the records")  # fmt: skip
            else:
                _note(options, notes, f"resuming {run_dir} at epoch {start + 1} of {total}")
            resolved = info.get("resolved_spec")
            if not isinstance(resolved, str):
                resolved = resolved_spec(checked, info["overrides"])
            _write_static(run_dir, graph, resolved)
            return _failing_marks(
                run_dir,
                lambda: _train(
                    checked,
                    graph,
                    data,
                    run_dir,
                    settings,
                    strategy,
                    options,
                    notes,
                    records,
                    restore,
                ),
            )


def _restore_point(run_dir: Path, info: dict[str, Any], checked: Checked, graph: Graph,
                   settings: TrainSettings, finished: bool, options: RunOptions,
                   notes: list[str]) -> tuple[Path | None, int]:  # fmt: skip
    """What a resume loads (a checkpoint, a finished run's model.keras, or nothing when the
    user's own BackupAndRestore restores itself) and after how many epochs."""
    if finished:
        done = info.get("epochs_done", info["epochs"])
        return run_dir / "model.keras", done if isinstance(done, int) else info["epochs"]
    if _own_backup(checked, graph, settings):
        return None, checkpoint.keras_backup_epoch(run_dir) or 0
    found = checkpoint.find(run_dir)
    for problem in found.skipped:
        _note(options, notes, f"skipping a checkpoint: {problem}")
    if found.latest is not None:
        if found.skipped:
            _note(options, notes, f"the last good checkpoint is epoch {found.latest.epoch}")
        return found.latest.weights, found.latest.epoch
    legacy = checkpoint.keras_backup_epoch(run_dir)
    if legacy:
        legacy_weights = checkpoint.backup_dir(run_dir) / "latest.weights.h5"
        return legacy_weights, legacy
    if found.folder_missing:
        _note(options, notes, f"{run_dir / rundir.BACKUP_DIR} is missing: no checkpoint to "
              "resume from, so training starts again from epoch 1")  # fmt: skip
    elif found.skipped:
        _note(options, notes, "no checkpoint is intact: training starts again from epoch 1")
    return None, 0


def _own_backup(checked: Checked, graph: Graph, settings: TrainSettings) -> bool:
    every = [
        c
        for stage in stages(checked, graph, settings)
        for c in _list(stage.settings.fields.get("callbacks"))
    ]
    return any(isinstance(c, KerasObject) and c.name == "BackupAndRestore" for c in every)


def backup_epoch(run_dir: Path) -> int:
    """The number of epochs the run's newest intact checkpoint holds (0 when there is none)."""
    found = checkpoint.find(run_dir)
    if found.latest is not None:
        return found.latest.epoch
    return checkpoint.keras_backup_epoch(run_dir) or 0


def _note(options: RunOptions, notes: list[str], text: str) -> None:
    notes.append(text)
    if options.note is not None:
        options.note(text)


def _load(checked: Checked, graph: Graph, settings: TrainSettings, options: RunOptions) -> Data:
    signature = signature_of_graph(graph, checked.train)
    data = load_data(
        checked.data,
        checked.sources,
        signature,
        spec_path=checked.path,
        workdir=options.workdir or Path.cwd(),
        seed=settings.seed or 0,
    )
    check_data(data.train, data.validation, signature,
               _request(checked, graph, settings, options))  # fmt: skip
    return data


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
    restore: Path | None,
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
    tracker = make_tracker(run_dir, records, with_backup=not _own_backup(checked, graph, settings))
    info = rundir.read_json(run_dir / rundir.RUN_FILE)
    log = list(info.get("phases", []))
    start = len(records)
    seconds = list(info.get("epoch_seconds", []))[:start]
    cpu_seconds = list(info.get("epoch_cpu_seconds", []))[:start]
    times = _times_writer(run_dir, tracker, seconds, cpu_seconds)
    at = tracker.callbacks.index(tracker.backup) if tracker.backup in tracker.callbacks else None
    tracker.callbacks.insert(len(tracker.callbacks) if at is None else at, times)
    started = time.time()
    val_ds = None
    trained = False  # whether this process has run a fit yet
    all_stages = stages(checked, graph, settings)
    stage = all_stages[0]
    for i, stage in enumerate(all_stages):
        done = len(tracker.records)
        if i == len(log):  # the run folder records where each phase starts
            log.append(
                {"phase": stage.name or "main", "first_epoch": done + 1, "epochs": stage.epochs}
            )
            _update_info(run_dir, phases=log)
        end = log[i]["first_epoch"] - 1 + log[i]["epochs"]
        if done >= end or i + 1 < len(log):
            continue  # finished (or stopped early) before a resume
        if i > 0:
            _note(options, notes, f"phase {stage.name}: epochs {done + 1} to {end}")
        apply_flags(model, stage.flags)
        _compile(model, stage, checked, strategy)
        if restore is not None:
            _restore(model, restore, options, notes)
            restore = None
        elif trained:  # a phase after one this process trained: back it up now,
            with strategy.scope():  # with the new optimizer
                model.optimizer.build(model.trainable_variables)
            tracker.checkpoint(model, done)
        batch = stage.settings.batch_size
        train_ds = pipeline(data.train, data.signature, data.options, batch, training=True,
                            seed=seed, augment=augment)  # fmt: skip
        val_ds = None
        if data.validation is not None:
            val_ds = pipeline(data.validation, data.signature, data.options, batch, training=False)
        user = [user_callback(c, run_dir) for c in _list(stage.settings.fields.get("callbacks"))]
        trained = True
        progress = progress_callbacks(verbosity(options.verbose, options.quiet))
        with catch_sigint(model, tracker):
            try:
                model.fit(
                    **fit_args(train_ds, val_ds),
                    initial_epoch=done,
                    epochs=end,
                    verbose=0,  # kspec's own display: Keras's overflows with steps_per_execution
                    callbacks=[*user, *tracker.callbacks, *progress],
                )
            except KeyboardInterrupt:  # a second Ctrl-C: stop now, still keep what was trained
                tracker.interrupted = True
            except (KspecError, OSError):
                raise
            except Exception as e:
                culprit = _image_culprit(e, _request(checked, graph, stage.settings, options))
                raise keras_failure(e, stage.settings, checked, "training", culprit) from None
        if tracker.stopped is not None:
            nan = tracker.stopped
            span = (
                stage.settings.fields["loss"].span if "loss" in stage.settings.fields else NO_SPAN
            )
            raise fail(
                f"the loss became {nan.value} in epoch {nan.epoch}, batch {nan.batch}: training "
                f"stopped; the run keeps its {len(tracker.records)} complete epochs",
                span,
                checked=checked,
                code="loss-nan",
                help="lower the learning rate, scale the inputs (data.scale), or clip gradients "
                "(e.g. Adam(clipnorm=1.0)); the data itself was checked for NaN before training",
            )
        if tracker.interrupted:
            break
    if not trained:  # resumed with every epoch done (killed while saving): the weights only
        _compile(model, stage, checked, strategy)
        if restore is not None:
            _restore(model, restore, options, notes)
    settings = stage.settings
    if val_ds is None and data.validation is not None:  # resumed with every epoch already done
        val_ds = pipeline(
            data.validation, data.signature, data.options, settings.batch_size, training=False
        )
    interrupted = tracker.interrupted
    rundir.atomic_save(run_dir / "model.keras", model.save, suffix=".keras")
    metrics = _final_metrics(model, data, settings, val_ds, tracker.records, interrupted)
    rundir.write_json(run_dir / "metrics.json", metrics)
    rundir.write_history(run_dir, tracker.records)  # a resume with nothing to train, too
    history = rundir.history_table(tracker.records)
    from kspec.run.plot import curves_png

    phases = [(p["first_epoch"] - 1, p["phase"]) for p in log[1:]]
    rundir.atomic_write(run_dir / "curves.png", curves_png(history, phases))
    info = rundir.read_json(run_dir / rundir.RUN_FILE)
    done = len(tracker.records)
    status = "interrupted" if interrupted else "finished"
    info.pop("message", None)
    info.update(
        status=status,
        epochs_done=done,
        seconds=round(time.time() - started, 3),
        epoch_seconds=seconds + tracker.epoch_seconds,
        epoch_cpu_seconds=cpu_seconds + tracker.epoch_cpu_seconds,
    )
    rundir.write_json(run_dir / rundir.RUN_FILE, info)
    if status == "finished":
        shutil.rmtree(run_dir / rundir.BACKUP_DIR, ignore_errors=True)
    return RunResult(model, history, run_dir, metrics, done, interrupted, notes)


def _times_writer(run_dir: Path, tracker: Any, seconds: list[float],
                  cpu_seconds: list[float]) -> Any:  # fmt: skip
    """Records each epoch's wall and CPU time in run.json before its checkpoint is saved, so a
    resumed run's record has every epoch's."""
    import keras

    class Times(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if not tracker.partial_epoch():
                _update_info(run_dir, epoch_seconds=seconds + tracker.epoch_seconds,
                             epoch_cpu_seconds=cpu_seconds + tracker.epoch_cpu_seconds)  # fmt: skip

    return Times()


def _compile(model: Any, stage: Any, checked: Checked, strategy: Any) -> None:
    with strategy.scope():  # a new phase recompiles: the optimizer sees the new trainable set
        try:
            model.compile(
                **compile_args(stage.settings, checked),
                jit_compile=stage.settings.jit_compile,
                steps_per_execution=stage.settings.steps_per_execution,
            )
        except KspecError:
            raise
        except Exception as e:
            raise keras_failure(e, stage.settings, checked, "compiling the model") from None


def _restore(model: Any, path: Path, options: RunOptions, notes: list[str]) -> None:
    try:
        whole = checkpoint.load(model, path)
    except (OSError, ValueError) as e:
        raise fail(
            f"cannot load the checkpoint {path}: {e}",
            Span(0, 0, 0, 0, str(path)),
            code="bad-checkpoint",
            help="remove it and resume again: the run continues from the checkpoint before "
            "it, or from epoch 1",
        ) from None
    if not whole:
        _note(options, notes, "the checkpoint was saved before this phase recompiled: its "
              "weights are loaded, the optimizer starts afresh")  # fmt: skip


def _image_culprit(error: Exception, req: Request) -> str | None:
    """The images() file a decode error inside tf.data came from, which tf.data does not say.

    Every image was decoded before training (validate.py), so this is for a file that changed
    since: the folder is decoded again to find it.
    """
    if "decode" not in str(error).lower() or getattr(req.source, "name", None) != "images":
        return None
    folder = req.path(str(req.args()["path"]))
    bad = undecodable(image_files(folder), image_channels(req)) if folder.is_dir() else None
    return None if bad is None else f"images(): {bad[0]}: {bad[1]}"


def keras_failure(error: Exception, settings: TrainSettings, checked: Checked,
                  doing: str, culprit: str | None = None) -> KspecError:  # fmt: skip
    """A Keras error while compiling or training, as a diagnostic at the spec line it most
    likely comes from: the loss for target/output mismatches, else the train section."""
    text = str(error).strip().splitlines()
    first = next((line for line in text if line.strip()), type(error).__name__)
    lowered = str(error).lower()
    field = "loss"
    if "optimizer" in lowered:
        field = "optimizer"
    elif "metric" in lowered:
        field = "metrics"
    elif culprit is not None or any(w in lowered for w in ("decode", "image", "jpeg", "png")):
        return fail(
            f"reading the data failed while {doing}: {culprit or first}",
            checked.data["source"].span if "source" in checked.data else NO_SPAN,
            checked=checked,
            code="bad-data",
            help="a data file is damaged or not what its name says",
        )
    span = settings.fields[field].span if field in settings.fields else NO_SPAN
    return fail(
        f"Keras failed while {doing}: {type(error).__name__}: {first[:400]}",
        span,
        checked=checked,
        code="keras-error",
        help="the run folder is marked failed; fix the spec and start a new run",
    )


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
