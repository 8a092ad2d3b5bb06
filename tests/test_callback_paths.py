"""Every relative path a callback writes lands in the run folder, however it is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from kspec.catalog import KerasObject
from kspec.catalog.names import CALLBACK_PATHS

pytestmark = pytest.mark.keras

ATTRIBUTE = {"ModelCheckpoint": "filepath", "CSVLogger": "filename", "TensorBoard": "log_dir",
             "BackupAndRestore": "backup_dir"}  # fmt: skip
FILE = {"ModelCheckpoint": "best.keras", "CSVLogger": "log.csv", "TensorBoard": "tb",
        "BackupAndRestore": "backup"}  # fmt: skip


def written(callback: KerasObject, run_dir: Path) -> Path:
    from kspec.run.callbacks import user_callback

    return Path(getattr(user_callback(callback, run_dir), ATTRIBUTE[callback.name]))


def test_every_writing_callback_is_declared() -> None:
    assert set(CALLBACK_PATHS) == set(ATTRIBUTE)


@pytest.mark.parametrize("name", sorted(ATTRIBUTE))
@pytest.mark.parametrize("form", ["positional", "keyword"])
def test_relative_paths_land_in_the_run_folder(name: str, form: str, tmp_path: Path) -> None:
    arg = CALLBACK_PATHS[name][1]
    callback = (
        KerasObject(name, (FILE[name],))
        if form == "positional"
        else KerasObject(name, (), ((arg, FILE[name]),))
    )
    assert written(callback, tmp_path) == tmp_path / FILE[name]


def test_a_default_relative_path_lands_in_the_run_folder(tmp_path: Path) -> None:
    assert written(KerasObject("TensorBoard"), tmp_path) == tmp_path / "logs"


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "log.csv"
    assert written(KerasObject("CSVLogger", (str(target),)), tmp_path / "run") == target
