"""The verdict matrix and the tables chart as SVG built in Python (used where
matplotlib is absent, e.g. the in-browser course), from the same view models
the matplotlib figures draw."""

from __future__ import annotations

from ...kernel.geometry import fmt_size
from ..model.charts import MatrixModel, TablesModel
from ..style import OKABE_ITO, VERDICT_COLOUR
from .base import SvgImage, document, text, text_width

PAD = 8
LINE = 17
_PATTERN = {"safe": "", "safe_but_stale": "m-dots", "unsafe": "m-cross", "deadlock": "m-diag"}


def _wrap_words(s: str, width: float) -> list[str]:
    from .tree import wrap

    return wrap(s.replace("_", "_ "), width) if text_width(s) > width else [s]


def matrix_svg(m: MatrixModel) -> str:
    cw, ch = 104, 34
    lw = max(text_width(r) for r in m.rows) + 2 * PAD
    heads = [_wrap_words(c, cw - 6) for c in m.cols]
    head_h = max(len(h) for h in heads) * LINE + 6
    width = max(lw + cw * len(m.cols) + PAD, 420)
    from .tree import wrap

    # the title breaks at spaces only (an identifier such as TABLE_FREE_FALLBACK=ipi stays whole), every line kept
    title_lines = wrap(m.title, width - 2 * PAD)
    top = PAD + len(title_lines) * LINE + head_h
    height = top + ch * len(m.rows) + PAD + LINE
    out = [f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>',
           '<defs><pattern id="m-dots" width="6" height="6" patternUnits="userSpaceOnUse"><circle cx="3" cy="3" r="1.1" fill="#000"/></pattern>'
           '<pattern id="m-cross" width="8" height="8" patternUnits="userSpaceOnUse"><path d="M0,0 L8,8 M8,0 L0,8" stroke="#000" stroke-width="0.8"/></pattern>'
           '<pattern id="m-diag" width="8" height="8" patternUnits="userSpaceOnUse"><path d="M0,8 L8,0" stroke="#000" stroke-width="0.8"/></pattern></defs>']
    for i, line in enumerate(title_lines):
        out.append(text(PAD, PAD + (i + 1) * LINE - 4, line, weight="bold" if i == 0 else "normal"))
    for c, lines in enumerate(heads):
        x = lw + c * cw + cw / 2
        for k, piece in enumerate(lines):
            out.append(text(x, top - head_h + (k + 1) * LINE - 2, piece.replace("_ ", "_"), anchor="middle", weight="bold"))
    out.append(text(PAD, top - 6, "walker holds", weight="bold"))
    for r, row in enumerate(m.rows):
        out.append(text(PAD, top + r * ch + ch / 2 + 5, row))
    for cell in m.cells:
        x, y = lw + cell.col * cw, top + cell.row * ch
        out.append(f'<g class="cell" data-verdict="{cell.verdict}"><rect x="{x + 1}" y="{y + 1}" width="{cw - 2}" height="{ch - 2}" '
                   f'fill="{VERDICT_COLOUR[cell.verdict]}"/>')
        if _PATTERN[cell.verdict]:
            out.append(f'<rect x="{x + 1}" y="{y + 1}" width="{cw - 2}" height="{ch - 2}" fill="url(#{_PATTERN[cell.verdict]})" '
                       f'fill-opacity="0.35"/>')
        word_w = text_width(cell.word) + 8
        out.append(f'<rect x="{x + cw / 2 - word_w / 2:.1f}" y="{y + ch / 2 - 10:.1f}" width="{word_w:.1f}" height="19" rx="3" fill="#fff"/>')
        out.append(text(x + cw / 2, y + ch / 2 + 4, cell.word, anchor="middle", weight="bold") + "</g>")
    return document(width, height, out, title=f"Verdict matrix, {m.title}", desc=m.alt, cls="pw-matrix")


def tables_svg(m: TablesModel) -> str:
    n = max(1, len(m.bars))
    bw = 44
    lw = 70
    plot_h = 200
    width = max(420, lw + n * (bw + 30) + PAD)
    top = PAD + 2 * LINE
    peak = max([b.predicted for b in m.bars] + [b.measured or 0 for b in m.bars] + [4096])
    out = [f'<rect width="{width:.0f}" height="{top + plot_h + 4 * LINE:.0f}" fill="#fff"/>',
           text(PAD, PAD + LINE - 2, m.title, weight="bold"),
           '<defs><pattern id="t-hatch" width="6" height="6" patternUnits="userSpaceOnUse"><path d="M0,6 L6,0" stroke="#000" stroke-width="1"/></pattern></defs>']
    base = top + plot_h
    out.append(f'<line x1="{lw}" x2="{width - PAD}" y1="{base}" y2="{base}" stroke="#111"/>')
    out.append(text(lw - 4, base, "0", anchor="end"))
    out.append(text(lw - 4, top + 12, fmt_size(peak) if peak % 1024 == 0 else str(peak), anchor="end"))
    have_real = any(b.measured is not None for b in m.bars)
    for i, b in enumerate(m.bars):
        x = lw + 12 + i * (bw + 30)
        h = plot_h * b.predicted / peak
        w = bw / 2 if have_real else bw
        out.append(f'<rect class="bar predicted" x="{x}" y="{base - h:.1f}" width="{w}" height="{h:.1f}" fill="{OKABE_ITO["blue"]}"/>')
        if b.measured is not None:
            h2 = plot_h * b.measured / peak
            out.append(f'<rect class="bar measured" x="{x + w}" y="{base - h2:.1f}" width="{w}" height="{h2:.1f}" '
                       f'fill="{OKABE_ITO["orange"]}" stroke="#111" stroke-width="0.6"/>'
                       f'<rect x="{x + w}" y="{base - h2:.1f}" width="{w}" height="{h2:.1f}" fill="url(#t-hatch)"/>')
        if b.mismatch:
            out.append(text(x + bw / 2, top + 12, "mismatch", anchor="middle", weight="bold", fill="#9E3A00"))
        out.append(text(x + bw / 2, base + LINE, f"{b.step} {b.op}", anchor="middle"))
    ly = base + 2 * LINE + 6
    out.append(f'<rect x="{lw}" y="{ly - 11}" width="16" height="12" fill="{OKABE_ITO["blue"]}"/>' + text(lw + 22, ly, "simulator"))
    if have_real:
        out.append(f'<rect x="{lw + 120}" y="{ly - 11}" width="16" height="12" fill="{OKABE_ITO["orange"]}" stroke="#111"/>'
                   + text(lw + 142, ly, "kernel (VmPTE)"))
    return document(width, base + 3 * LINE + PAD, out, title=m.title, desc=m.alt, cls="pw-tables")


def matrix_image(m: MatrixModel) -> SvgImage:
    return SvgImage(matrix_svg(m), m.alt)


def tables_image(m: TablesModel) -> SvgImage:
    return SvgImage(tables_svg(m), m.alt)
