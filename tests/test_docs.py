"""Generated docs stay in step with the declarations they are generated from."""

from __future__ import annotations

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
