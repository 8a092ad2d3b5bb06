"""The front end under hostile input: every limit of kspec/limits.py stops a spec at the culprit
with a diagnostic, and the reproducers of issue 14 give diagnostics or results, never a traceback.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

import kspec.check.evaluate
import kspec.check.model
from kspec import limits
from kspec.check.graph import Graph
from kspec.check.model import ModelChecker
from kspec.check.spec import check_text
from kspec.cli import EXIT_OK, EXIT_SPEC, main
from kspec.codegen.generate import codegen
from kspec.diagnostics import KspecError
from kspec.report.summary import memory, render_summary
from kspec.syntax.parse import parse


def errors(text: str, *overrides: str) -> list[tuple[str, str, int]]:
    """(code, message, line) of every error of `text`."""
    _, diags = check_text(text, "t.kspec", list(overrides), raise_errors=False)
    return [(d.code, d.message, d.span.line) for d in diags.errors]


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(argv)
    out, err = capsys.readouterr()
    assert "internal error" not in err and "Traceback" not in err, err
    return status, out, err


MODEL = "model m {{\n    input x: {shape}\n{body}\n}}\n"


def model(body: str, shape: str = "(4,)") -> str:
    return MODEL.format(shape=shape, body=body)


# -- empty file ------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["summary", "graph", "ir", "codegen"])
def test_an_empty_file_says_it_defines_no_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    spec = tmp_path / "empty.kspec"
    spec.write_text("")
    argv = [command, str(spec)] + (["-o", str(tmp_path / "g.dot")] if command == "graph" else [])
    status, out, err = cli(argv, capsys)
    if command == "ir":  # the IR of an empty file is an empty list of models
        assert status == EXIT_OK and json.loads(out)["models"] == []
    else:
        assert status == EXIT_SPEC
        assert f"{spec}: error: {spec} defines no model" in err


def test_summary_json_of_an_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "empty.kspec"
    spec.write_text("# nothing yet\n")
    status, out, _ = cli(["summary", str(spec), "--format", "json"], capsys)
    assert status == EXIT_SPEC and json.loads(out)["diagnostics"][0]["code"] == "no-model"


# -- huge numbers ----------------------------------------------------------------------------
def test_huge_embeddings_and_attention_print_their_memory() -> None:
    for body in (
        "    Embedding(10 ** 300, 10 ** 300)",
        "    x -> MultiHeadAttention(10 ** 300, 10 ** 300, value=x)",
    ):
        checked, _ = check_text(model(body, "(10, 16)"), "t.kspec")
        assert checked is not None
        table = render_summary(checked.model())
        total = checked.model().params
        assert total is not None and total.total >= 10**600
        flat = "".join(table.split())  # rich wraps the line at the terminal's width
        assert f"Totalparams:{total.total:,}(" in flat and "TB)" in flat


def test_memory_matches_keras_where_floats_reach_and_is_exact_beyond() -> None:
    # Keras's readable_memory_size, for the sizes a float can hold.
    assert [memory(n) for n in (0, 255, 256, 34_826, 10**9)] == [
        "0.00 B",
        "1020.00 B",
        "1.00 KB",
        "136.04 KB",
        "3.73 GB",
    ]
    big = 1024**4 * 10**400  # params * 4 bytes = 4 * 10 ** 400 TB
    assert memory(big) == f"{4 * 10**400}.00 TB"
    assert memory(10**600).endswith(" TB")


def test_integers_are_bounded_by_digits() -> None:
    assert errors("a = 10 ** 300\n") == []
    assert errors("a = 10 ** 300\nb = a * a\n") == [
        ("out-of-range", f"this number has more than {limits.MAX_DIGITS} digits", 2)
    ]
    assert errors("a = " + "9" * 400 + "\n")[0][1].startswith("this number has more than")
    # A literal past Python's own 4,300-digit conversion limit is a diagnostic, too.
    assert errors("a = " + "9" * 5000 + "\n")[0][:2] == (
        "out-of-range",
        f"this number has more than {limits.MAX_DIGITS} digits",
    )


def test_a_nan_argument_is_refused_and_a_nan_constant_is_generated() -> None:
    nan = "c = 1e400 - 1e400\n"
    assert errors(nan + model("    Dropout(c)"))[0][:2] == (
        "out-of-range",
        "rate must be a number, got nan",
    )
    # Rescaling's scale has no range: the NaN reaches the script, which is valid Python.
    script = codegen(nan + model("    Dense(2)\n    Rescaling(c)"), "t.kspec")
    assert 'layers.Rescaling(float("nan")' in script
    ast.parse(script)


# -- sizes of values ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expr",
    [
        "[1] * 10 ** 10",
        "10 ** 10 * [1]",
        "(1, 2) * 10 ** 9",
        '"ab" * 10 ** 12',
        "[[1] * 1000] * 1000",  # a million items through shared lists
        "range(10 ** 6)",
    ],
)
def test_repetition_is_bounded_by_items_before_it_is_built(expr: str) -> None:
    (found,) = errors(f"a = {expr}\n")
    assert found[0] in ("out-of-range", "bad-argument") and found[2] == 1


def test_doubling_is_stopped_at_the_step_that_passes_the_limit() -> None:
    lines = ['s0 = "abcdefghij" * 10000'] + [f"s{i} = s{i - 1} + s{i - 1}" for i in range(1, 40)]
    found = errors("\n".join(lines) + "\n")
    assert found[0] == ("out-of-range", "this concatenation would hold more than 100,000 items", 2)
    assert all(code == "out-of-range" for code, _, _ in found)


def test_string_formatting_with_percent_is_refused() -> None:
    assert errors('a = "%0999999999d" % 1\n')[0][:2] == (
        "wrong-kind",
        "'%' takes numbers, not strings",
    )


def test_a_str_of_a_huge_value_is_bounded() -> None:
    (found,) = errors("a = [10 ** 300] * 10000\nb = str(a)\n")
    assert found[0] == "out-of-range" and found[2] == 2


# -- work done -------------------------------------------------------------------------------
def _count_statements(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    seen = {"n": 0}
    real = ModelChecker.statement

    def counting(self: ModelChecker, s: Any) -> None:
        seen["n"] += 1
        real(self, s)

    monkeypatch.setattr(ModelChecker, "statement", counting)
    return seen


NESTED = "\n".join(
    [
        "    for i in range(1000) {",
        "        for j in range(1000) {",
        "            for k in range(1000) {",
        "                Dense(4)",
        "            }",
        "        }",
        "    }",
    ]
)


def test_the_layer_limit_stops_the_unrolling_as_soon_as_it_is_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kspec.check.model, "MAX_LAYERS", 50)
    seen = _count_statements(monkeypatch)
    found = errors(model(NESTED))
    assert found == [("too-large", "the model unrolls to more than 50 layers", 6)]
    assert seen["n"] < 60  # 51 Dense statements and the loops around them, not 10 ** 9


def test_loops_that_build_nothing_are_bounded_by_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kspec.check.evaluate, "MAX_WORK", 20_000)  # both ranges fit in it
    seen = _count_statements(monkeypatch)
    body = "    for i in range(100000) {\n        for j in range(100000) {\n            a = i + j\n"
    found = errors(model(body + "        }\n    }\n    Dense(2)"))
    stopped = "checking this spec takes more than 20,000 steps; stopped here"
    assert found == [("too-large", stopped, 5)]
    assert seen["n"] < 20_000


def test_the_budget_is_per_check_not_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kspec.check.evaluate, "MAX_WORK", 1000)
    body = "    for i in range(300) {\n        a = i\n    }\n    Dense(2)"
    for _ in range(5):  # 300 statements each: only a shared budget would run out
        assert errors(model(body)) == []


def test_a_model_nested_a_thousand_deep_is_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = ["model m0 {\n    input x: (4,)\n    Dense(4)\n}\n"]
    parts += [f"model m{i} {{\n    input x: (4,)\n    m{i - 1}\n}}\n" for i in range(1, 1000)]
    spec = tmp_path / "deep.kspec"
    spec.write_text("".join(parts))
    for command in ("check", "summary", "codegen"):
        status, _, err = cli([command, str(spec)], capsys)
        assert status == EXIT_SPEC
        assert f"error: models are nested more than {limits.MAX_NESTING} deep here" in err
    # One level less than the limit is fine, and the code generator copes with it.
    ok = "".join(parts[: limits.MAX_NESTING])
    assert errors(ok) == []
    ast.parse(codegen(ok, "ok.kspec"))


def test_summary_walks_a_long_chain_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 10,000-step chain took 40 s: `is_sequential` (a walk of every call) ran per row."""
    text = model("    x" + " -> Dense(4)" * 2000)
    checked, _ = check_text(text, "chain.kspec")
    assert checked is not None
    calls = {"n": 0}
    real = Graph.is_sequential.fget  # type: ignore[attr-defined]

    def counting(self: Graph) -> bool:
        calls["n"] += 1
        return bool(real(self))

    monkeypatch.setattr(Graph, "is_sequential", property(counting))
    table = render_summary(checked.model())
    assert table.count("(Dense)") == 2000
    assert calls["n"] < 10  # a few times per table, not once per row


# -- characters -------------------------------------------------------------------------------
def test_a_lone_surrogate_escape_is_refused_at_parse() -> None:
    with pytest.raises(KspecError) as info:
        parse(model('    Dense(2, name="a\\ud800")'), "t.kspec")
    (d,) = info.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("bad-escape", 3, 21)
    assert "surrogate" in d.message
    assert errors(model('    Dense(2, name="caf\\u00e9")')) == []  # a real character is fine


def test_a_lone_surrogate_in_text_or_an_override_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A str from Python (kspec.loads) can hold one; so can argv, from bytes that are not UTF-8.
    found = errors(model("    Dense(2)  # \udc80"))
    assert found == [("bad-character", "a lone surrogate U+DC80 is not a character", 3)]
    spec = tmp_path / "m.kspec"
    spec.write_text('name = "a"\n' + model("    Dense(2, name=name)"))
    for command in ("check", "summary", "codegen"):
        status, _, err = cli([command, str(spec), "--set", 'name="\udcff"'], capsys)
        assert status == EXIT_SPEC and "lone surrogate U+DCFF" in err
