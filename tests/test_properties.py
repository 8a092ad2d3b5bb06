"""Properties over generated input: no text escapes as anything but a checked spec or a
KspecError; the checker agrees with the catalog on chains built from its examples; printing a
parsed spec and parsing it again gives the same IR.

Hostile specs (nesting past the limits, huge numbers and loops, special characters) must give
a KspecError or a result whose summary prints and whose text formats, and must finish.

Profiles (tests/conftest.py): `ci` is derandomized; HYPOTHESIS_PROFILE=fuzz runs 5,000 examples.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from conftest import EXAMPLES, GOLDEN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kspec.check.evaluate
import kspec.check.model
from kspec.catalog import CATALOG, KerasObject, LayerSpec, Params
from kspec.check.spec import check_text
from kspec.diagnostics import KspecError
from kspec.report.summary import render_summary
from kspec.syntax import ir
from kspec.syntax.fmt import format_text
from kspec.syntax.parse import parse
from kspec.syntax.printer import print_spec

SEEDS = sorted(EXAMPLES.glob("*.kspec")) + sorted((GOLDEN / "errors").glob("*.kspec"))
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in SEEDS]
# What the lexer knows, plus names the checker gives meaning to: soups of these reach far
# deeper than random characters.
TOKENS = [
    "model",
    "block",
    "input",
    "output",
    "layer",
    "for",
    "in",
    "if",
    "else",
    "import",
    "use",
    "as",
    "data",
    "train",
    "true",
    "false",
    "none",
    "and",
    "or",
    "not",
    "->",
    "=",
    "==",
    "!=",
    "<",
    ">=",
    ",",
    ":",
    ".",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "0",
    "1",
    "3",
    "-1",
    "28",
    "1e-3",
    ".5",
    '"s"',
    '"a\\n"',
    "\n",
    "  ",
    "# note\n",
    "x",
    "y",
    "m",
    "Dense",
    "Conv2D",
    "LSTM",
    "Add",
    "Concatenate",
    "Flatten",
    "Reshape",
    "Bidirectional",
    "relu",
    "softmax",
    "same",
    "range",
    "len",
    "shape",
    "units",
    "filters",
    "source",
    "mnist",
    "loss",
    "epochs",
    "Adam",
    "residual",
    "x.shape[-1]",
    "return_state",
]


def outcome(text: str) -> str:
    """Check `text`; only a result or a KspecError (which must render) may come out."""
    try:
        check_text(text, "fuzz.kspec")
    except KspecError as e:
        assert e.diagnostics, "a KspecError always carries a diagnostic"
        assert e.render()
        for d in e.diagnostics:
            assert d.message and d.code and d.span.line >= 0
        return "error"
    return "checked"


# -- any text --------------------------------------------------------------------------------
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    outcome(text)


@given(st.lists(st.sampled_from(TOKENS), max_size=60), st.sampled_from([" ", "", "\n"]))
def test_token_soup(tokens: list[str], sep: str) -> None:
    outcome(sep.join(tokens))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """An example or corpus spec with a few edits: what a user's half-typed file looks like."""
    text = draw(st.sampled_from(SEED_TEXTS))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        edit = draw(st.sampled_from(["delete", "duplicate", "insert", "replace", "lines"]))
        if edit == "delete":
            text = text[:i] + text[j:]
        elif edit == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif edit == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif edit == "replace":
            text = (
                text[:i] + draw(st.sampled_from(["0", "-1", "10**9", "1.5", "none", ""])) + text[j:]
            )
        else:
            lines = text.split("\n")
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


@given(mutated())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_mutated_specs(text: str) -> None:
    outcome(text)


def test_the_seed_examples_check_and_the_corpus_fails() -> None:
    """The seeds are meaningful: examples are clean, corpus specs are broken."""
    results: dict[str, set[str]] = {"examples": set(), "errors": set()}
    for path, text in zip(SEEDS, SEED_TEXTS, strict=True):
        if not path.with_suffix(".args").exists():  # those fail only with their arguments
            results[path.parent.name].add(outcome(text))
    assert results == {"examples": {"checked"}, "errors": {"error"}}


# -- print -> parse --------------------------------------------------------------------------
def parses(text: str) -> ir.Spec | None:
    try:
        return parse(text, "fuzz.kspec")
    except KspecError:
        return None


def test_print_then_parse_on_every_seed() -> None:
    for text in SEED_TEXTS:
        spec = parses(text)
        if spec is not None:
            assert parse(print_spec(spec)) == spec


@given(mutated())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_print_then_parse_on_mutated_specs(text: str) -> None:
    spec = parses(text)
    if spec is not None:
        printed = print_spec(spec)
        assert parse(printed) == spec
        assert print_spec(parse(printed)) == printed


# -- the checker agrees with the catalog -----------------------------------------------------
def spec_literal(value: Any) -> str:
    """A catalog value written in spec syntax (strings quoted, so no name can capture them)."""
    if value is None or isinstance(value, bool):
        return {None: "none", True: "true", False: "false"}[value]
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        inner = ", ".join(spec_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(spec_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{spec_literal(k)}: {spec_literal(v)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, LayerSpec):
        return call(value.layer_name(), value.keras_kwargs())
    if isinstance(value, KerasObject):
        args = [spec_literal(a) for a in value.args]
        return f"{value.name}({', '.join([*args, *kwargs_text(dict(value.kwargs))])})"
    raise TypeError(f"no spec spelling for {value!r}")


def kwargs_text(kwargs: dict[str, Any]) -> list[str]:
    return [f"{k}={spec_literal(v)}" for k, v in kwargs.items()]


def call(name: str, kwargs: dict[str, Any]) -> str:
    return f"{name}({', '.join(kwargs_text(kwargs))})"


def one_tensor_layers() -> list[tuple[LayerSpec, tuple[Any, ...]]]:
    """Example layers called on one number tensor, with their example input (list inputs need a
    graph; string layers a string input; a cell is an argument of RNN, not a step)."""
    out = []
    for _, cls in sorted(CATALOG.items()):
        if cls.is_step and not (cls.takes_list or cls.call_inputs):
            out += [(cls.create((), p), s) for p, s in cls.examples if isinstance(s, tuple) and s]
    return [(spec, s) for spec, s in out if numeric(spec)]


def numeric(spec: LayerSpec) -> bool:
    return "float32" in spec.input_dtypes() and spec.output_dtype("float32") != "string"


LAYERS = one_tensor_layers()


def step(spec: LayerSpec, shape: Any) -> tuple[LayerSpec, Any, Params] | None:
    """What the catalog alone says `spec` does to `shape`, or None if it refuses that input."""
    try:
        return spec, spec.compute_output_shape(shape), spec.count_params(shape)
    except Exception:
        return None


@st.composite
def chains(draw: st.DrawFn) -> tuple[tuple[Any, ...], list[tuple[LayerSpec, Any, Params]]]:
    """An input shape and a chain of catalog examples, each accepting what the one before gives."""
    first, shape = draw(st.sampled_from(LAYERS))
    steps = [step(first, shape)]
    for _ in range(draw(st.integers(0, 5))):
        current = steps[-1][1]  # type: ignore[index]
        if not isinstance(current, tuple):
            break  # several outputs: the chain ends here
        fitting = [s for s in (step(spec, current) for spec, _ in LAYERS) if s is not None]
        if not fitting:
            break
        steps.append(draw(st.sampled_from(fitting)))
    return shape, steps  # type: ignore[return-value]


@given(chains())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_checker_agrees_with_the_catalog(chain: tuple[Any, list[Any]]) -> None:
    shape, steps = chain
    body = "\n".join(f"    {call(spec.layer_name(), spec.keras_kwargs())}" for spec, _, _ in steps)
    text = f"model m {{\n    input x: {spec_literal(shape)}\n{body}\n}}\n"
    checked, _ = check_text(text, "chain.kspec")
    assert checked is not None
    layers = checked.model().layers[1:]
    assert [type(layer.spec) for layer in layers] == [type(spec) for spec, _, _ in steps]
    for layer, (spec, out, params) in zip(layers, steps, strict=True):
        (call_,) = layer.calls
        got = [t.shape for t in call_.outputs]
        assert got == (out if isinstance(out, list) else [out]), text
        assert layer.params == params, text
        assert layer.spec == spec


# -- hostile specs: nesting, huge numbers and loops, special characters ------------------------
# The limits are made small for these, so that an example reaches them in milliseconds; the real
# numbers are tested once each in tests/test_limits.py.
@contextlib.contextmanager
def small_limits() -> Iterator[None]:
    saved = kspec.check.model.MAX_LAYERS, kspec.check.evaluate.MAX_WORK
    kspec.check.model.MAX_LAYERS, kspec.check.evaluate.MAX_WORK = 300, 20_000
    try:
        yield
    finally:
        kspec.check.model.MAX_LAYERS, kspec.check.evaluate.MAX_WORK = saved


HUGE_INTS = st.one_of(
    st.integers(-3, 3).map(str),
    st.integers(0, 400).map(lambda k: f"10 ** {k}"),
    st.integers(290, 320).map(lambda n: "9" * n),
    st.sampled_from(["2 ** 10 ** 9", "10 ** 300 * 10 ** 300", "-(10 ** 300)", "1_000_000"]),
)
FLOATS = st.sampled_from(["1e400", "-1e400", "(1e400 - 1e400)", "1e-400", "0.5", "1e308 * 10"])
SPECIAL = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters='"\\\n'), max_size=8),
    st.sampled_from(["\\ud800", "\\udfff", "\\u0000", "\\x00", "\\u202e", "\\uffff", "é", "\t"]),
    st.characters(categories=["Cs"]),  # a raw lone surrogate, as kspec.loads may be given
)


def values(depth: int = 3) -> st.SearchStrategy[str]:
    """Constant expressions that grow: repetitions, concatenations, powers, ranges, nesting."""
    leaf = st.one_of(HUGE_INTS, FLOATS, SPECIAL.map(lambda s: f'"{s}"'), st.just("c"))
    if depth == 0:
        return leaf
    inner = values(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "**"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(inner, HUGE_INTS).map(lambda t: f"[{t[0]}] * {t[1]}"),
        st.tuples(HUGE_INTS, inner).map(lambda t: f"{t[0]} * ({t[1]},)"),
        HUGE_INTS.map(lambda n: f"range({n})"),
        st.lists(inner, max_size=4).map(lambda xs: "[" + ", ".join(xs) + "]"),
        inner.map(lambda x: f"str({x})"),
        inner.map(lambda x: f"len({x})"),
        inner.map(lambda x: f"sum({x})"),
    )


@st.composite
def loops(draw: st.DrawFn, depth: int = 0) -> str:
    """Nested for loops over ranges of any size around a step, a constant or an if."""
    pad = "    " * (depth + 1)
    if depth >= 4 or draw(st.booleans()):
        step = draw(
            st.sampled_from(
                [
                    "Dense(4)",
                    "Dense(units=c)",
                    "a = c",
                    "Dropout(c)",
                    "Dense(4, name=n)",
                    "if c > 1 { Dense(4) }",
                    "Embedding(c, c)",
                ]
            )
        )
        return pad + step
    n = draw(st.one_of(st.integers(0, 2000).map(str), HUGE_INTS))
    return f"{pad}for i{depth} in range({n}) {{\n{draw(loops(depth + 1))}\n{pad}}}"


@st.composite
def hostile_specs(draw: st.DrawFn) -> str:
    parts = [f"c = {draw(values())}", f'n = "{draw(SPECIAL)}"']
    brackets = draw(st.integers(0, 200))  # MAX_DEPTH is 150
    if brackets:
        parts.append("b = " + "(" * brackets + "1" + ")" * brackets)
    models = draw(st.integers(1, 110))  # MAX_NESTING is 100
    parts.append("model m0 {\n    input x: (4,)\n" + draw(loops()) + "\n    Dense(4)\n}")
    parts += [f"model m{i} {{\n    input x: (4,)\n    m{i - 1}\n}}" for i in range(1, models)]
    return "\n".join(parts) + "\n"


def hostile_outcome(text: str) -> str:
    """`outcome`, and for a spec that checks, its summary and its formatting too."""
    with small_limits():
        result = outcome(text)
        if result == "checked":
            checked, _ = check_text(text, "fuzz.kspec")
            assert checked is not None
            for graph in checked.models.values():
                render_summary(graph).encode("utf-8")  # printable, surrogates included
        with contextlib.suppress(KspecError):
            format_text(text, "fuzz.kspec")
    return result


@given(hostile_specs())
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_hostile_specs(text: str) -> None:
    hostile_outcome(text)


@given(values(4))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_hostile_constants(expr: str) -> None:
    hostile_outcome(f"c = {expr}\nmodel m {{\n    input x: (4,)\n    Dense(4)\n}}\n")


@given(st.lists(st.one_of(st.sampled_from(TOKENS), SPECIAL, HUGE_INTS), max_size=60))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_hostile_token_soup(tokens: list[str]) -> None:
    hostile_outcome(" ".join(tokens))
