"""Every word of the verdict-matrix charts is readable: the contrast between
its colour and the colour actually behind it is at least 4.5:1 (WCAG 2.x), in
colour and once the picture is turned grey, and no hatch line runs under it.
Checked for both kernels' matrices and the hugetlb matrix, in the matplotlib
figure (its rendered pixels) and in the SVG built in Python."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from pagewalk_edu.explore.matrix import HUGETLB_ROWS, matrix
from pagewalk_edu.kernel.config import KernelConfig
from pagewalk_edu.kernel.scenario import HUGETLB_ACTIONS
from pagewalk_edu.viz.model import matrix_model
from pagewalk_edu.viz.svg.base import SIZE, text_width
from pagewalk_edu.viz.svg.charts import matrix_svg


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb) -> float:
    """WCAG relative luminance of an (r, g, b) in 0..1."""
    r, g, b = (_linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def grey(rgb) -> tuple[float, float, float]:
    """What a plain greyscale conversion (Rec. 601 luma on the encoded values, as PIL's "L") gives."""
    y = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (y, y, y)


def contrast(a, b) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def readable(ink, ground) -> bool:
    return contrast(ink, ground) >= 4.5 and contrast(grey(ink), grey(ground)) >= 4.5


def hex_rgb(text: str) -> tuple[float, float, float]:
    text = text.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    return tuple(int(text[i:i + 2], 16) / 255 for i in (0, 2, 4))


@pytest.fixture(scope="module")
def matrices():
    return {
        "6.18": matrix(KernelConfig.for_kernel("6.18")),
        "7.1": matrix(KernelConfig.for_kernel("7.1")),
        "hugetlb": matrix(KernelConfig.for_kernel("6.18"), rows=HUGETLB_ROWS, actions=HUGETLB_ACTIONS),
    }


@pytest.mark.parametrize("which", ["6.18", "7.1", "hugetlb"])
def test_every_word_of_the_matplotlib_matrix_reads_on_what_is_behind_it(matrices, which):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgb, to_rgba
    from matplotlib.text import Text

    from pagewalk_edu.viz.matrix import matrix_figure

    m = matrices[which]
    fig = matrix_figure(m)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    pixels = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(float) / 255
    height = pixels.shape[0]
    ax = fig.axes[0]
    plot = ax.get_window_extent(renderer)
    words = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    cell_words = [t for t in words if t in ax.texts]
    assert len(cell_words) == len(m.cells), "one word per cell"
    seen = set()
    for t in words:
        ink = to_rgb(t.get_color())
        box = t.get_window_extent(renderer)
        if t in ax.texts:
            patch = t.get_bbox_patch()
            assert patch is not None, f"{t.get_text()!r} has no backing box over the hatching"
            fc = to_rgba(patch.get_facecolor())
            assert fc[3] == 1.0, f"{t.get_text()!r}'s backing box is see-through"
            ground = fc[:3]
            # the pixels the letters sit on are only ink, backing, or a blend of the two:
            # no hatch line and no cell colour shows through anywhere inside the word
            x0, x1 = int(box.x0) + 1, int(box.x1) - 1
            y0, y1 = height - int(box.y1) + 1, height - int(box.y0) - 1
            area = pixels[y0:y1, x0:x1].reshape(-1, 3)
            ink_a, ground_a = np.array(ink), np.array(ground)
            span = ground_a - ink_a
            share = np.clip((area - ink_a) @ span / (span @ span), 0, 1)
            off = np.abs(area - (ink_a + share[:, None] * span)).max()
            assert off < 0.06, f"{t.get_text()!r}: something else is drawn under the word ({off:.2f} off the ink-backing blend)"
        else:
            assert not box.overlaps(plot) or box.x1 <= plot.x0 or box.y1 <= plot.y0 or box.y0 >= plot.y1, \
                f"{t.get_text()!r} lies over the cells without a backing box"
            ground = to_rgb(fig.get_facecolor())
        assert readable(ink, ground), (t.get_text(), ink, ground, contrast(ink, ground), contrast(grey(ink), grey(ground)))
        seen.add(t.get_text())
    assert {"safe", "stale", "UNSAFE"} & seen
    fig_w = fig.get_size_inches()[0] * fig.dpi
    assert all(t.get_window_extent(renderer).x1 <= fig_w + 1 for t in words), "a label runs off the picture"


def _cells(root, ns):
    for g in root.iter(f"{ns}g"):
        if g.get("class") == "cell":
            yield g


@pytest.mark.parametrize("which", ["6.18", "7.1", "hugetlb"])
def test_every_word_of_the_svg_matrix_reads_on_what_is_behind_it(matrices, which):
    m = matrices[which]
    root = ET.fromstring(matrix_svg(matrix_model(m)))
    ns = "{http://www.w3.org/2000/svg}"
    cells = list(_cells(root, ns))
    assert len(cells) == len(m.cells)
    areas = []
    for g in cells:
        rects = [r for r in g if r.tag == f"{ns}rect"]
        word = next(e for e in g if e.tag == f"{ns}text")
        backing = rects[-1]  # drawn last before the word: what the letters sit on
        assert not backing.get("fill").startswith("url("), "the word sits on the hatch pattern"
        assert float(backing.get("fill-opacity", "1")) == 1 and float(backing.get("opacity", "1")) == 1
        x, y, size = float(word.get("x")), float(word.get("y")), float(word.get("font-size", SIZE))
        w = text_width(word.text, size)
        left = x - w / 2 if word.get("text-anchor") == "middle" else x
        bx, by = float(backing.get("x")), float(backing.get("y"))
        bw, bh = float(backing.get("width")), float(backing.get("height"))
        assert bx <= left and left + w <= bx + bw and by <= y - 0.75 * size and y + 0.25 * size <= by + bh, \
            f"{word.text!r} runs out of its backing box"
        assert readable(hex_rgb(word.get("fill", "#000")), hex_rgb(backing.get("fill")))
        outer = rects[0]
        areas.append(tuple(float(outer.get(k)) for k in ("x", "y", "width", "height")))
    background = next(r for r in root if r.tag == f"{ns}rect")
    for t in root.iter(f"{ns}text"):
        if any(t is next(e for e in g if e.tag == f"{ns}text") for g in cells):
            continue
        x, y = float(t.get("x")), float(t.get("y"))
        assert not any(ax <= x <= ax + aw and ay <= y <= ay + ah for ax, ay, aw, ah in areas), t.text
        assert readable(hex_rgb(t.get("fill", "#000")), hex_rgb(background.get("fill")))


def test_the_verdicts_stay_apart_in_greyscale():
    """Colour is never the only cue: each verdict has its own hatch (matplotlib)
    and pattern (SVG), besides its word."""
    from pagewalk_edu.viz.style import VERDICT_HATCH
    from pagewalk_edu.viz.svg import charts

    assert len(set(VERDICT_HATCH.values())) == len(VERDICT_HATCH)
    assert len(set(charts._PATTERN.values())) == len(charts._PATTERN)
    assert re.search(r"m-cross", matrix_svg(matrix_model(matrix(KernelConfig.for_kernel("6.18"), rows=((),),
                                                                  actions=("munmap",)))))


def test_the_chart_and_its_alt_text_name_the_walker_and_the_patch():
    cfg = KernelConfig.for_kernel("6.18")
    gup = matrix_model(matrix(cfg, rows=((),), actions=("munmap",), walk="gup_fast"))
    patched = matrix_model(matrix(cfg, rows=((),), actions=("munmap",), patch="fw_vma_locked"))
    assert gup.title.startswith("gup_fast, local walker") and "gup_fast" in gup.alt
    assert "folio_walk_start with patch fw_vma_locked (not in a release)" in patched.alt
