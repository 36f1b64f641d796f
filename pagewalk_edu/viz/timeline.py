"""The CPU timeline of a trace (matplotlib): one lane per CPU plus the RCU
machinery; spans for IRQs off, RCU read-side sections and lock holds; IPIs as
arrows; grace periods; each table's detach and free; the use-after-free."""

from __future__ import annotations

from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.patches import Patch

from ..kernel.sim import Trace
from .style import OKABE_ITO

# sub-rows of a CPU lane: (label, colour, hatch, predicate(state, cpu, walker_name, freer_name))
_SPANS = (
    ("IRQs off", OKABE_ITO["vermillion"], "xx", lambda s, c, a: s.cpus[c].irqs_off),
    ("RCU read side", OKABE_ITO["sky"], "..", lambda s, c, a: s.cpus[c].rcu > 0),
    ("spinlock / preempt off", OKABE_ITO["purple"], "\\\\", lambda s, c, a: s.cpus[c].preempt > 0),
    ("mmap_lock", OKABE_ITO["green"], "//", lambda s, c, a: a in s.mmap_readers or s.mmap_writer == a),
    ("VMA lock", OKABE_ITO["orange"], "--", lambda s, c, a: any(a in v.readers or v.writer == a for v in s.vmas)),
)
LANE_H = 1.0


def _runs(flags: list[bool]) -> list[tuple[float, float]]:
    """(x, width) of each run of True, one unit per state centred on its index."""
    out, i, n = [], 0, len(flags)
    while i < n:
        if flags[i]:
            j = i
            while j + 1 < n and flags[j + 1]:
                j += 1
            out.append((i - 0.5, j - i + 1))
            i = j + 1
        else:
            i += 1
    return out


def _lanes(trace: Trace) -> list[tuple[str, int | None, str | None]]:
    ctx = trace.ctx
    return [(f"CPU0 {ctx.walker_name}", 0, ctx.walker_name), (f"CPU1 {ctx.freer_name}", 1, ctx.freer_name), ("RCU", None, None)]


def timeline(trace: Trace, current: int | None = None, *, legend: bool = True) -> Figure:
    """A Figure of the whole trace; `current` (a state index) is highlighted.
    legend=False leaves the legend out (the widget shows it once, beside)."""
    if not isinstance(trace, Trace):
        raise TypeError(f"timeline() takes a Trace (from run(...)), got {type(trace).__name__}")
    n = len(trace.states)
    lanes = _lanes(trace)
    fig = Figure(figsize=(10.0, 3.4))  # fixed size: redraw time must not grow with the trace
    ax = fig.subplots()
    y_of = {}
    for row, (label, cpu, actor) in enumerate(lanes):
        y0 = (len(lanes) - 1 - row) * (LANE_H + 0.4)
        y_of[label] = y0
        ax.axhspan(y0 - 0.05, y0 + LANE_H + 0.05, color="#F4F4F4", zorder=0)
        if cpu is None:
            continue
        sub_h = LANE_H / len(_SPANS)
        for k, (name, colour, hatch, pred) in enumerate(_SPANS):
            runs = _runs([pred(s, cpu, actor) for s in trace.states])
            if runs:
                ax.broken_barh(runs, (y0 + k * sub_h, sub_h * 0.9), facecolors=colour, hatch=hatch,
                               edgecolor="black", linewidth=0.3, zorder=2)
    rcu_y = y_of["RCU"]
    # grace periods: shaded while active
    runs = _runs([s.rcu.active for s in trace.states])
    if runs:
        ax.broken_barh(runs, (rcu_y + 0.55, 0.35), facecolors=OKABE_ITO["sky"], edgecolor="black", linewidth=0.3, hatch="..", zorder=2)
    lane_of_cpu = {0: y_of[lanes[0][0]], 1: y_of[lanes[1][0]]}
    # Few artists, each holding many marks: the widget redraws this on every step.
    ipi_segs, taken, gp_start, gp_end, detached, freed, labels = [], [], [], [], [], [], []
    for step, e in enumerate(trace.events, start=1):
        y = lane_of_cpu.get(e.cpu, rcu_y) + LANE_H / 2
        for ch in e.changes:
            kind, _, arg = ch.partition(":")
            if kind == "ipi" and arg.startswith("cpu"):
                target = lane_of_cpu[int(arg[3:])] + LANE_H / 2
                ipi_segs.append([(step, y), (step + 0.3, target)])
            elif kind == "ipi_taken":
                taken.append((step, y))
            elif kind == "gp" and arg == "start":
                gp_start.append((step, rcu_y + 0.72))
            elif kind == "gp" and arg == "end":
                gp_end.append((step, rcu_y + 0.72))
            elif kind == "detached":
                detached.append((step, y - 0.3))
                labels.append((step, y - 0.48, f"#{arg}"))
            elif kind == "freed":
                yy = rcu_y + 0.2 if e.cpu is None else y - 0.3
                freed.append((step, yy))
                labels.append((step, yy - 0.18, f"free #{arg}"))
    if ipi_segs:
        ax.add_collection(LineCollection(ipi_segs, colors=OKABE_ITO["orange"], linewidths=1.5, linestyles="--", zorder=4))
        heads = [seg[1] for seg in ipi_segs]
        ax.plot([p[0] for p in heads], [p[1] for p in heads], linestyle="none", marker=">", color=OKABE_ITO["orange"],
                markersize=5, zorder=4)
    for pts, marker, colour, size in ((taken, "v", OKABE_ITO["orange"], 7), (gp_start, "|", "black", 10), (gp_end, "s", "black", 6),
                                      (detached, "^", OKABE_ITO["yellow"], 6), (freed, "X", OKABE_ITO["vermillion"], 7)):
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="none", marker=marker, color=colour,
                    markeredgecolor="black", markeredgewidth=0.5, markersize=size, zorder=5)
    for x, yy, text in labels:
        ax.text(x, yy, text, fontsize=6, ha="center", va="top")
    first = trace.first_violation()
    if first is not None:
        y = lane_of_cpu[0] + LANE_H / 2
        ax.plot([first], [y], marker="*", color=OKABE_ITO["vermillion"], markeredgecolor="black", markersize=16, zorder=6)
        ax.text(first, y + 0.55, "use-after-free", color=OKABE_ITO["vermillion"], fontsize=8, ha="center", weight="bold")
    if current is not None:
        ax.axvspan(current - 0.5, current + 0.5, color=OKABE_ITO["blue"], alpha=0.15, zorder=1)
        ax.axvline(current, color=OKABE_ITO["blue"], linewidth=1.2, zorder=1)
    # Lane names as plain text and a few x ticks: matplotlib's tick machinery is
    # most of the drawing time, and the widget redraws on every step.
    ax.yaxis.set_visible(False)
    for label, _, _ in lanes:
        ax.text(-0.01, y_of[label] + LANE_H / 2, label, transform=ax.get_yaxis_transform(), ha="right", va="center", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.set_xlim(-0.6, max(n - 0.4, 1))
    ax.set_ylim(-0.6, (len(lanes) - 1) * (LANE_H + 0.4) + LANE_H + 0.4)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    if legend:
        handles = [Patch(facecolor=c, hatch=h, edgecolor="black", label=l) for l, c, h, _ in _SPANS]
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
