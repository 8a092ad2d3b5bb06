"""When the language server collects garbage: between edits, not during them.

A checked graph is cyclic (a layer holds its calls, each call its layer), so every analysis that
is replaced leaves its graph to Python's cyclic collector. Left to itself, the collector runs a
full collection every few edits of a big spec, and one of those walks every object the server
holds: 200-300 ms at 2,000 layers, which was the slow tail of `bench/lsp_latency.py`. So an
analysis runs with the collector paused, and afterwards everything alive is frozen (`gc.freeze`:
the collector no longer walks it). An analysis the server drops has its graphs' cycles cut
(`release`), so plain reference counting frees them at once; whatever cyclic garbage is left
(frozen with the rest) is collected once the editor has been quiet for `IDLE_S`, or after
`EVERY` analyses when it never is, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import gc

from kspec.check.graph import Checked, Graph

IDLE_S = 1.0  # a pause in typing this long is spent collecting
EVERY = 100  # analyses between collections when the editor is never idle


class Collector:
    def __init__(self) -> None:
        self.pending = 0  # analyses since the last collection
        self.timer: asyncio.TimerHandle | None = None

    def analysed(self) -> None:
        """Called after each analysis is published: freeze it, collect later."""
        self.pending += 1
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.pending >= EVERY:
            self.collect()
            return
        gc.freeze()
        try:
            self.timer = asyncio.get_running_loop().call_later(IDLE_S, self.collect)
        except RuntimeError:  # no event loop (a caller outside the server): collect now
            self.collect()

    def collect(self) -> None:
        self.timer = None
        self.pending = 0
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def release(checked: Checked | None) -> None:
    """Cut the cycles of graphs no one reads any more: a layer's calls, a call's outputs.

    Only for an analysis the server has dropped: graphs are made afresh by every check and
    shared with nothing else (layer specs are, but they hold no graph)."""
    if checked is None:
        return
    todo = list(checked.models.values())
    while todo:
        graph = todo.pop()
        for layer in graph.layers:
            if isinstance(layer.spec, Graph):
                todo.append(layer.spec)
            layer.calls = []
        for call in graph.calls:
            call.outputs = []
