"""curves.png: readable panels drawn with matplotlib, phases marked, the learning rate apart."""

from __future__ import annotations

import io

import numpy as np
import pytest

from kspec.run import plot

HISTORY = {"epoch": [1, 2, 3, 4], "loss": [2.0, 1.0, 0.5, 0.4], "val_loss": [2.2, 1.3, 0.9, 0.8],
           "category_accuracy": [0.2, 0.6, 0.9, 0.95],
           "val_category_accuracy": [0.1, 0.5, float("nan"), 0.7]}  # fmt: skip


def test_the_hand_drawn_png_writer_and_font_are_gone() -> None:
    assert not hasattr(plot, "FONT") and not hasattr(plot, "encode_png")


def test_a_real_png_with_one_readable_panel_per_metric() -> None:
    import matplotlib.image

    image = matplotlib.image.imread(io.BytesIO(plot.curves_png(HISTORY)), format="png")
    height, width = image.shape[:2]
    assert width >= 900 and height >= 300  # two panels side by side at 100 dpi
    fig = plot.curves_figure(HISTORY)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "category accuracy"]
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training", "validation"]


def test_every_epoch_is_a_tick_when_few_and_y_ticks_are_round() -> None:
    loss = plot.curves_figure(HISTORY).axes[0]
    assert list(loss.get_xticks()) == [1, 2, 3, 4]
    steps = np.diff(loss.get_yticks())
    assert np.allclose(steps, steps[0])
    assert steps[0] in (0.1, 0.2, 0.25, 0.5, 1.0)  # matplotlib's nice steps, not 0.324
    many = {"loss": list(np.linspace(1, 0, 60))}
    ticks = plot.curves_figure(many).axes[0].get_xticks()
    assert len(ticks) < 15 and all(float(t).is_integer() for t in ticks)


def test_phase_boundaries_are_marked_and_named() -> None:
    ax = plot.curves_figure(HISTORY, [(2, "finetune")]).axes[0]
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(lines) == 1 and list(lines[0].get_xdata()) == [2.5, 2.5]
    assert "finetune" in [t.get_text() for t in ax.texts]


def test_the_learning_rate_gets_its_own_panel() -> None:
    history = {**HISTORY, "learning_rate": [1e-3, 7e-4, 3e-4, 1e-4]}
    fig = plot.curves_figure(history)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "category accuracy", "learning rate"]
    assert fig.axes[2].get_legend() is None  # one series: no legend
    assert "learning_rate" not in plot.panels(HISTORY)


@pytest.mark.keras
def test_a_schedule_records_the_learning_rate_per_epoch(tmp_path: object) -> None:
    import keras

    from kspec.run.callbacks import make_tracker

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=20)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    tracker = make_tracker(tmp_path, [], with_backup=False)  # type: ignore[arg-type]
    x = np.zeros((40, 4), np.float32)
    model.fit(x, x[:, :1], batch_size=10, epochs=5, verbose=0, callbacks=tracker.callbacks)
    rates = [r["learning_rate"] for r in tracker.records]
    assert rates == sorted(rates, reverse=True) and rates[-1] == pytest.approx(0.0, abs=1e-6)
