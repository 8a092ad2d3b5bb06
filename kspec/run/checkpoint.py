"""The run's checkpoints in `DIR/backup/`: what `--resume` starts from.

A checkpoint is two files, `checkpoint-NNNNNN.weights.h5` (the model's and the optimizer's
variables) and then `checkpoint-NNNNNN.json` (its epoch, size and SHA-256), each written to a
temporary name and renamed; NNNNNN counts the saves, so a new checkpoint never overwrites the
last one (a phase boundary saves twice at one epoch).
The JSON is written last and names the exact bytes of the weights, so a checkpoint is
complete when its JSON exists and the weights match it; the previous checkpoint is removed only
after the next one is complete. A kill at any moment therefore leaves at least the last
complete checkpoint (or none, before the first epoch ends), never a half-written one to load.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kspec.run import rundir

_NAME = re.compile(r"^checkpoint-(\d{6,})\.(json|weights\.h5)$")
# What Keras's own BackupAndRestore leaves (a run folder written by an older kspec).
KERAS_METADATA = "training_metadata.json"


@dataclass(frozen=True)
class Checkpoint:
    epoch: int  # epochs completed when it was saved
    weights: Path


@dataclass(frozen=True)
class Found:
    """The newest complete checkpoint (None when there is none) and what was skipped, and why."""

    latest: Checkpoint | None
    skipped: tuple[str, ...] = ()
    folder_missing: bool = False


def backup_dir(run_dir: Path) -> Path:
    return run_dir / rundir.BACKUP_DIR


def _paths(run_dir: Path, seq: int) -> tuple[Path, Path]:
    folder = backup_dir(run_dir)
    return folder / f"checkpoint-{seq:06d}.weights.h5", folder / f"checkpoint-{seq:06d}.json"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(run_dir: Path, model: Any, epoch: int) -> None:
    """Checkpoint `model` as after `epoch` epochs, then drop the older checkpoints."""
    older = _all(run_dir)
    seq = (older[0] + 1) if older else 1
    weights, meta = _paths(run_dir, seq)
    weights.parent.mkdir(parents=True, exist_ok=True)
    rundir.atomic_save(weights, lambda tmp: model.save_weights(str(tmp)), suffix=".weights.h5")
    rundir.write_json(
        meta,
        {"epoch": epoch, "weights": weights.name, "bytes": weights.stat().st_size,
         "sha256": _digest(weights)},
    )  # fmt: skip
    for old in older:
        for path in _paths(run_dir, old):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    with contextlib.suppress(FileNotFoundError):  # superseded once kspec's own exists
        (backup_dir(run_dir) / KERAS_METADATA).unlink()


def _all(run_dir: Path) -> list[int]:
    """The save numbers of the checkpoint files in backup/, newest first."""
    try:
        names = [p.name for p in backup_dir(run_dir).iterdir()]
    except OSError:
        return []
    return sorted({int(m.group(1)) for n in names if (m := _NAME.match(n))}, reverse=True)


def find(run_dir: Path) -> Found:
    """The newest checkpoint whose JSON is well formed and whose weights match it."""
    if not backup_dir(run_dir).is_dir():
        return Found(None, folder_missing=True)
    skipped: list[str] = []
    for seq in _all(run_dir):
        weights, meta = _paths(run_dir, seq)
        epoch, problem = _check(weights, meta)
        if epoch is not None:
            return Found(Checkpoint(epoch, weights), tuple(skipped))
        skipped.append(problem)
    return Found(None, tuple(skipped))


def _check(weights: Path, meta: Path) -> tuple[int | None, str]:
    rel = f"{rundir.BACKUP_DIR}/{meta.name}"
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{rundir.BACKUP_DIR}/{weights.name} has no {meta.name} (never finished)"
    except (OSError, ValueError) as e:
        return None, f"{rel} is not JSON ({type(e).__name__})"
    epoch = info.get("epoch") if isinstance(info, dict) else None
    if (
        not isinstance(epoch, int)
        or isinstance(epoch, bool)
        or epoch < 0
        or not isinstance(info.get("sha256"), str)
    ):
        return None, f"{rel} is not a checkpoint record (epoch, bytes, sha256)"
    try:
        size = weights.stat().st_size
    except OSError:
        return None, f"{rundir.BACKUP_DIR}/{weights.name} is missing"
    if size != info.get("bytes") or _digest(weights) != info["sha256"]:
        return None, (
            f"{rundir.BACKUP_DIR}/{weights.name} is truncated or changed "
            f"({size} bytes, {info.get('bytes')} recorded)"
        )
    return epoch, ""


def keras_backup_epoch(run_dir: Path) -> int | None:
    """The epoch Keras's BackupAndRestore recorded (a user's own, or an older kspec's)."""
    try:
        value = rundir.read_json(backup_dir(run_dir) / KERAS_METADATA)["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def load(model: Any, path: Path) -> bool:
    """Load a verified checkpoint (or a finished run's model.keras) into a compiled model.

    False when only the model's weights fit: saved before a phase recompiled with another
    trainable set, so that phase's optimizer starts afresh, as it would have.
    """
    import warnings

    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(str(path))
    except ValueError as e:
        if "could not be loaded" not in str(e) and "mismatch" not in str(e).lower():
            raise
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_weights(str(path), skip_mismatch=True)
        return False
    return True


def callback(run_dir: Path, skip: Any) -> Any:
    """A Keras callback that checkpoints after every epoch, unless `skip()` (a half epoch)."""
    import keras

    class Saver(keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if not skip():
                save(run_dir, self.model, epoch + 1)

    return Saver()
