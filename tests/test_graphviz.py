"""kspec graph: DOT with a shape on every edge and a parameter count on every layer."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import kspec
from kspec.cli import main
from kspec.report.graphviz import quote, to_dot
from tests.conftest import EXAMPLES

EDGE = re.compile(r'^    "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)" \[label="([^"]*)"\];$')
HAS_DOT = shutil.which("dot") is not None


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.kspec")), ids=lambda p: p.stem)
def test_every_edge_has_its_shape_and_every_layer_its_count(path: Path) -> None:
    graph = kspec.load(path).graph()
    dot = to_dot(graph)
    edges = [EDGE.match(line) for line in dot.splitlines() if " -> " in line]
    assert all(edges)
    expected = [(t.layer.name, c.layer.name) for c in graph.calls for t in c.input_list()]
    expected += [(t.layer.name, f"output {i}") for i, t in enumerate(graph.outputs)]
    assert [(m.group(1), m.group(2)) for m in edges if m] == expected
    shapes = {t.ref(): t for c in graph.calls for t in c.outputs}
    for m in edges:
        assert m is not None and m.group(3).startswith("(None")  # Keras's notation, batch first
    for layer in graph.layers:
        if not layer.is_input:
            assert layer.params is not None
            assert f"{layer.params.total:,} param" in dot
    assert shapes  # every tensor shape is known statically in the examples


def test_names_are_quoted_for_dot() -> None:
    assert quote('a "b"\\c\nd') == '"a \\"b\\"\\\\c\\nd"'


def test_dot_output_needs_no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = tmp_path / "model.dot"
    assert main(["graph", str(EXAMPLES / "unet.kspec"), "-o", str(out)]) == 0
    assert out.read_text().startswith('digraph "unet" {')


def test_svg_without_graphviz_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["graph", str(EXAMPLES / "mnist.kspec"), "-o", str(tmp_path / "m.svg")]) == 1
    err = capsys.readouterr().err
    assert "needs Graphviz's `dot` program" in err and "apt-get install graphviz" in err
    assert not (tmp_path / "m.svg").exists()


def test_unknown_extensions_and_models_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", str(EXAMPLES / "mnist.kspec"), "-o", str(tmp_path / "m.txt")]) == 1
    assert "name it .svg, .png or .dot" in capsys.readouterr().err
    out = str(tmp_path / "m.dot")
    assert main(["graph", str(EXAMPLES / "autoencoder.kspec"), "-o", out, "--model", "nope"]) == 2
    assert (
        main(["graph", str(EXAMPLES / "autoencoder.kspec"), "-o", out, "--model", "encoder"]) == 0
    )
    assert 'digraph "encoder"' in Path(out).read_text()


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_graphviz_renders(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"model.{suffix}"
    assert main(["graph", str(EXAMPLES / "two_inputs.kspec"), "-o", str(out)]) == 0
    data = out.read_bytes()
    if suffix == "svg":
        text = data.decode()
        assert "<svg" in text and "(None, 64, 64, 3)" in text and "4,640 params" in text
    else:
        assert data.startswith(b"\x89PNG")


@pytest.mark.keras
def test_edge_shapes_are_the_shapes_keras_builds() -> None:
    spec = kspec.load(EXAMPLES / "two_inputs.kspec")
    model = spec.build()
    dot = to_dot(spec.graph())
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        shape = "(" + ", ".join(str(d) for d in layer.output.shape) + ")"
        if len(layer.output.shape) == 1:
            shape = shape[:-1] + ",)"
        assert f'"{layer.name}" -> ' in dot
        assert any(
            f'"{layer.name}" -> ' in line and f'label="{shape}"' in line
            for line in dot.splitlines()
        ), layer.name
