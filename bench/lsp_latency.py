"""How long `kspec lsp` takes to answer an editor: from a change of a big spec to its diagnostics,
and for inlay hints, hover and completion after it. Prints the table of bench/README.md.

    python bench/lsp_latency.py                   # 2,000 layers, 15 edits
    python bench/lsp_latency.py --layers 200,2000 --edits 25

The server runs as editors run it (`python -m kspec.lsp` over stdio, a pytest-lsp client on the
other end). Each edit changes one line of the current text, as typing does: one layer's width (the
spec stays valid) or one layer's name misspelled (the error path), alternately; the time is from
sending `didChange` until `publishDiagnostics` for it arrives. Then as many edits add a statement
line and remove it again, in turn (Enter and delete: every span after it moves), each followed
by a hover, which pays for indexing the names (the server sends diagnostics before that). The
"check" rows are the same analysis in this process, CPU seconds: of the whole text, and with
only the edited statement reparsed (what the server does for an edit inside one statement)."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever kspec is installed
sys.path.insert(0, str(ROOT / "bench"))

from check_speed import flat_spec  # noqa: E402
from lsprotocol import types as lsp  # noqa: E402
from pytest_lsp import client_capabilities, make_test_lsp_client  # noqa: E402

from kspec.lsp.document import analyze  # noqa: E402


async def measure(layers: int, edits: int) -> dict[str, list[float]]:
    text = flat_spec(layers)
    path = Path("/tmp") / f"kspec-bench-{layers}.kspec"
    uri = path.as_uri()
    client = make_test_lsp_client()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the server of this checkout too
    await client.start_io(sys.executable, "-m", "kspec.lsp", env=env, cwd=str(ROOT))
    await client.initialize_session(
        lsp.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
    )
    times: dict[str, list[float]] = {"diagnostics": [], "inlay hints": [], "hover": []}
    times["completion"] = []

    async def diagnostics_after(send: Callable[[], None]) -> float:
        client.diagnostics.pop(uri, None)
        start = time.perf_counter()
        send()
        while uri not in client.diagnostics:
            await asyncio.sleep(0.0005)
        return time.perf_counter() - start

    item = lsp.TextDocumentItem(uri=uri, language_id="kspec", version=1, text=text)
    await diagnostics_after(
        lambda: client.text_document_did_open(lsp.DidOpenTextDocumentParams(item))
    )
    lines = text.split("\n")
    doc = lsp.TextDocumentIdentifier(uri)
    for n in range(edits):
        line = 2 + 3 * ((n * 7919) % (layers // 4))
        old = lines[line]
        if n % 2 == 0:
            lines[line] = old.replace("(64", "(65") if "(64" in old else old.replace("(65", "(64")
        else:
            lines[line] = old.replace("Dense", "Dnse") if "Dense" in old else old
        changed = "\n".join(lines)
        version = lsp.VersionedTextDocumentIdentifier(version=n + 2, uri=uri)
        params = lsp.DidChangeTextDocumentParams(
            version, [lsp.TextDocumentContentChangeWholeDocument(changed)]
        )
        times["diagnostics"].append(
            await diagnostics_after(lambda p=params: client.text_document_did_change(p))
        )
        for name, request in (
            (
                "inlay hints",
                client.text_document_inlay_hint_async(
                    lsp.InlayHintParams(doc, lsp.Range(lsp.Position(0, 0), lsp.Position(80, 0)))
                ),
            ),
            (
                "hover",
                client.text_document_hover_async(lsp.HoverParams(doc, lsp.Position(line, 9))),
            ),
            (
                "completion",
                client.text_document_completion_async(
                    lsp.CompletionParams(doc, lsp.Position(line, 4))
                ),
            ),
        ):
            start = time.perf_counter()
            await request
            times[name].append(time.perf_counter() - start)
    # Enter and delete: a statement line added after one, then removed again (the line count
    # changes, so every span after it moves).
    times["diagnostics, a line added or removed"] = []
    times["hover, the first request after it"] = []
    for n in range(edits):
        at = 3 + 3 * ((n * 7919) % (layers // 4))
        changed = "\n".join([*lines[:at], "    Dense(64)", *lines[at:]] if n % 2 == 0 else lines)
        version = lsp.VersionedTextDocumentIdentifier(version=edits + n + 2, uri=uri)
        params = lsp.DidChangeTextDocumentParams(
            version, [lsp.TextDocumentContentChangeWholeDocument(changed)]
        )
        times["diagnostics, a line added or removed"].append(
            await diagnostics_after(lambda p=params: client.text_document_did_change(p))
        )
        # the first request after it builds the index of names (the diagnostics did not wait)
        start = time.perf_counter()
        await client.text_document_hover_async(lsp.HoverParams(doc, lsp.Position(at, 6)))
        times["hover, the first request after it"].append(time.perf_counter() - start)
    await client.shutdown_session()
    await client.stop()
    full, partial = [], []
    before = analyze(text, str(path))
    edited = text.replace("Dense(64", "Dense(32", 1)
    for _ in range(max(3, edits // 3)):
        start = time.process_time()
        analyze(edited, str(path))
        full.append(time.process_time() - start)
        start = time.process_time()
        analyze(edited, str(path), previous=before)
        partial.append(time.process_time() - start)
    times["check, whole text (in process, CPU)"] = full
    times["check, edited statement reparsed (in process, CPU)"] = partial
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", default="2000", help="comma-separated spec sizes")
    parser.add_argument("--edits", type=int, default=15)
    args = parser.parse_args()
    print("| layers | what | median ms | p90 ms | min ms | max ms |")
    print("|---:|---|---:|---:|---:|---:|")
    for layers in (int(s) for s in args.layers.split(",")):
        times = asyncio.run(measure(layers, args.edits))
        for name, values in times.items():
            ms = [v * 1000 for v in values]
            p90 = statistics.quantiles(ms, n=10, method="inclusive")[-1]
            print(
                f"| {layers:,} | {name} | {statistics.median(ms):.0f} | {p90:.0f} | "
                f"{min(ms):.0f} | {max(ms):.0f} |"
            )


if __name__ == "__main__":
    main()
