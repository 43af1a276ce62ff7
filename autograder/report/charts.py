"""The class report's two charts, as PNG bytes (matplotlib's Agg canvas, no display, no pyplot state)."""
from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

BLUE = "#3b6ea8"


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)  # a Figure made without pyplot needs a canvas to draw on
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def score_histogram(percents: list[float], title: str) -> bytes:
    """Students per 10-point band of their score in percent (100 % in the last band)."""
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    ax.hist([min(max(p, 0.0), 100.0) for p in percents], bins=range(0, 110, 10), color=BLUE, edgecolor="white")
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (% of the points graded so far)")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    return _png(fig)


def share_bars(shares: dict[str, float], title: str) -> bytes:
    """One horizontal bar per function: the mean share of its points the class earned."""
    names = list(shares)[::-1]  # matplotlib draws the first bar at the bottom
    fig = Figure(figsize=(6, 0.9 + 0.4 * max(len(names), 1)))
    ax = fig.add_subplot()
    ax.barh(names, [100 * shares[n] for n in names], color=BLUE)
    ax.set_xlim(0, 100)
    ax.set_xlabel("mean share of the points (%)")
    ax.set_title(title)
    return _png(fig)
