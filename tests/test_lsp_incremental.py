"""What the language server computes after a sequence of edits, reusing its previous analysis
(the edited statement reparsed, unchanged statements neither reparsed nor re-indexed, memoized
suggestions), equals a fresh analysis of the same text: diagnostics with their LSP ranges, the
index of names, and every model's layers, shapes and parameter counts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kspec.check.graph import Checked
from kspec.lsp.document import Analysis, analyze, lsp_diagnostics

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_RUN = int(os.environ.get("KSPEC_LSP_EDIT_TRIALS", "60"))  # more: a longer search
EXAMPLES = [p.read_text() for p in sorted(ROOT.glob("examples/*.kspec"))]

# A statement of a generated model body, from the names bound before it (`t0`, `t1`, ...).
UNITS = st.sampled_from(
    [
        "t{n} = Dense({w}, activation=relu)",
        "t{n} = t{p} -> Dropout(0.1) -> LayerNormalization()",
        "t{n} = [t{p}, t{q}] -> Add()",
        "t{n} = t{p} -> Dense({w})",
        "layer s{n} = Dense({w})",
        "t{n} = t{p} -> s{q}",
        "for i in range(2) {{\n        t{n}_{{i}} = t{p} -> Dense({w})\n    }}",
        "t{n} = t{p} -> unit({w})",
    ]
)


@st.composite
def generated(draw: Any) -> str:
    """A model of a few to a few dozen statements (some of them wrong, as while typing)."""
    body = ["    input t0: (8,)"]
    for n in range(1, draw(st.integers(1, 30))):
        unit = draw(UNITS)
        p, q = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        body.append("    " + unit.format(n=n, p=p, q=q, w=draw(st.sampled_from([8, 16]))))
    block = "block unit(w) {\n    input x\n    y = x -> Dense(w)\n    output [x, y] -> Add()\n}\n"
    return block + "\nmodel m {\n" + "\n".join(body) + "\n}\n"


EDITS = st.sampled_from(
    [
        ("Dense", "Dnse"),
        ("Dense", "Conv2D"),
        ("8", "16"),
        ("16", "8"),
        ("(", ""),
        ("relu", "rleu"),
        ("t1", "t9"),
        ("->", "-> Dense(4) ->"),
        ("= ", "= t0 -> "),
        ("0.1", "1.5"),
        ("", "  # a comment"),
        ("", "\n    Dense(3)"),  # a new line: every span after it moves
        (None, ""),  # the line removed
        ("Add", "Concatenate"),
        ("x", "z"),
    ]
)


def shapes(checked: Checked | None) -> Any:
    """Every model's layers as the editor shows them: name, span, output shapes, parameters."""
    if checked is None:
        return None
    return {
        name: (
            g.complete,
            g.params,
            [
                (
                    layer.name,
                    layer.span,
                    layer.weights,
                    layer.trainable,
                    [[t.shape for t in c.outputs] for c in layer.calls],
                )
                for layer in g.layers
            ],
            [(b.name, b.span, b.path) for b in g.bindings],
        )
        for name, g in checked.models.items()
    }


def observed(a: Analysis) -> Any:
    index = a.index
    return (
        a.diagnostics,
        lsp_diagnostics(a),
        a.internal_error,
        None if index is None else (index.defs, index.refs, [i for i, _ in index.imports]),
        shapes(a.checked),
    )


@settings(max_examples=EXAMPLES_RUN, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.one_of(st.sampled_from(EXAMPLES), generated()),
    edits=st.lists(st.tuples(st.integers(0, 10_000), EDITS), min_size=1, max_size=6),
)
def test_incremental_analysis_equals_a_fresh_one(
    base: str, edits: list[tuple[int, tuple[str | None, str]]]
) -> None:
    path = "/tmp/kspec-incremental/f.kspec"
    good = analyze(base, path)
    text = base
    for where, (old, new) in edits:
        lines = text.split("\n")
        n = where * (len(lines) - 1) // 10_000
        if old is None:
            del lines[n]
        else:
            lines[n] = lines[n].replace(old, new, 1) if old else lines[n] + new
        text = "\n".join(lines)
        after = analyze(text, path, previous=good if good.index is not None else None)
        assert observed(after) == observed(analyze(text, path))
        if after.index is not None:  # what the server keeps: the last analysis that parsed
            good = after


def test_the_everyday_edit_reuses_the_index() -> None:
    """An edit inside one statement walks only that statement again (the memo is used)."""
    text = EXAMPLES[0]
    first = analyze(text, "f.kspec")
    assert first.index is not None
    line = next(i for i, s in enumerate(text.split("\n")) if "Dense(" in s)
    lines = text.split("\n")
    lines[line] = lines[line].replace("Dense(", "Dnse(", 1)
    after = analyze("\n".join(lines), "f.kspec", previous=first)
    assert after.index is not None
    old = {id(m.stmt) for m in first.index.memo.values()}
    new = {id(m.stmt) for m in after.index.memo.values()}
    assert len(new - old) == 1  # the reparsed statement; every other one is the same object
    assert observed(after) == observed(analyze("\n".join(lines), "f.kspec"))


def test_remembered_layer_specs_are_those_a_fresh_check_makes() -> None:
    """Specs made once are reused by later checks (kspec/check/evaluate.py's _CREATED), keyed
    by typed values: 1, 1.0 and true, or 0.0 and -0.0, never stand for one another."""
    from kspec.check import evaluate

    variants = [
        "Dense(4, use_bias=true) -> Dropout(0.0)",
        "Dense(4, use_bias=1) -> Dropout(-0.0)",
        "Dense(4.0) -> Dropout(0)",
        "Dense(4, activation=relu) -> Dropout(0.5)",
        "Conv1D(2, (3,)) -> Dropout(0.5)",
        "Conv1D(2, 3) -> Dropout(0.5)",
    ]
    texts = [f"model m {{\n    input x: (8, 3)\n    {v}\n}}\n" for v in variants] + EXAMPLES

    def seen(text: str) -> Any:
        a = analyze(text, "f.kspec")
        layers = [g.layers for g in a.checked.models.values()] if a.checked else []
        return observed(a), [[repr(layer.spec) for layer in ls] for ls in layers]

    warm = [seen(t) for t in texts]
    for text, expected in zip(texts, warm, strict=True):
        evaluate._CREATED.clear()
        assert seen(text) == expected
