"""Predicted versus measured page-table bytes per step of a tables scenario."""

from __future__ import annotations

from ..kernel.geometry import fmt_size
from .model.charts import tables_model


def tables_chart(results):
    """Bars per step: the simulator's prediction and, when measured, the kernel's
    VmPTE.  A matplotlib figure (shown with its alt text) where matplotlib is
    installed, else the same chart as SVG built in Python."""
    try:
        from .chart import ChartFigure
    except ImportError:
        from .svg.charts import tables_image

        return tables_image(tables_model(results))
    fig = ChartFigure(figsize=(max(5.0, 0.9 * len(results) + 2), 3.2), alt=tables_model(results).alt)
    ax = fig.subplots()
    xs = list(range(1, len(results) + 1))
    pred = [r.page_table_bytes / 1024 for r in results]
    real = [r.real_page_table_bytes for r in results]
    have_real = all(x is not None for x in real)
    width = 0.4 if have_real else 0.6
    ax.bar([x - (width / 2 if have_real else 0) for x in xs], pred, width, label="simulator", color="#0072B2")
    if have_real:
        ax.bar([x + width / 2 for x in xs], [b / 1024 for b in real], width, label="kernel (VmPTE)", color="#E69F00",
               hatch="//", edgecolor="black", linewidth=0.5)
        for x, r in zip(xs, results):
            if not r.match:
                ax.annotate("mismatch", (x, max(r.page_table_bytes, r.real_page_table_bytes) / 1024), ha="center",
                            va="bottom", color="#D55E00", fontsize=8)
    ax.set_xticks(xs, [r.op for r in results], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("page tables (KiB)")
    ax.set_title("Page-table bytes after each step")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def tables_text(results) -> str:
    lines = []
    for i, r in enumerate(results, 1):
        real = "" if r.real_page_table_bytes is None else f", kernel {fmt_size(r.real_page_table_bytes) or 0}"
        lines.append(f"step {i} {r.description}: simulator {fmt_size(r.page_table_bytes) if r.page_table_bytes else '0'}{real}")
    return "\n".join(lines)
