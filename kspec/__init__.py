"""kspec: write a Keras model as a short, checked spec; build, train or generate code from it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kspec.diagnostics import Diagnostic, KspecError

if TYPE_CHECKING:
    from kspec.api import Spec, from_json, from_keras, load, loads

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
_API = frozenset({"Spec", "from_json", "from_keras", "load", "loads"})


def __getattr__(name: str) -> Any:
    """The API on first use: `kspec fmt` and `kspec --help` need none of the catalog it loads."""
    if name in _API:
        from kspec import api

        return getattr(api, name)
    raise AttributeError(f"module 'kspec' has no attribute {name!r}")
