"""The CPU timeline of a trace (matplotlib): one lane per CPU plus the RCU
machinery; spans for IRQs off, RCU read-side sections and lock holds; IPIs as
arrows; grace periods; each table's detach and free; the use-after-free."""

from __future__ import annotations

from matplotlib.collections import LineCollection
from matplotlib.figure import Figure  # noqa: F401  (the type returned)
from matplotlib.ticker import MaxNLocator
from matplotlib.patches import Patch

from ..kernel.sim import Trace
from .chart import ChartFigure
from .style import OKABE_ITO

from .model.timeline import CPU_SPANS, TimelineModel, timeline_model
from .svg.timeline import SPAN_STYLE

_HATCH = {"irqs_off": "xx", "rcu": "..", "preempt": "\\\\", "mmap_lock": "//", "vma_lock": "--", "gp": ".."}
LANE_H = 1.0


def timeline(trace: Trace, current: int | None = None, *, legend: bool = True) -> Figure:
    """A Figure of the whole trace; `current` (a state index) is highlighted.
    legend=False leaves the legend out (the widget shows it once, beside).
    Drawn from the same TimelineModel as the SVG timeline."""
    if not isinstance(trace, Trace):
        raise TypeError(f"timeline() takes a Trace (from run(...)), got {type(trace).__name__}")
    return timeline_figure(timeline_model(trace, current), legend=legend)


def timeline_figure(m: TimelineModel, *, legend: bool = True) -> Figure:
    n = m.states
    lanes = m.lanes
    fig = ChartFigure(figsize=(10.0, 3.4), alt=m.alt)  # fixed size: redraw time must not grow with the trace
    ax = fig.subplots()
    y_of = {}
    for row, lane in enumerate(lanes):
        y0 = (len(lanes) - 1 - row) * (LANE_H + 0.4)
        y_of[lane.key] = y0
        ax.axhspan(y0 - 0.05, y0 + LANE_H + 0.05, color="#F4F4F4", zorder=0)
        sub_h = LANE_H / len(lane.rows)
        for k, kind in enumerate(lane.rows):
            runs = [(s.start - 0.5, s.end - s.start + 1) for s in m.spans if s.lane == lane.key and s.kind == kind]
            if runs:
                ax.broken_barh(runs, (y0 + LANE_H - (k + 1) * sub_h, sub_h * 0.9), facecolors=SPAN_STYLE[kind][0],
                               hatch=_HATCH[kind], edgecolor="black", linewidth=0.3, zorder=2)
    # Few artists, each holding many marks: the widget redraws this on every step.
    ipi_segs, pts = [], {}
    labels = []
    for mk in m.markers:
        y = y_of[mk.lane] + LANE_H / 2
        if mk.kind == "ipi" and mk.to_lane in y_of:
            ipi_segs.append([(mk.step, y), (mk.step + 0.3, y_of[mk.to_lane] + LANE_H / 2)])
            continue
        yy = y - 0.3
        pts.setdefault(mk.kind, []).append((mk.step, yy))
        if mk.label and mk.kind in ("detached", "freed"):
            labels.append((mk.step, yy - 0.18, mk.label))
    if ipi_segs:
        ax.add_collection(LineCollection(ipi_segs, colors=OKABE_ITO["orange"], linewidths=1.5, linestyles="--", zorder=4))
        heads = [seg[1] for seg in ipi_segs]
        ax.plot([p[0] for p in heads], [p[1] for p in heads], linestyle="none", marker=">", color=OKABE_ITO["orange"],
                markersize=5, zorder=4)
    for kind, marker, colour, size in (("ipi_taken", "v", OKABE_ITO["orange"], 7), ("gp_start", "|", "black", 10),
                                       ("gp_end", "s", "black", 6), ("detached", "^", OKABE_ITO["yellow"], 6),
                                       ("freed", "X", OKABE_ITO["vermillion"], 7)):
        if pts.get(kind):
            ax.plot([p[0] for p in pts[kind]], [p[1] for p in pts[kind]], linestyle="none", marker=marker, color=colour,
                    markeredgecolor="black", markeredgewidth=0.5, markersize=size, zorder=5)
    # labels that would collide drop to the next row (the same rule as the SVG timeline)
    rows: list[list[float]] = []
    for x, yy, label in sorted(labels):
        for r, xs in enumerate(rows):
            if all(abs(x - o) >= 3.6 * (len(label) + 1) * max(n, 1) / 620 for o in xs):  # 6 pt text, 620 pt wide axes
                xs.append(x)
                break
        else:
            rows.append([x])
            r = len(rows) - 1
        ax.text(x, yy - 0.2 * r, label, fontsize=6, ha="center", va="top")
    for mk in m.markers:
        if mk.kind == "uaf":
            y = y_of[mk.lane] + LANE_H / 2
            ax.plot([mk.step], [y], marker="*", color=OKABE_ITO["vermillion"], markeredgecolor="black", markersize=16, zorder=6)
            ax.text(mk.step, y + 0.55, mk.label or "use-after-free", color=OKABE_ITO["vermillion"], fontsize=8, ha="center", weight="bold")
    if m.current is not None:
        ax.axvspan(m.current - 0.5, m.current + 0.5, color=OKABE_ITO["blue"], alpha=0.15, zorder=1)
        ax.axvline(m.current, color=OKABE_ITO["blue"], linewidth=1.2, zorder=1)
    # Lane names as plain text and a few x ticks: matplotlib's tick machinery is
    # most of the drawing time.
    ax.yaxis.set_visible(False)
    for lane in lanes:
        ax.text(-0.01, y_of[lane.key] + LANE_H / 2, lane.label, transform=ax.get_yaxis_transform(), ha="right", va="center",
                fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.set_xlim(-0.6, max(n - 0.4, 1))
    ax.set_ylim(-0.6, (len(lanes) - 1) * (LANE_H + 0.4) + LANE_H + 0.4)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    if legend:
        handles = [Patch(facecolor=SPAN_STYLE[k][0], hatch=_HATCH[k], edgecolor="black", label=l) for k, l in CPU_SPANS]
        handles.append(Patch(facecolor=OKABE_ITO["sky"], hatch="..", edgecolor="black", label="grace period"))
        ax.legend(handles=handles, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        fig.subplots_adjust(left=0.12, right=0.86, bottom=0.15, top=0.95)
    else:
        fig.subplots_adjust(left=0.12, right=0.98, bottom=0.15, top=0.95)
    return fig


LEGEND_TEXT = ("Lanes: CPU0 (the walker), CPU1 (the racing kernel path), RCU. Bars: IRQs off (vermillion, crossed), "
               "RCU read side (sky, dotted), spinlock/preempt off (purple), mmap_lock (green, hatched), VMA lock (orange); "
               "dashed arrows: IPIs sent; ▼ IPI taken; ▲ table unlinked; ✖ table freed; ★ use-after-free; "
               "the shaded column is the current step.")


def timeline_png(trace: Trace, current: int | None = None, dpi: int = 72, legend: bool = True) -> bytes:
    """PNG bytes (fast zlib level: the widget redraws on every step)."""
    import io

    fig = timeline(trace, current, legend=legend)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def timeline_text(trace: Trace) -> str:
    from .text import trace_text

    return trace_text(trace)
