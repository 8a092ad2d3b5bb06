"""Run keras.applications' own source files against the shape-only stand-in.

The files are read from the installed Keras package (found without importing it, so
TensorFlow is never loaded) and executed with an import hook that hands them the stand-in's
modules for `keras.src.*`. Only the family a spec uses is read: checking a ConvNeXt spec
reads convnext.py and imagenet_utils.py and nothing else.
"""

from __future__ import annotations

import builtins
import importlib.util
import os
from functools import cache
from types import ModuleType
from typing import Any

from kspec.catalog.applications import standin


class KerasSourceMissing(Exception):
    """Keras is not installed where kspec runs, so its application code cannot be read."""


@cache
def applications_dir() -> str:
    spec = importlib.util.find_spec("keras")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise KerasSourceMissing("Keras is not installed")
    for root in spec.submodule_search_locations:
        path = os.path.join(root, "src", "applications")
        if os.path.isdir(path):
            return path
    raise KerasSourceMissing("the installed Keras has no src/applications folder")


class _Package:
    """`keras.src` and friends: attribute access yields stand-in or traced modules."""

    def __init__(self, dotted: str):
        self.dotted = dotted

    def __getattr__(self, attr: str) -> Any:
        return _resolve(f"{self.dotted}.{attr}")


def _resolve(dotted: str) -> Any:
    if dotted in standin.MODULES:
        return standin.MODULES[dotted]
    if dotted.startswith("keras.src.applications."):
        return module(dotted.rsplit(".", 1)[-1])
    parent, _, attr = dotted.rpartition(".")
    if parent in standin.MODULES:
        try:
            return getattr(standin.MODULES[parent], attr)
        except AttributeError:
            raise standin.StandInError(f"{dotted} is not modelled") from None
    return _Package(dotted)


def _import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: Any = (),
    level: int = 0,
) -> Any:
    if name == "keras" or name.startswith("keras."):
        return _Package(name if fromlist else "keras")
    return builtins.__import__(name, globals, locals, fromlist, level)


_BUILTINS = {**vars(builtins), "__import__": _import}


@cache
def module(name: str) -> ModuleType:
    """keras/src/applications/NAME.py, executed against the stand-in (once per process)."""
    path = os.path.join(applications_dir(), f"{name}.py")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise KerasSourceMissing(f"cannot read {path}: {e.strerror}") from None
    mod = ModuleType(f"kspec_keras_applications.{name}")
    mod.__file__ = path
    mod.__dict__["__builtins__"] = _BUILTINS
    exec(compile(text, path, "exec"), mod.__dict__)
    return mod
