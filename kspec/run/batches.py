"""`feed = batches`: the generated script's own Batches class, run as kspec run's feed.

The class is written once, in templates/_batches.py.j2 (plain Python, no template variables):
the script includes that text, and kspec run executes the same text, so both draw the same
batches in the same order for one seed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from kspec.resources import resource_dir


@cache
def batches_class() -> Any:
    import keras
    import numpy as np

    path = resource_dir("templates") / "_batches.py.j2"
    namespace: dict[str, Any] = {"keras": keras, "np": np}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace["Batches"]
