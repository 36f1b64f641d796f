"""The page-table tree as SVG, laid out in pure Python (no `dot`, no
matplotlib): one horizontal rank per level, top to bottom, labelled with the
address bits it indexes; the boxes placed by tree_layout.Layout, the edges,
the VMA bands and the legend drawn here."""

from __future__ import annotations

from ..model.sharing import where_lines
from ..model.tree import TreeModel
from ..style import CURSOR_EDGE, CURSOR_FILL, LIFE_STYLE, OKABE_ITO
from .base import SIZE, SvgImage, document, esc, text, text_width
from .tree_layout import (BOX_W, LEAF_GAP, LEAF_H, LEAF_W, LINE, PAD, RANK_LABEL_W, ROW, Layout, head_h, leaf_where,
                          page_h, row_h, span_lines, table_h)

RANK_GAP = 32
PATH = OKABE_ITO["blue"]

#: lifecycle -> (SVG stroke-dasharray, stroke width); with the fill colour and the badge word
DASH = {"live": ("", 1.5), "detached": ("7 4", 2.2), "rcu_pending": ("2 3", 2.4), "ipi_pending": ("9 3 2 3", 2.6),
        "freed": ("", 4.0), "reused": ("1 2", 4.0)}


def tree_svg_model(m: TreeModel, *, legend: bool = True, width_hint: int | None = None) -> str:
    """SVG text of a TreeModel."""
    # a table several entries point at (hugetlb PMD sharing) lists them in
    # labels beside it: the layout keeps that room inside the parents' columns
    ids = {n.id for n in m.tables} | {n.id for n in m.leaves}
    into: dict[str, list] = {}
    for e in m.edges:
        if e.kind != "leaf" and e.src in ids and e.dst in ids:
            into.setdefault(e.dst, []).append(e)
    into = {d: v for d, v in into.items() if len(v) > 1}
    titles = {n.id: n.title for n in m.tables}
    lines = {id(e): _meet_lines(e, titles[e.src]) for v in into.values() for e in v}
    room = {d: 10 + max(text_width(t) for e in v for t in lines[id(e)]) for d, v in into.items()}
    lay = Layout(m, beside=room)
    leaf_h = page_h(m)
    content_w = lay.run() if lay.nodes else RANK_LABEL_W + BOX_W
    rank_h = [0.0] * len(m.ranks)
    for n in lay.nodes.values():
        h = table_h(n) if hasattr(n, "rows") else lay.drop.get(n.id, 0) + (lay.dy.get(n.id, 0) + 1) * (leaf_h + LEAF_GAP) - LEAF_GAP
        rank_h[n.rank] = max(rank_h[n.rank], h)
    head_lines = _head_lines(m, max(content_w, 480) - 2 * PAD)
    top = PAD + len(head_lines) * (LINE + 2) + 10  # the walker line and any use-after-free
    rank_y, rank_sep, y = [], [], top
    used = [i for i, h in enumerate(rank_h) if h > 0]
    last_used = used[-1] if used else 0
    # a rank holding a table several entries point at gets room above it for
    # their labels (where a neighbour leaves no room beside the table)
    meet = {lay.nodes[d].rank: sum(len(lines[id(e)]) for e in v) for d, v in into.items()}
    for i, h in enumerate(rank_h):
        rank_sep.append(y - RANK_GAP / 2)  # the line between ranks runs above any labels stacked over a box
        y += (meet.get(i, 1) - 1) * LINE
        rank_y.append(y)
        if i <= last_used:
            y += (h or 2 * LINE) + RANK_GAP
    body_end = y - RANK_GAP + 12
    meet_w = max((lay.x[d] + BOX_W + room[d] + PAD for d in into), default=0)
    width = max(content_w, meet_w, width_hint or 0, 480, *(text_width(t) + 2 * PAD for t, _ in head_lines))
    legend_rows = _legend_rows(width, bool(m.foreign)) if legend else []
    vma_parts, vma_h = _vma_band(m, PAD, body_end, width - 2 * PAD)
    height = body_end + vma_h + len(legend_rows) * (LINE + 6) + PAD
    out: list[str] = [f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>']
    # the walker: which address, which indices, what it does next
    for i, (line, cls) in enumerate(head_lines):
        out.append(text(PAD, PAD + (i + 1) * (LINE + 2) - 3, line, weight="bold",
                        fill="#9E3A00" if cls in ("uaf", "foreign") else PATH, cls=cls))
    # ranks
    for i, rank in enumerate(m.ranks[: last_used + 1]):
        y0 = rank_y[i]
        out.append(f'<g class="rank" data-level="{esc(rank.level)}">'
                   + text(PAD, y0 + LINE, rank.level, weight="bold")
                   + text(PAD, y0 + 2 * LINE, rank.bits, fill="#333") + "</g>")
        if i:
            out.append(f'<line x1="{PAD}" x2="{width - PAD:.0f}" y1="{rank_sep[i]:.0f}" y2="{rank_sep[i]:.0f}" '
                       f'stroke="#ddd" stroke-width="1"/>')
    # edges under the boxes
    pos = {nid: (lay.x[nid], rank_y[lay.nodes[nid].rank] + lay.drop.get(nid, 0) + lay.dy.get(nid, 0) * (leaf_h + LEAF_GAP))
           for nid in lay.nodes}
    # a table several entries point at (a shared PMD table, or one a sharer
    # unshared) takes each edge at its own place along its top, labels apart
    late: list[str] = []
    for e in m.edges:
        if e.src not in pos or e.dst not in pos:
            continue
        src = lay.nodes[e.src]
        sx, sy = pos[e.src]
        row_i = next((k for k, r in enumerate(src.rows) if r.index == e.index), len(src.rows) - 1)
        x1 = sx + BOX_W
        y1 = sy + head_h(src) + row_i * row_h(src) + row_h(src) / 2
        dw = LEAF_W if e.kind == "leaf" else BOX_W
        x2, y2 = pos[e.dst][0] + dw / 2, pos[e.dst][1]
        meets, k = len(into.get(e.dst, ())), 0
        if meets > 1:
            k = next(i for i, x in enumerate(into[e.dst]) if x is e)
            x2 = pos[e.dst][0] + dw * (k + 1) / (meets + 1)
        c = f"M{x1 - 4:.1f},{y1:.1f} C{x1 + 24:.1f},{y1:.1f} {x2:.1f},{y2 - 30:.1f} {x2:.1f},{y2 - 2:.1f}"
        across = e.kind == "leaf" and lay.nodes[e.dst].rank == src.rank
        if across and e.dst in lay.drop:  # a huge leaf under its table (no room beside): down its right side
            x2, y2 = pos[e.dst][0] + LEAF_W, pos[e.dst][1] + leaf_h / 2
            c = f"M{x1 - 4:.1f},{y1:.1f} C{x1 + 12:.1f},{y1:.1f} {x2 + 12:.1f},{y2:.1f} {x2 + 2:.1f},{y2:.1f}"
        elif across:  # a huge leaf beside its table: straight across from the entry
            x2, y2 = pos[e.dst][0], pos[e.dst][1] + leaf_h / 2
            c = f"M{x1 - 4:.1f},{y1:.1f} C{x1 + 8:.1f},{y1:.1f} {x2 - 8:.1f},{y2:.1f} {x2 - 2:.1f},{y2:.1f}"
        elif e.dst in lay.dy and lay.dy[e.dst] > 0:  # a stacked page: come in from the right, past the pages above
            x2, y2 = pos[e.dst][0] + LEAF_W, pos[e.dst][1] + leaf_h / 2
            c = f"M{x1 - 4:.1f},{y1:.1f} C{x1 + 30:.1f},{y1:.1f} {x2 + 40:.1f},{y2:.1f} {x2 + 2:.1f},{y2:.1f}"
        if e.kind == "ghost":
            stroke, dash, sw = ("#555", "5 4", 2.2)
        else:
            stroke, dash, sw = ("#333", "", 1.4)
        if e.on_path:
            stroke, sw = PATH, 3.5
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        # the walker's way into another mm's table: a double line (a wide
        # stroke with a white core), told apart from a freed table's without colour
        rail = (f'<path d="{c}" fill="none" stroke="#fff" stroke-width="{sw - 2.5:.1f}"{dash_attr}/>'
                if e.foreign else "")
        if e.foreign:
            sw += 3
        label = e.label + (" · FOREIGN read" if e.foreign else "")
        words = (text(x2 + 6, y2 - 8 - k * (LINE - 2), label, style="italic" if e.kind == "ghost" else "", fill="#222",
                      weight="bold" if e.on_path else "normal") if e.kind != "leaf" else "")
        if meets > 1:  # edges meeting at one table: labelled in a list beside it, each naming its source
            late.append(_meet_text(e, lay, pos, into[e.dst], lines, room[e.dst], leaf_h))
            words = ""
        out.append(f'<g class="edge {e.kind}{" path" if e.on_path else ""}{" foreign" if e.foreign else ""}" '
                   f'data-src="{e.src}" data-dst="{e.dst}">'
                   f'<path d="{c}" fill="none" stroke="{stroke}" stroke-width="{sw}"{dash_attr} marker-end="url(#arrow)"/>'
                   + rail + words + "</g>")
    out.extend(late)
    # boxes
    for n in m.tables:
        x, y = pos[n.id]
        out.append(_table_box(n, x, y))
    for n in m.leaves:
        x, y = pos[n.id]
        out.append(_leaf_box(n, x, y, leaf_h))
    # VMAs as a band along the address range of the drawn tables, with their locks
    out.extend(vma_parts)
    if legend_rows:
        out.extend(_legend(legend_rows, PAD, body_end + vma_h))
    defs = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
            'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker>'
            '<pattern id="reused-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
            f'<rect width="8" height="8" fill="{LIFE_STYLE["reused"][0]}"/><line x1="0" y1="0" x2="0" y2="8" stroke="#000" '
            'stroke-width="2"/></pattern></defs>')
    return document(width, height, [defs] + out, title=m.alt.splitlines()[0], desc=m.alt, cls="pw-tree")


def _meet_lines(e, src_title: str) -> list[str]:
    """The label of an edge where several meet: the entry and the table it
    comes from, the walker's foreign read on a line of its own (so the list
    stays narrow enough to stand inside the parents' columns)."""
    return [f"◀ {e.label} ({src_title})"] + (["  · FOREIGN read"] if e.foreign else [])


def _meet_text(e, lay, pos, meeting: list, lines: dict, room: float, leaf_h: float = LEAF_H) -> str:
    """One label of the list beside a table several entries point at: beside
    it (under its huge leaves) where nothing stands there and the box is tall
    enough, else stacked above the box on a white halo.  Its <title> holds
    the label on one line."""
    mine = lines[id(e)]
    before = sum(len(lines[id(x)]) for x in meeting[: meeting.index(e)])
    total = sum(len(lines[id(x)]) for x in meeting)
    dx, dy = pos[e.dst]
    own = [o for o in lay.side[e.dst] if o not in lay.drop]  # its huge leaves beside it: the list goes under them
    beside = min((pos[o][0] for o, n in lay.nodes.items() if n.rank == lay.nodes[e.dst].rank and pos[o][0] > dx
                  and o not in lay.side[e.dst]), default=float("inf"))
    under = len(own) * (leaf_h + LEAF_GAP) + 4
    if beside - (dx + BOX_W) >= room + 10 and under + total * LINE <= table_h(lay.nodes[e.dst]):
        lx, ly = dx + BOX_W + 10, dy + under + (before + 1) * LINE
    else:  # a neighbour stands there: stacked above the box
        lx, ly = dx + 4, dy - 6 - (total - before - 1) * LINE
    style = ' font-style="italic"' if e.kind == "ghost" else ""
    weight = ' font-weight="bold"' if e.on_path else ""
    # the continuation lines stand under the first line's words, past its "◀ "
    more = "".join(f'<tspan x="{lx + text_width(t) - text_width(t.lstrip()):.1f}" dy="{LINE}">{esc(t.lstrip())}</tspan>'
                   for t in mine[1:])
    return (f'<g class="meet"><title>{esc(" ".join(t.strip() for t in mine))}</title>'
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="{SIZE}" fill="#222"{weight}{style} class="meet-label" '
            f'paint-order="stroke" stroke="#fff" stroke-width="3">{esc(mine[0])}{more}</text></g>')


def wrap(line: str, width: float, size: float = SIZE) -> list[str]:
    """Break at spaces so that each piece fits `width` px (a word is never cut)."""
    out, cur = [], ""
    for word in line.split(" "):
        cand = f"{cur} {word}" if cur else word
        if cur and text_width(cand, size) > width:
            out.append(cur)
            cur = word
        else:
            cur = cand
    return out + ([cur] if cur else [])


def _head_lines(m: TreeModel, width: float) -> list[tuple[str, str]]:
    out = []
    for w in m.walkers:
        idx = " ".join(f"{lv.lower()}[{n}]" for lv, n in w.indices)
        line = (f"CPU{w.cpu} {w.actor} reads {w.addr:#x}: {idx}; "
                + (f"returned {w.result}" if w.next_step == "done" else f"next: {w.next_step}()"))
        out.extend((piece, "walker-line") for piece in wrap(line, width))
    for u in m.uaf:
        out.extend((piece, "uaf") for piece in wrap(u, width))
    for f in m.foreign:
        out.extend((piece, "foreign") for piece in wrap(f, width))
    return out


def _fill(life: str) -> str:
    return "url(#reused-hatch)" if life == "reused" else LIFE_STYLE[life][0]


def _table_box(n, x: float, y: float) -> str:
    h = table_h(n)
    dash, sw = DASH[n.life]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    edge = PATH if n.on_path and n.life == "live" else "#111"
    parts = [f'<g class="table life-{n.life}{" on-path" if n.on_path else ""}{" foreign" if n.foreign else ""}" '
             f'data-node="{n.id}" data-level="{n.level}" data-life="{n.life}"'
             + (f' data-owner="{esc(n.owner)}"' if n.owner else "") + ">"]
    if n.foreign:  # a second, outer outline: read as another mm's table (not a lifecycle)
        parts.append(f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="{BOX_W + 10}" height="{h + 10:.1f}" rx="7" fill="none" '
                     f'stroke="#111" stroke-width="2.5" class="foreign-outline"/>')
    parts += [f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{h:.1f}" rx="4" fill="#fff" stroke="{edge}" '
             f'stroke-width="{max(sw, 3.0) if n.on_path else sw}"{dash_attr}/>',
             f'<rect x="{x + 2:.1f}" y="{y + 2:.1f}" width="{BOX_W - 4}" height="{head_h(n) - 4}" fill="{_fill(n.life)}"/>']
    badge = n.badge + (", deposited" if n.deposited else "")
    parts.append(text(x + 8, y + LINE, n.title, weight="bold"))
    bw = text_width(badge) + 10
    parts.append(f'<rect x="{x + BOX_W - bw - 6:.1f}" y="{y + 4:.1f}" width="{bw:.1f}" height="{LINE}" rx="3" fill="#fff" '
                 f'stroke="#111" stroke-width="1"/>')
    parts.append(text(x + BOX_W - 11, y + LINE - 1, badge, anchor="end", cls="badge"))
    spans = span_lines(n)
    for k, line in enumerate(spans):
        parts.append(text(x + 8, y + (2 + k) * LINE + 1, line, fill="#111", cls="span"))
    below = 1 + len(spans)  # the lines above the owner's
    if n.owner:
        parts.append(text(x + 8, y + (below + 1) * LINE + 1, n.owner, weight="bold", cls="owner"))
    if n.foreign:  # the violation's word, boxed like the lifecycle badge
        fw = text_width(n.foreign.upper()) + 10
        fy = y + (below + (1 if n.owner else 0)) * LINE + 6
        parts.append(f'<rect x="{x + 6:.1f}" y="{fy:.1f}" width="{fw:.1f}" height="{LINE}" rx="3" fill="#111"/>')
        parts.append(text(x + 11, fy + LINE - 4, n.foreign.upper(), fill="#fff", weight="bold", cls="badge foreign"))
    ry = y + head_h(n)
    rh = row_h(n)
    for r in n.rows:
        if r.cursor:
            parts.append(_cursor_mark(x + 3, ry, BOX_W - 6, rh - 2))
        elif r.on_path:
            parts.append(f'<rect x="{x + 3:.1f}" y="{ry:.1f}" width="5" height="{rh - 2}" fill="{PATH}"/>')
        label = f"[{r.index}] {r.text}" + (" ◀ next" if r.cursor else "")
        parts.append(f'<g class="entry" data-index="{r.index}">'
                     + text(x + 12, ry + LINE - 3, label, weight="bold" if r.on_path else "normal")
                     + "".join(text(x + 12, ry + (2 + k) * LINE - 5, line, fill="#333", cls="span")
                               for k, line in enumerate(span_lines(r))) + "</g>")
        ry += rh
    if n.more:
        parts.append(text(x + 12, ry + LINE - 3, f"… {n.more} more entries", fill="#333"))
        ry += ROW
    for lock in n.locks:
        for k, piece in enumerate(wrap(f"lock: {lock}", BOX_W - 20)[:2]):
            parts.append(text(x + 12, ry + (k + 1) * LINE - 3, piece, weight="bold"))
        ry += ROW
    parts.append("</g>")
    return "".join(parts)


def _cursor_mark(x: float, y: float, w: float, h: float) -> str:
    """The next-read mark: a double frame (an outer and an inner line), a style
    no lifecycle border has, so that it is not read as one in colour or grey."""
    return (f'<g class="cursor"><rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{CURSOR_FILL}" '
            f'stroke="{CURSOR_EDGE}" stroke-width="2"/>'
            f'<rect x="{x + 3:.1f}" y="{y + 3:.1f}" width="{w - 6:.1f}" height="{h - 6:.1f}" fill="none" '
            f'stroke="{CURSOR_EDGE}" stroke-width="1"/></g>')


def _leaf_box(n, x: float, y: float, leaf_h: float = LEAF_H) -> str:
    huge = n.size > 4096
    stroke = PATH if n.on_path else "#111"
    # a leaf is a page, not a table: rounded, shaded, no entries
    return (f'<g class="leaf" data-node="{n.id}" data-level="{n.level}">'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{LEAF_W}" height="{leaf_h}" rx="{LINE}" '
            f'fill="{"#E8E8E8" if huge else "#F4F4F4"}" stroke="{stroke}" stroke-width="{3 if n.on_path else 1.3}"/>'
            + text(x + LEAF_W / 2, y + LINE + 1, n.label, anchor="middle", weight="bold")
            + "".join(text(x + LEAF_W / 2, y + (2 + k) * LINE, line, anchor="middle", fill="#333", cls="span")
                      for k, line in enumerate(where_lines(leaf_where(n)) or [f"{n.lo:#x}"]))
            + "</g>")


def notes(m: TreeModel, mm: str | None = None) -> list[str]:
    """The lines under a VMA band: the mmap_lock and what is queued for freeing
    (under the first band), the VMAs of band `mm` that it does not show: those
    no drawn table maps, and those a drawn upper table maps outside the band."""
    out = [m.mm_lock] if mm is None or (m.axes and mm == m.axes[0].mm) else []
    if mm is None or (m.axes and mm == m.axes[0].mm):
        out += [f"queued for freeing: {q}" for q in m.queued]
    off_band = [v for v in m.vmas if not v.visible and (mm is None or v.mm == mm)]
    outside = [v.name for v in off_band if not v.under]
    if outside:
        out.append("VMAs outside the drawn tables: " + ", ".join(outside))
    aside = [f"{v.name} ({v.lo:#x}-{v.hi:#x}, under {' and '.join(v.under)})" for v in off_band if v.under]
    if aside:
        out.append("VMAs under the drawn tables but off this band: " + "; ".join(aside))
    return out


def _vma_band(m: TreeModel, x0: float, y0: float, w: float) -> tuple[list[str], float]:
    """The VMAs as a band along the address range the drawn tables map, with
    their locks; with several mms one band each, on that mm's own axis (the
    shared table sits at different addresses in P and in Q).  Returns the
    SVG pieces and the height they take."""
    axes = [(a.mm, a.lo, a.hi) for a in m.axes] or [(None, m.lo, m.hi)]
    out, y = [], y0
    for mm, lo, hi in axes:
        head = f"{mm}'s VMAs over {lo:#x}-{hi:#x}" if mm is not None else f"VMAs over {lo:#x}-{hi:#x}"
        out.append(f'<g class="vma-band"{f" data-mm={chr(34)}{esc(mm)}{chr(34)}" if mm is not None else ""}>')
        out.append(text(x0, y + LINE, head, weight="bold"))
        span = max(1, hi - lo)
        by = y + LINE + 6
        out.append(f'<rect x="{x0:.1f}" y="{by:.1f}" width="{w:.1f}" height="{2 * LINE}" fill="#F4F4F4" stroke="#999"/>')
        narrow = []  # a VMA too narrow on this axis for its label: named under the band instead
        shown = [v for v in m.vmas if v.visible and (mm is None or v.mm == mm)]
        for k, v in enumerate(shown):
            a = x0 + max(0.0, max(v.lo, lo) - lo) / span * w
            b = x0 + min(w, (min(v.hi, hi) - lo) / span * w)
            b = max(b, a + 8)
            dashed = ' stroke-dasharray="5 3"' if "detached" in v.status else ""
            label = f"{v.name} ({v.kind})" + (f": {v.status}" if v.status else "")
            room = (x0 + w if k + 1 == len(shown) else x0 + max(0.0, max(shown[k + 1].lo, lo) - lo) / span * w) - a - 6
            words = text(a + 4, by + LINE + 4, label)
            if text_width(label) > room:
                narrow.append(f"{label} [{v.lo:#x}, {v.hi:#x})")
                words = f"<title>{esc(label)}</title>"
            out.append(f'<g class="vma" data-vma="{esc(v.name)}"><rect x="{a:.1f}" y="{by + 2:.1f}" width="{b - a:.1f}" '
                       f'height="{2 * LINE - 4}" fill="{OKABE_ITO["green"] if not v.status else OKABE_ITO["orange"]}" '
                       f'fill-opacity="0.35" stroke="#111" stroke-width="1.2"{dashed}/>' + words + "</g>")
        y = by + 2 * LINE + LINE + 2
        for line in ([f"Too narrow to label in the band: {'; '.join(narrow)}"] if narrow else []):
            for piece in wrap(line, w):
                out.append(text(x0, y, piece, fill="#222", cls="vma-narrow"))
                y += LINE
        for line in notes(m, mm):
            for piece in wrap(line, w):
                out.append(text(x0, y, piece, fill="#222"))
                y += LINE
        out.append("</g>")
        y += 4
    return out, y - y0 - LINE + 10


_LEGEND = ("live", "detached", "rcu_pending", "ipi_pending", "freed", "reused")
FOREIGN_KEY = "foreign: another mm's table, read by the walker"
CURSOR_KEY = "◀ next: the entry the walker reads next"


def _legend_rows(width: float, foreign: bool = False) -> list[list[str]]:
    rows, cur, used = [], [], 0.0
    keys = {"foreign": FOREIGN_KEY, "cursor": CURSOR_KEY}
    for life in _LEGEND + ("cursor",) + (("foreign",) if foreign else ()):
        w = text_width(keys.get(life, life)) + 40
        if cur and used + w > width - 2 * PAD:
            rows.append(cur)
            cur, used = [], 0.0
        cur.append(life)
        used += w
    if cur:
        rows.append(cur)
    return rows


def _legend(rows, x0: float, y0: float) -> list[str]:
    out = ['<g class="legend">']
    y = y0
    for row in rows:
        x = x0
        for life in row:
            if life == "foreign":  # not a lifecycle: the double outline of another mm's table
                out.append(f'<rect x="{x:.1f}" y="{y + 1:.1f}" width="24" height="{LINE}" fill="none" stroke="#111" '
                           f'stroke-width="2"/><rect x="{x + 4:.1f}" y="{y + 5:.1f}" width="16" height="{LINE - 8}" '
                           'fill="#fff" stroke="#111" stroke-width="1"/>')
                out.append(text(x + 30, y + LINE - 2, FOREIGN_KEY))
                x += text_width(FOREIGN_KEY) + 40
                continue
            if life == "cursor":  # not a lifecycle: the walker's next-read mark
                out.append(_cursor_mark(x, y + 1, 24, LINE))
                out.append(text(x + 30, y + LINE - 2, CURSOR_KEY))
                x += text_width(CURSOR_KEY) + 40
                continue
            dash, sw = DASH[life]
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<rect x="{x:.1f}" y="{y + 3:.1f}" width="24" height="{LINE - 4}" fill="{_fill(life)}" stroke="#111" '
                       f'stroke-width="{min(sw, 2.5)}"{dash_attr}/>')
            out.append(text(x + 30, y + LINE - 2, life))
            x += text_width(life) + 40
        y += LINE + 6
    out.append("</g>")
    return out


def tree_image(m: TreeModel, **kw) -> SvgImage:
    return SvgImage(tree_svg_model(m, **kw), m.alt)
