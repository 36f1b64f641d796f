"""The CPU timeline of a trace (matplotlib): one lane per CPU plus the RCU
machinery; spans for IRQs off, RCU read-side sections and lock holds; IPIs as
arrows; grace periods; each table's detach and free; the use-after-free."""

from __future__ import annotations

from matplotlib.figure import Figure
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


def _lanes(trace: Trace) -> list[tuple[str, int | None, str | None]]:
    ctx = trace.ctx
    return [(f"CPU0 {ctx.walker_name}", 0, ctx.walker_name), (f"CPU1 {ctx.freer_name}", 1, ctx.freer_name), ("RCU", None, None)]


def timeline(trace: Trace, current: int | None = None) -> Figure:
    """A Figure of the whole trace; `current` (a state index) is highlighted."""
    n = len(trace.states)
    lanes = _lanes(trace)
    fig = Figure(figsize=(max(7.0, min(0.22 * n + 3, 18)), 3.6))
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
            on = [pred(s, cpu, actor) for s in trace.states]
            i = 0
            while i < n:
                if on[i]:
                    j = i
                    while j + 1 < n and on[j + 1]:
                        j += 1
                    ax.broken_barh([(i - 0.5, j - i + 1)], (y0 + k * sub_h, sub_h * 0.9), facecolors=colour, hatch=hatch,
                                   edgecolor="black", linewidth=0.3, zorder=2)
                    i = j + 1
                else:
                    i += 1
    rcu_y = y_of["RCU"]
    # grace periods: shaded while active
    active = [s.rcu.active for s in trace.states]
    i = 0
    while i < n:
        if active[i]:
            j = i
            while j + 1 < n and active[j + 1]:
                j += 1
            ax.broken_barh([(i - 0.5, j - i + 1)], (rcu_y + 0.55, 0.35), facecolors=OKABE_ITO["sky"], edgecolor="black",
                           linewidth=0.3, hatch="..", zorder=2)
            i = j + 1
        else:
            i += 1
    lane_of_cpu = {0: y_of[lanes[0][0]], 1: y_of[lanes[1][0]]}
    for step, e in enumerate(trace.events, start=1):
        y = lane_of_cpu.get(e.cpu, rcu_y) + LANE_H / 2
        for ch in e.changes:
            kind, _, arg = ch.partition(":")
            if kind == "ipi" and arg.startswith("cpu"):
                target = lane_of_cpu[int(arg[3:])] + LANE_H / 2
                ax.annotate("", xy=(step + 0.3, target), xytext=(step, y),
                            arrowprops={"arrowstyle": "->", "color": OKABE_ITO["orange"], "lw": 1.5, "linestyle": "--"}, zorder=4)
            elif kind == "ipi_taken":
                ax.plot([step], [y], marker="v", color=OKABE_ITO["orange"], markersize=7, zorder=5)
            elif kind == "gp" and arg in ("start", "end"):
                ax.plot([step], [rcu_y + 0.72], marker="|" if arg == "start" else "s", color="black", markersize=10, zorder=5)
                ax.text(step, rcu_y + 0.95, f"GP {arg}", fontsize=6, ha="center")
            elif kind == "detached":
                ax.plot([step], [y - 0.3], marker="^", color=OKABE_ITO["yellow"], markeredgecolor="black", markersize=6, zorder=5)
                ax.text(step, y - 0.48, f"#{arg}", fontsize=6, ha="center")
            elif kind == "freed":
                ax.plot([step], [rcu_y + 0.2 if e.cpu is None else y - 0.3], marker="X", color=OKABE_ITO["vermillion"],
                        markersize=7, zorder=5)
                ax.text(step, (rcu_y + 0.02 if e.cpu is None else y - 0.48), f"free #{arg}", fontsize=6, ha="center")
    first = trace.first_violation()
    if first is not None:
        y = lane_of_cpu[0] + LANE_H / 2
        ax.plot([first], [y], marker="*", color=OKABE_ITO["vermillion"], markeredgecolor="black", markersize=16, zorder=6)
        ax.text(first, y + 0.55, "use-after-free", color=OKABE_ITO["vermillion"], fontsize=8, ha="center", weight="bold")
    if current is not None:
        ax.axvspan(current - 0.5, current + 0.5, color=OKABE_ITO["blue"], alpha=0.15, zorder=1)
        ax.axvline(current, color=OKABE_ITO["blue"], linewidth=1.2, zorder=1)
    ax.set_yticks([y_of[l] + LANE_H / 2 for l, _, _ in lanes], [l for l, _, _ in lanes], fontsize=8)
    ax.set_xlim(-0.6, max(n - 0.4, 1))
    ax.set_ylim(-0.6, (len(lanes) - 1) * (LANE_H + 0.4) + LANE_H + 0.4)
    ax.set_xlabel("step", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    handles = [Patch(facecolor=c, hatch=h, edgecolor="black", label=l) for l, c, h, _ in _SPANS]
    handles.append(Patch(facecolor=OKABE_ITO["sky"], hatch="..", edgecolor="black", label="grace period"))
    ax.legend(handles=handles, fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def timeline_png(trace: Trace, current: int | None = None, dpi: int = 80) -> bytes:
    import io

    fig = timeline(trace, current)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def timeline_text(trace: Trace) -> str:
    from .text import trace_text

    return trace_text(trace)
