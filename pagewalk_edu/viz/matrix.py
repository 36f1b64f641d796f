"""The verdict matrix as a picture: colour, hatch AND a word per cell.
matrix_figure() draws it with matplotlib; matrix_chart() falls back to SVG
built in Python where matplotlib is absent."""

from __future__ import annotations

from ..explore.matrix import LABELS, Matrix, protection_label
from .model.charts import matrix_model
from .style import VERDICT_COLOUR, VERDICT_HATCH


def matrix_chart(m: Matrix):
    """The matrix as an image a notebook shows: a matplotlib figure where
    matplotlib is installed, else SVG built in Python (the in-browser course)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from .svg.charts import matrix_image

        return matrix_image(matrix_model(m))
    return matrix_figure(m)


def matrix_figure(m: Matrix):
    """A matplotlib Figure (a ChartFigure: a notebook shows it with its alt text)."""
    from matplotlib.patches import Rectangle

    from .chart import ChartFigure

    rows, cols = m.rows, m.actions
    fig = ChartFigure(figsize=(1.35 * len(cols) + 2.2, 0.55 * len(rows) + 1.6), alt=matrix_model(m).alt)
    ax = fig.subplots()
    for r, holds in enumerate(rows):
        for c, action in enumerate(cols):
            v = m.get(holds, action).verdict
            y = len(rows) - 1 - r
            ax.add_patch(Rectangle((c, y), 1, 1, facecolor=VERDICT_COLOUR[v], hatch=VERDICT_HATCH[v], edgecolor="white", linewidth=2))
            ax.text(c + 0.5, y + 0.5, LABELS[v], ha="center", va="center", fontsize=8,
                    color="white" if v in ("unsafe", "deadlock") else "black", weight="bold",
                    bbox={"facecolor": "white", "alpha": 0.6, "edgecolor": "none", "pad": 1} if v in ("safe_but_stale",) else None)
    ax.set_xlim(0, len(cols))
    ax.set_ylim(0, len(rows))
    ax.set_xticks([c + 0.5 for c in range(len(cols))], list(cols), rotation=30, ha="right", fontsize=8)
    ax.set_yticks([len(rows) - 1 - r + 0.5 for r in range(len(rows))], [protection_label(h) for h in rows], fontsize=8)
    ax.set_xlabel("concurrent action", fontsize=8)
    ax.set_ylabel("walker holds", fontsize=8)
    fault = f", fault {m.fault}" if m.fault else ""
    ax.set_title(f"{m.walker} walker; {m.config.describe()}{fault}", fontsize=7)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    fig.tight_layout()
    return fig


def matrix_text(m: Matrix) -> str:
    return m.text()
