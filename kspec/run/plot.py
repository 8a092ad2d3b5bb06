"""curves.png: the loss and metric curves of a run, one panel per metric, drawn with matplotlib.

matplotlib's Agg backend renders without a display. Each panel shows training and validation;
the learning rate, when a schedule recorded it, gets a panel of its own; a dashed line marks
where each training phase begins.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TRAIN, VAL = "#1f77b4", "#ff7f0e"  # matplotlib's first two colours
LR = "learning_rate"


def panels(history: Mapping[str, Sequence[float | None]]) -> list[str]:
    """The metrics to draw, in history order: `loss`, `accuracy`, ..., then the learning rate."""
    names = [k for k in history if k not in ("epoch", LR) and not k.startswith("val_")]
    names += [k for k in history if k.startswith("val_") and k[4:] not in history]  # val-only
    names = names or ["loss"]
    return names + ([LR] if LR in history else [])


def curves_png(
    history: Mapping[str, Sequence[float | None]], phases: Sequence[tuple[int, str]] = ()
) -> bytes:
    """The picture as PNG bytes; `phases` are (epochs before it, name) of each phase after the
    first."""
    out = io.BytesIO()
    curves_figure(history, phases).savefig(out, format="png")
    return out.getvalue()


def curves_figure(
    history: Mapping[str, Sequence[float | None]], phases: Sequence[tuple[int, str]] = ()
) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    names = panels(history)
    columns = min(3, len(names))
    rows = -(-len(names) // columns)
    fig = Figure(figsize=(4.6 * columns, 3.4 * rows), dpi=100, layout="constrained")
    epochs = max((len(v) for k, v in history.items() if k != "epoch"), default=0)
    xs = [int(x or 0) for x in history.get("epoch") or range(1, epochs + 1)]
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, columns, i + 1)
        series = [(name, TRAIN, "validation" if name.startswith("val_") else "training")]
        if name != LR and not name.startswith("val_") and f"val_{name}" in history:
            series.append((f"val_{name}", VAL, "validation"))
        for key, color, label in series:
            values = [math.nan if v is None else float(v) for v in history.get(key, [])]
            ax.plot(xs[: len(values)], values, marker="o", markersize=3, color=color, label=label)
        ax.set_title(name.removeprefix("val_").replace("_", " "))
        ax.set_xlabel("epoch")
        ax.grid(True, color="#e4e4e4")
        ax.set_axisbelow(True)
        if len(xs) <= 20:
            ax.set_xticks(xs)  # every epoch, when few
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if len(xs) == 1:
            ax.set_xlim(xs[0] - 1, xs[0] + 1)
        if name == LR:
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        for after, phase in phases:
            if 0 < after < len(xs):
                ax.axvline(after + 0.5, color="#555555", linestyle="--", linewidth=1)
                ax.annotate(
                    phase,
                    (after + 0.5, 1),
                    xycoords=("data", "axes fraction"),
                    xytext=(3, -3),
                    textcoords="offset points",
                    va="top",
                    fontsize=8,
                    color="#555555",
                )
        if len(series) > 1:
            ax.legend(fontsize=8)
    return fig
