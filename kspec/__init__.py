"""kspec: write a Keras model as a short, checked spec; build, train or generate code from it."""

from __future__ import annotations

from kspec.api import Spec, from_json, from_keras, load, loads
from kspec.diagnostics import Diagnostic, KspecError

__version__ = "0.1.0"
__all__ = [
    "Diagnostic",
    "KspecError",
    "Spec",
    "__version__",
    "from_json",
    "from_keras",
    "load",
    "loads",
]
