"""`kspec lsp` driven as an editor drives it: a pytest-lsp client talks to the server process over
stdio (open, change, hover, inlay hints, completion, definition, references, symbols,
formatting, code actions) on the examples and on broken specs from the golden corpus.

Expected shapes and counts come from `kspec summary`'s rows (themselves tested against Keras),
fixes from the golden errors' help lines, formatting from `kspec fmt`.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

from kspec.check.spec import check_text
from kspec.report.summary import layer_shape, rows
from kspec.syntax.fmt import format_text

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.kspec"))
GOLDEN = ROOT / "tests" / "golden" / "errors"


class Editor:
    """A synchronous face on the async client, so plain tests and Hypothesis can use it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client: LanguageClient = make_test_lsp_client()
        self.versions: dict[str, int] = {}
        self.refreshes = 0

        @self.client.feature(lsp.WORKSPACE_INLAY_HINT_REFRESH)
        def refresh(client: LanguageClient, params: None) -> None:
            self.refreshes += 1

        self.run(self.client.start_io(sys.executable, "-m", "kspec.cli", "lsp"))  # `kspec lsp`
        caps = client_capabilities("visual-studio-code")
        assert caps.workspace is not None  # VS Code refreshes inlay hints when asked (1.67+)
        caps.workspace.inlay_hint = lsp.InlayHintWorkspaceClientCapabilities(refresh_support=True)
        params = lsp.InitializeParams(capabilities=caps)
        self.init = self.run(self.client.initialize_session(params))

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 60))

    def close(self) -> None:
        self.run(self.client.shutdown_session())
        self.run(self.client.stop())
        self.loop.close()

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.resolve().as_uri()
        self.versions[uri] = 1
        item = lsp.TextDocumentItem(uri, "kspec", 1, path.read_text() if text is None else text)
        self.client.text_document_did_open(lsp.DidOpenTextDocumentParams(item))
        self.symbols(uri)  # answered after the diagnostics of the open are published
        return uri

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        doc = lsp.VersionedTextDocumentIdentifier(version=self.versions[uri], uri=uri)
        change = lsp.TextDocumentContentChangeWholeDocument(text)
        self.client.text_document_did_change(lsp.DidChangeTextDocumentParams(doc, [change]))
        self.symbols(uri)

    def diagnostics(self, uri: str) -> list[lsp.Diagnostic]:
        return list(self.client.diagnostics.get(uri, []))

    def doc(self, uri: str) -> lsp.TextDocumentIdentifier:
        return lsp.TextDocumentIdentifier(uri)

    def symbols(self, uri: str) -> list[lsp.DocumentSymbol]:
        params = lsp.DocumentSymbolParams(self.doc(uri))
        return list(self.run(self.client.text_document_document_symbol_async(params)) or [])

    def hover(self, uri: str, line: int, col: int) -> lsp.Hover | None:
        params = lsp.HoverParams(self.doc(uri), lsp.Position(line, col))
        result: lsp.Hover | None = self.run(self.client.text_document_hover_async(params))
        return result

    def hints(self, uri: str, lines: int = 10_000) -> list[lsp.InlayHint]:
        rng = lsp.Range(lsp.Position(0, 0), lsp.Position(lines, 0))
        params = lsp.InlayHintParams(self.doc(uri), rng)
        return list(self.run(self.client.text_document_inlay_hint_async(params)) or [])

    def complete(self, uri: str, line: int, col: int) -> list[str]:
        params = lsp.CompletionParams(self.doc(uri), lsp.Position(line, col))
        result = self.run(self.client.text_document_completion_async(params))
        items = result.items if isinstance(result, lsp.CompletionList) else (result or [])
        return [i.label for i in items]

    def definition(self, uri: str, line: int, col: int) -> list[lsp.Location]:
        params = lsp.DefinitionParams(self.doc(uri), lsp.Position(line, col))
        result = self.run(self.client.text_document_definition_async(params))
        return list(result or [])

    def references(self, uri: str, line: int, col: int) -> list[lsp.Location]:
        params = lsp.ReferenceParams(
            context=lsp.ReferenceContext(include_declaration=True),
            text_document=self.doc(uri),
            position=lsp.Position(line, col),
        )
        return list(self.run(self.client.text_document_references_async(params)) or [])

    def format(self, uri: str) -> list[lsp.TextEdit] | None:
        params = lsp.DocumentFormattingParams(self.doc(uri), lsp.FormattingOptions(4, True))
        result: list[lsp.TextEdit] | None = self.run(
            self.client.text_document_formatting_async(params)
        )
        return result

    def actions(self, uri: str, rng: lsp.Range) -> list[lsp.CodeAction]:
        params = lsp.CodeActionParams(self.doc(uri), rng, lsp.CodeActionContext([]))
        result = self.run(self.client.text_document_code_action_async(params)) or []
        return [a for a in result if isinstance(a, lsp.CodeAction)]


@pytest.fixture(scope="module")
def editor() -> Iterator[Editor]:
    e = Editor()
    yield e
    e.close()


def find(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """(0-based line, character) of the nth occurrence of needle."""
    offset = -1
    for _ in range(nth + 1):
        offset = text.index(needle, offset + 1)
    before = text[:offset]
    return before.count("\n"), offset - (before.rfind("\n") + 1)


def test_the_server_says_what_it_can(editor: Editor) -> None:
    caps = editor.init.capabilities
    assert caps.hover_provider and caps.definition_provider and caps.references_provider
    assert caps.inlay_hint_provider and caps.document_formatting_provider
    assert caps.completion_provider and caps.code_action_provider
    assert caps.document_symbol_provider


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_are_clean_and_show_every_shape(editor: Editor, path: Path) -> None:
    uri = editor.open(path)
    assert editor.diagnostics(uri) == []
    hints = {h.position.line: str(h.label) for h in editor.hints(uri)}
    checked, _ = check_text(path.read_text(), str(path.resolve()), raise_errors=False)
    assert checked is not None
    shown = 0
    for graph in checked.models.values():
        table = {layer.name: layer_shape(layer) for layer in graph.layers}
        for layer in graph.keras_layers():
            line = layer.span.line - 1
            if layer.block_path or layer.name not in table or line not in hints:
                continue
            # the step's shape as `kspec summary` prints it, unless a later step shares its line
            if layer.span.end_line - 1 == line and hints[line].strip().startswith(
                table[layer.name]
            ):
                shown += 1
    assert shown >= 3
    lines = path.read_text().split("\n")
    assert all(h.position.character == len(lines[h.position.line]) for h in editor.hints(uri))


def test_mnist_shapes_and_params_inline(editor: Editor) -> None:
    path = ROOT / "examples" / "mnist.kspec"
    text = path.read_text()
    uri = editor.open(path)
    hints = {h.position.line: str(h.label).strip() for h in editor.hints(uri)}
    checked, _ = check_text(text, str(path.resolve()), raise_errors=False)
    assert checked is not None
    graph = checked.model()
    for r, layer in zip(rows(graph), graph.keras_layers(), strict=True):
        label = hints[layer.span.line - 1]
        assert label.startswith(layer_shape(layer))
        assert (f"{r['params']:,} params" in label) == (r["params"] > 0)


def test_hover_on_a_layer_shows_its_shape_and_catalog_entry(editor: Editor) -> None:
    path = ROOT / "examples" / "mnist.kspec"
    text = path.read_text()
    uri = editor.open(path)
    line, col = find(text, "Conv2D(64")
    hover = editor.hover(uri, line, col + 2)
    assert hover is not None and isinstance(hover.contents, lsp.MarkupContent)
    value = hover.contents.value
    assert "keras.layers.Conv2D" in value and "`padding=valid` (valid \\| same)" in value
    graph = check_text(text, "m.kspec")[0].model()  # type: ignore[union-attr]
    conv = [layer for layer in graph.layers if layer.class_name == "Conv2D"][1]
    assert conv.params is not None
    assert f"output `{layer_shape(conv)}`, {conv.params.total:,} params" in value
    assert hover.range is not None and hover.range.start == lsp.Position(line, col)


def test_hover_on_blocks_models_tensors_and_constants(editor: Editor, tmp_path: Path) -> None:
    text = (ROOT / "examples" / "resnet_tiny.kspec").read_text()
    uri = editor.open(ROOT / "examples" / "resnet_tiny.kspec")
    hover = editor.hover(uri, *find(text, "residual(32"))
    assert hover is not None
    value = hover.contents.value  # type: ignore[union-attr]
    assert "block residual(filters, stride=1)" in value and "runs 3 times here" in value
    assert "(None, 32, 32, 32)" in value
    model = editor.hover(uri, *find(text, "resnet_tiny {"))
    assert model is not None and "309,770 params" in model.contents.value  # type: ignore[union-attr]
    tensor = editor.hover(uri, *find(text, "shortcut", 1))
    assert tensor is not None and "shape `(None, 32, 32, 32)`" in tensor.contents.value  # type: ignore[union-attr]
    spec = tmp_path / "c.kspec"
    spec.write_text("units = 8 * 4\nmodel m {\n    input x: (3,)\n    Dense(units)\n}\n")
    uri = editor.open(spec)
    const = editor.hover(uri, 3, 12)
    assert const is not None and "constant" in const.contents.value  # type: ignore[union-attr]
    assert "= `32`" in const.contents.value  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "golden",
    sorted(
        p.stem
        for p in GOLDEN.glob("*.kspec")
        if re.search(
            r"did you mean|help: write \w+\(\)$", t := p.with_suffix(".txt").read_text(), re.M
        )
        and "--set" not in t
    ),
)
def test_broken_specs_show_the_golden_error_and_fix_it(editor: Editor, golden: str) -> None:
    path = GOLDEN / f"{golden}.kspec"
    text = path.read_text()
    expected = (GOLDEN / f"{golden}.txt").read_text()
    uri = editor.open(path)
    diags = editor.diagnostics(uri)
    assert diags, golden
    heads = re.findall(r"^(\S+?):(\d+):(\d+): (?:error|warning): (.*)$", expected, re.M)
    assert heads
    got = {
        (d.range.start.line + 1, d.range.start.character + 1, d.message.split("\n")[0])
        for d in diags
    }
    for file, line, col, message in heads:  # the same errors at the same places
        if file.endswith(path.name):
            assert (int(line), int(col), message) in got, (golden, message, got)
    fixable = [d for d in diags if re.search(r"did you mean|help: write \w+\(\)$", d.message)]
    if not fixable:
        return  # a --set error: the fix is on the command line, not in the file
    edits = []
    for d in fixable:
        actions = editor.actions(uri, d.range)
        assert actions, (golden, d.message)
        assert actions[0].edit is not None and actions[0].edit.changes is not None
        edits.extend(actions[0].edit.changes[uri])
    lines = text.split("\n")
    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        line = lines[e.range.start.line]
        lines[e.range.start.line] = (
            line[: e.range.start.character] + e.new_text + line[e.range.end.character :]
        )
    editor.change(uri, "\n".join(lines))
    after = {d.message.split("\n")[0] for d in editor.diagnostics(uri)}
    assert not after & {d.message.split("\n")[0] for d in fixable}


def test_diagnostics_follow_edits_and_hints_survive_a_parse_error(
    editor: Editor, tmp_path: Path
) -> None:
    path = tmp_path / "m.kspec"
    good = (
        "model m {\n    input x: (28, 28, 1)\n    Conv2D(32, 3)\n    Flatten()\n    Dense(10)\n}\n"
    )
    uri = editor.open(path, good)
    assert editor.diagnostics(uri) == []
    hints = {h.position.line: str(h.label).strip() for h in editor.hints(uri)}
    assert hints[2].startswith("(None, 26, 26, 32)") and hints[4].startswith("(None, 10)")
    editor.change(uri, good.replace("Dense(10)", "Dnse(10)"))
    hints = {h.position.line: str(h.label).strip() for h in editor.hints(uri)}
    assert 4 not in hints and hints[2].startswith("(None, 26, 26, 32)")
    (d,) = editor.diagnostics(uri)
    assert d.message.startswith("unknown layer or function 'Dnse'")
    assert "help: did you mean 'Dense'?" in d.message
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (4, 4, 8)
    editor.change(uri, good.replace("Conv2D(32, 3)", "Conv2D(32, 3"))  # does not parse
    assert editor.diagnostics(uri)[0].code == "syntax-error"
    assert {h.position.line: str(h.label).strip() for h in editor.hints(uri)} == hints
    editor.change(uri, good)
    assert editor.diagnostics(uri) == []


def test_keras_ops_hover_and_complete(editor: Editor, tmp_path: Path) -> None:
    text = (
        "model m {\n    input a: (4,)\n    input b: (4,)\n"
        "    d = ops.sqrt(ops.sum(ops.square(a - b), axis=-1, keepdims=true))\n    output d\n}\n"
    )
    uri = editor.open(tmp_path / "ops.kspec", text)
    assert editor.diagnostics(uri) == []
    hover = editor.hover(uri, *find(text, "sum("))
    assert hover is not None and "keras.ops.sum" in hover.contents.value  # type: ignore[union-attr]
    assert "output `(None, 1)`" in hover.contents.value  # type: ignore[union-attr]
    assert {"ops.sum", "ops.sqrt", "ops.matmul"} <= set(editor.complete(uri, 4, 4))


def test_block_hints_follow_the_instance_under_the_cursor(editor: Editor, tmp_path: Path) -> None:
    text = (
        "block unit(width) {\n    input x\n    Dense(width)\n}\n"
        "model m {\n    input x: (8,)\n    unit(16)\n    unit(4)\n}\n"
    )
    uri = editor.open(tmp_path / "b.kspec", text)
    body_hint = lambda: {h.position.line: str(h.label).strip() for h in editor.hints(uri)}[2]  # noqa: E731
    assert body_hint() == "(None, 16), 144 params"  # the first use
    before = editor.refreshes
    editor.actions(uri, lsp.Range(lsp.Position(7, 6), lsp.Position(7, 6)))  # cursor on unit(4)
    editor.symbols(uri)
    assert editor.refreshes == before + 1
    assert body_hint() == "(None, 4), 68 params"
    editor.hover(uri, 6, 6)  # back on unit(16)
    assert body_hint() == "(None, 16), 144 params"


def test_completion(editor: Editor, tmp_path: Path) -> None:
    text = (
        "block head(units, rate=0.5) {\n    input x\n    Dense(units)\n}\n"
        "model m {\n    input image: (28, 28, 1)\n    features = image -> Flatten()\n    \n}\n"
        "train {\n    \n}\n"
    )
    uri = editor.open(tmp_path / "c.kspec", text)
    at_step = editor.complete(uri, 7, 4)
    assert {"Dense", "Conv2D", "head", "features", "image", "input", "output"} <= set(at_step)
    editor.change(uri, text.replace("\n    \n}\ntrain", "\n    Conv2D(32, 3, padding=\n}\ntrain"))
    assert set(editor.complete(uri, 7, 29)) >= {"valid", "same"}
    editor.change(uri, text.replace("\n    \n}\ntrain", "\n    Conv2D(32, 3, \n}\ntrain"))
    args = editor.complete(uri, 7, 18)
    assert {"strides", "padding", "activation", "use_bias"} <= set(args)
    editor.change(uri, text.replace("\n    \n}\ntrain", "\n    head(8, \n}\ntrain"))
    assert "rate" in editor.complete(uri, 7, 12)
    editor.change(uri, text.replace("\n    \n}\ntrain", "\n    features -> \n}\ntrain"))
    assert "Dense" in editor.complete(uri, 7, 16)
    fields = editor.complete(uri, 10, 4)
    assert {"optimizer", "loss", "epochs", "batch_size"} <= set(fields)


def test_definition_and_references(editor: Editor, tmp_path: Path) -> None:
    (tmp_path / "blocks.kspec").write_text(
        "block head(units) {\n    input x\n    Dense(units)\n}\n"
    )
    text = (
        'import "blocks.kspec"\nwidth = 16\nmodel m {\n    input image: (8,)\n'
        "    h = image -> Dense(width)\n    out = h -> head(width)\n"
        "    output [h, out] -> Concatenate()\n}\n"
    )
    path = tmp_path / "main.kspec"
    path.write_text(text)
    uri = editor.open(path)
    assert editor.diagnostics(uri) == []
    (loc,) = editor.definition(uri, *find(text, "h ->"))
    line, col = find(text, "    h =")
    assert loc.uri == uri and loc.range.start == lsp.Position(line, col + 4)
    refs = editor.references(uri, *find(text, "width"))
    assert [r.range.start for r in refs] == [
        lsp.Position(*find(text, "width", i)) for i in range(3)
    ]
    (block,) = editor.definition(uri, *find(text, "head("))
    assert block.uri == (tmp_path / "blocks.kspec").resolve().as_uri()
    assert block.range.start == lsp.Position(0, 6)
    (imported,) = editor.definition(uri, 0, 10)
    assert imported.uri == block.uri
    names = [s.name for s in editor.symbols(uri)]
    assert names == ["blocks.kspec", "width", "m"]


def test_formatting_is_kspec_fmt(editor: Editor, tmp_path: Path) -> None:
    text = "model m{\n  input x:(3,)   # the input\n  Dense( 4 )\n}\n"
    uri = editor.open(tmp_path / "f.kspec", text)
    (edit,) = editor.format(uri) or []
    assert edit.new_text == format_text(text)
    editor.change(uri, edit.new_text)
    unchanged = editor.format(uri)
    assert unchanged is not None and len(unchanged) == 0
    editor.change(uri, "model m {\n  Dense(\n")
    assert editor.format(uri) is None


def test_saving_an_imported_file_rechecks_its_importers(editor: Editor, tmp_path: Path) -> None:
    lib = tmp_path / "lib.kspec"
    lib.write_text("block head(units) {\n    input x\n    Dense(units)\n}\n")
    main = tmp_path / "main.kspec"
    main.write_text('import "lib.kspec"\nmodel m {\n    input x: (4,)\n    head(3)\n}\n')
    uri = editor.open(main)
    assert editor.diagnostics(uri) == []
    lib.write_text("block head(units) {\n    input x\n    Dense(units, activation=rleu)\n}\n")
    editor.client.text_document_did_save(
        lsp.DidSaveTextDocumentParams(editor.doc(lib.resolve().as_uri()))
    )
    editor.symbols(uri)
    (d,) = editor.diagnostics(uri)
    assert "unknown activation 'rleu'" in d.message and d.range.start.line == 0


def test_refused_imports_are_diagnostics_on_their_line(editor: Editor, tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib.kspec").write_text("width = 4\n")
    text = 'width = 2\nimport "lib"\nmodel m {\n    input x: (4,)\n    Dense(width)\n}\n'
    uri = editor.open(tmp_path / "main.kspec", text)
    (d,) = editor.diagnostics(uri)
    assert d.code == "import-refused" and "folder" in d.message
    assert (d.range.start, d.range.end) == (lsp.Position(1, 0), lsp.Position(1, 12))
    # An unsaved buffer has no folder: its imports are refused, even of a file that exists
    # relative to the server's working directory.
    untitled = "untitled:Untitled-1"
    editor.versions[untitled] = 1
    item = lsp.TextDocumentItem(untitled, "kspec", 1, text.replace('"lib"', '"lib.kspec"'))
    editor.client.text_document_did_open(lsp.DidOpenTextDocumentParams(item))
    editor.symbols(untitled)
    (d,) = editor.diagnostics(untitled)
    assert d.code == "import-not-allowed" and "save the file" in d.message
    assert d.range.start == lsp.Position(1, 0)


EXAMPLE_TEXTS = [p.read_text() for p in EXAMPLES] + [
    p.read_text() for p in sorted(GOLDEN.glob("*.kspec"))[:20]
]
edits = st.lists(
    st.tuples(
        st.integers(0, 10_000),  # where, as a fraction of the text
        st.integers(0, 12),  # how much to delete
        st.sampled_from(
            ["", "(", ")", "{", "}", "->", "\n", '"', "Dense(", "=", "x", "#", "é", "\U0001d465"]
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(base=st.sampled_from(EXAMPLE_TEXTS), changes=edits, probe=st.integers(0, 10_000))
def test_random_edits_never_break_the_server(
    editor: Editor, tmp_path: Path, base: str, changes: list[tuple[int, int, str]], probe: int
) -> None:
    uri = editor.open(tmp_path / "fuzz.kspec", base)
    text = base
    for where, cut, insert in changes:
        at = where * len(text) // 10_000
        text = text[:at] + insert + text[at + cut :]
        editor.change(uri, text)
    line, col = find(text + "\n", "\n", probe * max(1, text.count("\n")) // 10_001)
    for c in (0, col // 2, col):
        editor.hover(uri, line, c)
        editor.complete(uri, line, c)
        editor.definition(uri, line, c)
        editor.references(uri, line, c)
    editor.hints(uri)
    editor.format(uri)
    editor.actions(uri, lsp.Range(lsp.Position(0, 0), lsp.Position(line + 1, 0)))
    assert editor.client.error is None
    errors = [m.message for m in editor.client.log_messages if m.type == lsp.MessageType.Error]
    assert errors == []
    assert isinstance(editor.symbols(uri), list)  # still answering
