"""`kspec summary`: the table Keras's model.summary() prints, at the terminal's width.

Golden files hold the exact text at a fixed COLUMNS; the differential test builds each model in
Keras and compares with Keras's own print_summary at the same line length.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLE_OFFLINE, EXAMPLES, GOLDEN, ROOT

import kspec
from kspec.cli import main

SUMMARY = GOLDEN / "summary"
SPECS = sorted(EXAMPLES.glob("*.kspec")) + sorted(SUMMARY.glob("*.kspec"))
# (golden name, spec, extra arguments, terminal columns)
CASES = [(p.stem, p, [], 120) for p in SPECS] + [
    ("shared-trainable", SUMMARY / "shared.kspec", ["--trainable"], 140),
    ("mnist-narrow", EXAMPLES / "mnist.kspec", [], 60),
    ("two_inputs-narrow", EXAMPLES / "two_inputs.kspec", ["--trainable"], 72),
]


def summary(
    argv: list[str], columns: int, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch
) -> str:
    mp.setenv("COLUMNS", str(columns))
    mp.chdir(ROOT)
    assert main(["summary", *argv]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("name", "spec", "extra", "columns"), CASES, ids=[c[0] for c in CASES])
def test_summary_golden(
    name: str,
    spec: Path,
    extra: list[str],
    columns: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    update_golden: bool,
) -> None:
    args = [spec.relative_to(ROOT).as_posix(), *extra]
    got = f"$ COLUMNS={columns} kspec summary {' '.join(args)}\n" + summary(
        args, columns, capsys, monkeypatch
    )
    expected = SUMMARY / f"{name}.txt"
    if update_golden:
        expected.write_text(got, encoding="utf-8")
    assert got == expected.read_text(encoding="utf-8")
    assert max(len(line) for line in got.splitlines()[1:]) <= columns  # fits the terminal


def test_a_shared_layer_shows_every_connection(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = summary([str(SUMMARY / "shared.kspec"), "--format", "json"], 200, capsys, monkeypatch)
    (model,) = json.loads(out)
    enc = next(r for r in model["layers"] if r["name"] == "enc")
    assert enc["connected_to"] == ["a[0][0]", "b[0][0]"]


def test_json_is_a_list_of_models_with_shapes_as_lists(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for spec, count in [("mnist", 1), ("autoencoder", 3)]:
        out = summary(
            [str(EXAMPLES / f"{spec}.kspec"), "--format", "json"], 200, capsys, monkeypatch
        )
        models = json.loads(out)
        assert isinstance(models, list) and len(models) == count
    (mnist,) = json.loads(
        summary([str(EXAMPLES / "mnist.kspec"), "--format", "json"], 200, capsys, monkeypatch)
    )
    assert mnist["layers"][0]["output_shapes"] == [[None, 26, 26, 32]]
    lstm = json.loads(
        summary([str(EXAMPLES / "text_bilstm.kspec"), "--format", "json"], 200, capsys, monkeypatch)
    )[0]
    assert all(isinstance(s, list) for r in lstm["layers"] for s in r["output_shapes"])


def test_help_says_which_models_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["summary", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "train.model" not in out
    assert "every model of the file" in out and "--trainable" in out


def keras_summary(model: object, length: int, trainable: bool) -> str:
    lines: list[str] = []
    model.summary(  # type: ignore[attr-defined]
        line_length=length, show_trainable=trainable, print_fn=lambda s, **_: lines.append(s)
    )
    return "".join(lines).rstrip("\n")


@pytest.mark.keras
@pytest.mark.parametrize("trainable", [False, True])
def test_the_shared_model_prints_as_keras_prints_it(
    trainable: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    spec = kspec.load(SUMMARY / "shared.kspec")
    from kspec.report.summary import line_length, render_summary

    graph = spec.graph()
    length = line_length(graph, trainable)
    assert render_summary(graph, width=length, trainable=trainable) == keras_summary(
        spec.build(), length, trainable
    )


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.kspec")), ids=lambda p: p.stem)
def test_every_example_prints_as_keras_prints_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    spec = kspec.load(path).with_overrides(EXAMPLE_OFFLINE.get(path.stem, {}))
    from kspec.report.summary import line_length, render_summary

    graph = spec.graph()
    for width in (line_length(graph, True), 70):
        mine = render_summary(graph, width=width, trainable=True)
        assert mine == keras_summary(spec.build(), width, True)
