"""Find files that ship with kspec (grammar, templates) whether installed or run from a checkout."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path


def resource_dir(name: str) -> Path:
    """`grammars` or `templates`: the installed package data, else the checkout's folder."""
    # kspec.grammars and kspec.templates are namespace packages (no __init__.py): their folder is
    # a search location, which importlib.resources.files() would wrap in a MultiplexedPath.
    spec = find_spec(f"kspec.{name}")
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        found = Path(location)
        if found.is_dir() and any(found.iterdir()):
            return found
    return Path(__file__).resolve().parent.parent / name
