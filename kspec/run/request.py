"""What a data loader is asked for (Request) and what it returns (Loaded, Part).

sources.py (Keras datasets, digits, synthetic) and files.py (idx, npz, csv, folders) both build on
these types; data.py fits the result to the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kspec.catalog import KerasObject
from kspec.check.settings import Signature
from kspec.codes import Code
from kspec.diagnostics import Diagnostic, KspecError
from kspec.source import Source, Span


@dataclass
class Part:
    """One split of the examples: arrays by name in memory, or an unbatched tf.data.Dataset.

    A loader that yields one unnamed array uses the key "" for it; data.py names it.
    """

    x: dict[str, np.ndarray] = field(default_factory=dict)
    y: dict[str, np.ndarray] = field(default_factory=dict)
    dataset: Any = None  # tf.data.Dataset of (x, y) pairs, for sources read from directories
    count: int | None = None

    def split(self, fraction: float) -> tuple[Part, Part]:
        """The first (1 - fraction) and the last `fraction` of the examples, as Keras splits."""
        n = self.count or 0
        cut = int(n * (1.0 - fraction))  # as fit(validation_split=...) rounds
        head = Part(
            {k: v[:cut] for k, v in self.x.items()},
            {k: v[:cut] for k, v in self.y.items()},
            count=cut,
        )
        tail = Part(
            {k: v[cut:] for k, v in self.x.items()},
            {k: v[cut:] for k, v in self.y.items()},
            count=n - cut,
        )
        return head, tail


@dataclass
class Loaded:
    train: Part
    test: Part | None = None  # the source's own held-out set
    validation: Part | None = None  # set by loaders that split themselves (directories)


@dataclass(frozen=True)
class Request:
    """What a loader needs: the source, where it was written, and the model it feeds."""

    source: Any  # a Keras dataset name or a KerasObject loader call
    span: Span
    sources: dict[str, Source]
    base: Path  # relative paths resolve against this
    signature: Signature
    validation_split: float = 0.0
    seed: int = 0

    def fail(self, message: str, help: str | None = None, code: Code = "data-error") -> KspecError:
        return KspecError([Diagnostic(code, message, self.span, help)], self.sources)

    def path(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else self.base / p

    def args(self) -> dict[str, Any]:
        return self.source.kwargs_dict() if isinstance(self.source, KerasObject) else {}
