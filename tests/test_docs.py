"""Generated docs stay in step with the declarations they are generated from."""

from __future__ import annotations

import pytest
from conftest import ROOT

from kspec.catalog import CATALOG
from kspec.report.reference import render


def test_layers_md_is_current() -> None:
    assert (ROOT / "docs" / "layers.md").read_text(encoding="utf-8") == render(), (
        "docs/layers.md is stale: run `python -m kspec.report.reference > docs/layers.md`"
    )


def test_every_layer_is_documented_with_examples() -> None:
    text = render()
    for name, cls in CATALOG.items():
        assert f"### {name}\n" in text
        assert cls.examples, f"{name} has no examples"


def _kspec_blocks() -> list[tuple[str, int, str]]:
    """Every ```kspec block of the README and docs/, with where it starts."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        start = None
        for i, line in enumerate(lines):
            if line.strip() == "```kspec":
                start = i + 1
            elif line.strip() == "```" and start is not None:
                found.append((path.name, start + 1, "\n".join(lines[start:i]) + "\n"))
                start = None
    return found


@pytest.mark.parametrize(
    "name, line, text", _kspec_blocks(), ids=[f"{n}:{ln}" for n, ln, _ in _kspec_blocks()]
)
def test_every_kspec_example_in_the_docs_checks(name: str, line: int, text: str) -> None:
    """A documented example is a whole file or a whole model/block: it must check clean."""
    from kspec.check.spec import check_text

    checked, diags = check_text(text, f"{name}:{line}", raise_errors=False)
    assert not diags.errors, "\n".join(d.message for d in diags.errors)
    assert checked is not None


def test_the_docs_find_some_kspec_examples() -> None:
    assert len(_kspec_blocks()) >= 4
