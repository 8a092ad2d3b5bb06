"""The language server's garbage policy (kspec.lsp.memory): dropped graphs are freed by
reference counting, and the frozen rest is collected when the editor is idle."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from kspec.lsp import memory
from kspec.lsp.document import analyze

SPEC = """model m {
    input x: (8,)
    a = Dense(4)
    b = a -> Dense(4)
    [a, b] -> Add() -> Dense(2)
}
"""


@pytest.fixture
def no_collector():
    enabled = gc.isenabled()
    gc.disable()
    gc.collect()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_released_graph_leaves_no_cyclic_garbage(no_collector) -> None:
    a = analyze(SPEC, "/tmp/m.kspec")
    layer = weakref.ref(a.checked.models["m"].layers[1])
    b = analyze(SPEC.replace("Dense(2)", "Dense(3)"), "/tmp/m.kspec", previous=a)
    memory.release(a.checked)
    del a
    assert layer() is None  # freed at once, by reference counting
    assert gc.collect() == 0
    graph = b.checked.models["m"]  # the analysis kept is whole
    assert [c.outputs[0].shape for c in graph.calls][-1] == (3,)


def test_unreleased_graph_is_cyclic_garbage(no_collector) -> None:
    """The counter-test: without release the same graph waits for the cyclic collector."""
    a = analyze(SPEC, "/tmp/m.kspec")
    layer = weakref.ref(a.checked.models["m"].layers[1])
    del a
    assert layer() is not None
    assert gc.collect() > 0
    assert layer() is None


def test_collector_freezes_then_collects_when_idle(monkeypatch, no_collector) -> None:
    monkeypatch.setattr(memory, "IDLE_S", 0.05)

    async def edits() -> tuple[int, int, int]:
        c = memory.Collector()
        c.analysed()
        frozen = gc.get_freeze_count()
        pending = c.pending
        await asyncio.sleep(0.2)  # idle: the timer collects
        return frozen, pending, c.pending

    frozen, pending, after = asyncio.run(edits())
    assert frozen > 0 and pending == 1 and after == 0


def test_collector_collects_every_n_analyses_without_idle(monkeypatch, no_collector) -> None:
    monkeypatch.setattr(memory, "EVERY", 3)

    async def edits() -> list[int]:
        c = memory.Collector()
        seen = []
        for _ in range(4):
            c.analysed()
            seen.append(c.pending)
        assert c.timer is not None
        c.timer.cancel()
        return seen

    assert asyncio.run(edits()) == [1, 2, 0, 1]


def test_collector_outside_an_event_loop_collects_at_once(no_collector) -> None:
    c = memory.Collector()
    c.analysed()
    assert c.pending == 0 and c.timer is None
