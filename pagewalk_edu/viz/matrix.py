"""The verdict matrix as a picture: colour, hatch AND a word per cell.
matrix_figure() draws it with matplotlib; matrix_chart() falls back to SVG
built in Python where matplotlib is absent."""

from __future__ import annotations

from ..explore.matrix import LABELS, Matrix, protection_label
from .model.charts import matrix_model
from .style import HATCH_INK, VERDICT_COLOUR, VERDICT_HATCH, VERDICT_LABEL_BACKING, VERDICT_LABEL_INK


def matrix_chart(m: Matrix):
    """The matrix as an image a notebook shows: a matplotlib figure where
    matplotlib is installed, else SVG built in Python (the in-browser course)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from .svg.charts import matrix_image

        return matrix_image(matrix_model(m))
    return matrix_figure(m)


#: matplotlib font sizes in points; at the 80 dpi a notebook shows (ChartFigure.png_bytes)
#: 11 pt is 12 px, the smallest text a view has
WORD_PT = 11
TICK_PT = 11
TITLE_PT = 10


def matrix_figure(m: Matrix):
    """A matplotlib Figure (a ChartFigure: a notebook shows it with its alt text).

    Each cell: its verdict's colour and hatch (so the grid reads in greyscale)
    and its word in black on a solid pale tint of that colour, so no hatch line
    runs under the letters and the contrast is well above WCAG's 4.5:1, in
    colour and in greyscale."""
    import textwrap

    from matplotlib.patches import Rectangle

    from .chart import ChartFigure

    rows, cols = m.rows, m.actions
    label_w = max(len(protection_label(h)) for h in rows) * TICK_PT * 0.6 / 72  # inches
    width = 1.45 * len(cols) + label_w + 1.0
    model = matrix_model(m)
    # wrapped to the figure's width (about 0.62 em a character), so no title runs off the picture
    title = textwrap.fill(model.title, width=int((width - 0.2) * 72 / (TITLE_PT * 0.62)))
    title_h = (title.count("\n") + 1) * TITLE_PT * 1.4 / 72
    fig = ChartFigure(figsize=(width, 0.6 * len(rows) + 1.9 + title_h), alt=model.alt)
    ax = fig.subplots()
    for r, holds in enumerate(rows):
        for c, action in enumerate(cols):
            v = m.get(holds, action).verdict
            fill = VERDICT_COLOUR[v]
            y = len(rows) - 1 - r
            # the hatch takes the patch's edge colour; the white grid line is a second, unfilled patch
            ax.add_patch(Rectangle((c, y), 1, 1, facecolor=fill, hatch=VERDICT_HATCH[v], edgecolor=HATCH_INK,
                                   linewidth=0, zorder=1))
            ax.add_patch(Rectangle((c, y), 1, 1, fill=False, edgecolor="white", linewidth=2, zorder=2))
            ax.text(c + 0.5, y + 0.5, LABELS[v], ha="center", va="center", fontsize=WORD_PT, weight="bold",
                    color=VERDICT_LABEL_INK, zorder=3,
                    bbox={"boxstyle": "round,pad=0.35", "facecolor": VERDICT_LABEL_BACKING[v], "edgecolor": "none",
                          "alpha": 1.0})
    ax.set_xlim(0, len(cols))
    ax.set_ylim(0, len(rows))
    ax.set_xticks([c + 0.5 for c in range(len(cols))], list(cols), rotation=30, ha="right", fontsize=TICK_PT)
    ax.set_yticks([len(rows) - 1 - r + 0.5 for r in range(len(rows))], [protection_label(h) for h in rows],
                  fontsize=TICK_PT)
    ax.set_xlabel("concurrent action", fontsize=TICK_PT)
    ax.set_ylabel("walker holds", fontsize=TICK_PT)
    fig.suptitle(title, x=0.01, ha="left", fontsize=TITLE_PT)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    fig.tight_layout()
    return fig


def matrix_text(m: Matrix) -> str:
    return m.text()
