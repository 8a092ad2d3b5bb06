"""Find files that ship with kspec (grammar, templates) whether installed or run from a checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_dir(name: str) -> Path:
    """`grammars` or `templates`: the installed package data, else the checkout's folder."""
    try:
        found = Path(str(resources.files(f"kspec.{name}")))
        if found.is_dir() and any(found.iterdir()):
            return found
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parent.parent / name
