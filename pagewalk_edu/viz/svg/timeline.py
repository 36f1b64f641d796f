"""The timeline as SVG built in Python: one lane per CPU and one for RCU,
spans as coloured and patterned bars, markers for IPIs, unlinks, frees and
grace periods, labels stacked in rows so that no two overlap, the current
step marked, and each CPU's next step written in its lane."""

from __future__ import annotations

from ..model.timeline import CPU_SPANS, MARKERS, RCU_SPANS, TimelineModel
from ..style import OKABE_ITO
from .base import SIZE, SvgImage, document, esc, text, text_width

LINE = 17
BAR = 9
PAD = 8
LABEL_GAP = 6
#: span kind -> (fill, pattern id or "")
SPAN_STYLE = {
    "irqs_off": (OKABE_ITO["vermillion"], "hatch-x"),
    "rcu": (OKABE_ITO["sky"], "dots"),
    "preempt": (OKABE_ITO["purple"], "hatch-b"),
    "mmap_lock": (OKABE_ITO["green"], "hatch-f"),
    "vma_lock": (OKABE_ITO["orange"], "hatch-h"),
    "gp": (OKABE_ITO["sky"], "dots"),
}
_NAMES = dict(CPU_SPANS + RCU_SPANS)


def place_labels(items: list[tuple[float, str]], left: float, right: float) -> list[tuple[int, float, float, str]]:
    """Give each (x, label) a row so that no two label boxes in a row overlap:
    (row, x0, x1, label); rows are reused greedily from the top."""
    rows: list[list[tuple[float, float]]] = []
    out = []
    for x, label in sorted(items, key=lambda t: t[0]):
        w = text_width(label) + 4
        x0 = min(max(left, x - w / 2), right - w)
        x1 = x0 + w
        for r, boxes in enumerate(rows):
            if all(x1 + LABEL_GAP <= a or x0 >= b + LABEL_GAP for a, b in boxes):
                boxes.append((x0, x1))
                out.append((r, x0, x1, label))
                break
        else:
            rows.append([(x0, x1)])
            out.append((len(rows) - 1, x0, x1, label))
    return out


def geometry(m: TimelineModel, width: int = 860) -> tuple[float, float, float]:
    """(left edge of the plot, right edge, width of one step) in SVG pixels."""
    lw = max(text_width(l.label) for l in m.lanes) + 2 * PAD
    plot_l, plot_r = lw, width - PAD
    return plot_l, plot_r, (plot_r - plot_l) / max(m.states, 12)


def step_span(m: TimelineModel, i: int, width: int = 860) -> tuple[float, float]:
    """Where step i's column lies, as fractions of the image width (for an overlay)."""
    plot_l, _, dx = geometry(m, width)
    return (plot_l + i * dx) / width, (plot_l + (i + 1) * dx) / width


def timeline_svg_model(m: TimelineModel, *, width: int = 860, legend: bool = True) -> str:
    plot_l, plot_r, dx = geometry(m, width)
    steps = max(m.states, 12)

    def x_of(i: float) -> float:
        return plot_l + (i + 0.5) * dx

    body: list[str] = []
    y = PAD + LINE + 4  # the step axis on top
    lane_y: dict[str, tuple[float, float]] = {}
    labels_out = []
    for lane in m.lanes:
        top = y
        title = f"{lane.label}: {lane.next}"
        body.append(f'<g class="lane" data-lane="{lane.key}">')
        body.append(text(PAD, top + LINE - 4, lane.label, weight="bold"))
        room = plot_r - plot_l - 8
        nxt = lane.next
        if text_width(nxt) > room:  # cut at a word, never inside one; the whole sentence is in <desc>
            while nxt and text_width(nxt + " …") > room:
                nxt = nxt.rsplit(" ", 1)[0] if " " in nxt else ""
            nxt += " …"
        lane = lane.__class__(lane.key, lane.label, lane.cpu, nxt, lane.rows)
        nxt_x = plot_l + 4
        if m.current is not None:
            nxt_x = min(max(plot_l + 4, x_of(m.current) + dx / 2 + 6), plot_r - text_width(lane.next) - 2)
            nxt_x = max(plot_l + 4, nxt_x)
        body.append(text(nxt_x, top + LINE - 4, lane.next, fill="#222", cls="lane-next"))
        bars_top = top + LINE + 2
        for k, kind in enumerate(lane.rows):
            fill, pat = SPAN_STYLE[kind]
            yy = bars_top + k * (BAR + 2)
            for s in m.spans:
                if s.lane == lane.key and s.kind == kind:
                    x0, x1 = x_of(s.start - 0.5), x_of(s.end + 0.5)
                    body.append(f'<rect class="span span-{kind}" x="{x0:.1f}" y="{yy:.1f}" width="{x1 - x0:.1f}" height="{BAR}" '
                                f'fill="{fill}" stroke="#111" stroke-width="0.6"/>'
                                f'<rect x="{x0:.1f}" y="{yy:.1f}" width="{x1 - x0:.1f}" height="{BAR}" fill="url(#{pat})"/>')
        marks_y = bars_top + len(lane.rows) * (BAR + 2) + 8
        items = []
        for mk in m.markers:
            if mk.lane != lane.key:
                continue
            body.append(_marker(mk, x_of(mk.step), marks_y))
            if mk.label and mk.kind != "ipi":
                items.append((x_of(mk.step), mk.label))
        placed = place_labels(items, plot_l, plot_r)
        label_top = marks_y + 10
        for r, x0, x1, label in placed:
            ly = label_top + r * LINE
            body.append(f'<g class="tl-label" data-x0="{x0:.1f}" data-x1="{x1:.1f}" data-row="{r}">'
                        + text(x0 + 2, ly + LINE - 4, label, fill="#111") + "</g>")
            labels_out.append((lane.key, r, x0, x1))
        nrows = max((p[0] for p in placed), default=-1) + 1
        bottom = label_top + nrows * LINE + 4
        body.append("</g>")
        lane_y[lane.key] = (top, bottom)
        y = bottom + 6
    height_plot = y
    # lane backgrounds go under everything
    bg = [f'<rect x="{plot_l:.1f}" y="{a:.1f}" width="{plot_r - plot_l:.1f}" height="{b - a:.1f}" fill="#F4F4F4"/>'
          for a, b in lane_y.values()]
    # IPIs as arrows from the sender's lane to the target's
    arrows = []
    for mk in m.markers:
        if mk.kind == "ipi" and mk.to_lane in lane_y:
            a, b = lane_y[mk.lane], lane_y[mk.to_lane]
            y1 = (a[0] + a[1]) / 2
            y2 = b[0] + LINE + 4 if b[0] > a[0] else b[1] - 6
            x1 = x_of(mk.step)
            arrows.append(f'<line class="ipi" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x1 + dx * 0.6:.1f}" y2="{y2:.1f}" '
                          f'stroke="{OKABE_ITO["orange"]}" stroke-width="2" stroke-dasharray="5 3" marker-end="url(#tl-arrow)"/>')
    # the step axis and the current step
    axis = [text(PAD, PAD + LINE - 4, "step", fill="#222")]
    every = 1 if steps <= 15 else 2 if steps <= 30 else 5 if steps <= 80 else 10
    for i in range(0, m.states, every):
        axis.append(text(x_of(i), PAD + LINE - 4, str(i), anchor="middle", fill="#222"))
    cur = []
    if m.current is not None:
        x = x_of(m.current)
        cur.append(f'<rect class="current" data-step="{m.current}" x="{x - dx / 2:.1f}" y="{PAD + LINE:.1f}" width="{dx:.1f}" '
                   f'height="{height_plot - PAD - LINE:.1f}" fill="{OKABE_ITO["blue"]}" fill-opacity="0.18" '
                   f'stroke="{OKABE_ITO["blue"]}" stroke-width="1.5"/>')
    leg = _legend(PAD, height_plot + 4, width) if legend else ([], 0)
    height = height_plot + leg[1] + PAD
    defs = _defs()
    parts = [defs, f'<rect width="{width}" height="{height:.0f}" fill="#fff"/>'] + bg + cur + axis + body + arrows + leg[0]
    return document(width, height, parts, title=m.alt.split(". ")[0], desc=m.alt, cls="pw-timeline")


def _marker(mk, x: float, y: float) -> str:
    k = mk.kind
    c = f'class="marker m-{k}" data-step="{mk.step}"'
    if k == "ipi":
        return f'<circle {c} cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{OKABE_ITO["orange"]}" stroke="#111"/>'
    if k == "ipi_taken":
        return f'<path {c} d="M{x - 6:.1f},{y - 5:.1f} L{x + 6:.1f},{y - 5:.1f} L{x:.1f},{y + 5:.1f} z" fill="{OKABE_ITO["orange"]}" stroke="#111"/>'
    if k == "detached":
        return f'<path {c} d="M{x - 6:.1f},{y + 5:.1f} L{x + 6:.1f},{y + 5:.1f} L{x:.1f},{y - 6:.1f} z" fill="{OKABE_ITO["yellow"]}" stroke="#111"/>'
    if k == "freed":
        return (f'<path {c} d="M{x - 5:.1f},{y - 5:.1f} L{x + 5:.1f},{y + 5:.1f} M{x + 5:.1f},{y - 5:.1f} L{x - 5:.1f},{y + 5:.1f}" '
                f'stroke="{OKABE_ITO["vermillion"]}" stroke-width="3.5"/>')
    if k == "gp_start":
        return f'<rect {c} x="{x - 1.5:.1f}" y="{y - 7:.1f}" width="3" height="14" fill="#111"/>'
    if k == "gp_end":
        return f'<rect {c} x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="#111"/>'
    if k == "uaf":
        pts = []
        import math

        for i in range(10):
            r = 10 if i % 2 == 0 else 4.5
            a = math.pi / 2 + i * math.pi / 5
            pts.append(f"{x + r * math.cos(a):.1f},{y - r * math.sin(a):.1f}")
        return f'<polygon {c} points="{" ".join(pts)}" fill="{OKABE_ITO["vermillion"]}" stroke="#111" stroke-width="1.2"/>'
    return ""


def _defs() -> str:
    return ('<defs>'
            '<pattern id="hatch-x" width="6" height="6" patternUnits="userSpaceOnUse"><path d="M0,0 L6,6 M6,0 L0,6" stroke="#000" stroke-width="1"/></pattern>'
            '<pattern id="dots" width="5" height="5" patternUnits="userSpaceOnUse"><circle cx="2.5" cy="2.5" r="1" fill="#000"/></pattern>'
            '<pattern id="hatch-b" width="6" height="6" patternUnits="userSpaceOnUse"><path d="M0,0 L6,6" stroke="#000" stroke-width="1"/></pattern>'
            '<pattern id="hatch-f" width="6" height="6" patternUnits="userSpaceOnUse"><path d="M0,6 L6,0" stroke="#000" stroke-width="1"/></pattern>'
            '<pattern id="hatch-h" width="6" height="6" patternUnits="userSpaceOnUse"><path d="M0,3 L6,3" stroke="#000" stroke-width="1"/></pattern>'
            f'<marker id="tl-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" '
            f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{OKABE_ITO["orange"]}"/></marker></defs>')


def _legend(x0: float, y0: float, width: float) -> tuple[list[str], float]:
    items = [(k, _NAMES[k]) for k in ("irqs_off", "rcu", "preempt", "mmap_lock", "vma_lock", "gp")]
    marks = [("ipi", "IPI sent"), ("ipi_taken", "IPI taken"), ("detached", "unlinked"), ("freed", "freed"),
             ("gp_start", "GP start"), ("gp_end", "GP end"), ("uaf", "use-after-free")]
    out, x, y = ['<g class="legend">'], x0, y0
    for kind, name in items:
        w = text_width(name) + 34
        if x + w > width - PAD:
            x, y = x0, y + LINE + 4
        fill, pat = SPAN_STYLE[kind]
        out.append(f'<rect x="{x:.1f}" y="{y + 4:.1f}" width="22" height="{BAR}" fill="{fill}" stroke="#111" stroke-width="0.6"/>'
                   f'<rect x="{x:.1f}" y="{y + 4:.1f}" width="22" height="{BAR}" fill="url(#{pat})"/>')
        out.append(text(x + 27, y + LINE - 3, name))
        x += w
    x, y = x0, y + LINE + 4
    from ..model.timeline import Marker

    for kind, name in marks:
        w = text_width(name) + 30
        if x + w > width - PAD:
            x, y = x0, y + LINE + 4
        out.append(_marker(Marker("", 0, kind, ""), x + 9, y + 9).replace('class="marker', 'class="legend-marker'))
        out.append(text(x + 22, y + LINE - 3, name))
        x += w
    out.append("</g>")
    return out, y + LINE + 4 - y0


def timeline_image(m: TimelineModel, **kw) -> SvgImage:
    return SvgImage(timeline_svg_model(m, **kw), m.alt)


del esc, SIZE, MARKERS
