"""A glossary link in a lesson opens the glossary at its term in JupyterLab
(Debian's Chromium driven by Playwright), not at the glossary's top: the term's
heading is on screen once the glossary tab has opened."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

from .test_browser import ARTIFACTS, CHROMIUM, ROOT, _free_port, jupyterlab

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/test.sh installs Debian's chromium)")

LESSON = "03-munmap-free-pgtables.ipynb"


def _far_term() -> tuple[str, str]:
    """The first term this lesson links that sits well down the glossary (its 11th
    entry or later, below the first screen, so reaching it takes a scroll), and its heading."""
    sys.path.insert(0, str(ROOT / "tests" / "notebooks"))
    from lessons import GLOSSARY, glossary_anchors, read

    order = glossary_anchors()
    text = (ROOT / "notebooks" / LESSON).read_text(encoding="utf-8")
    linked = re.findall(r"\]\(glossary\.ipynb#cell-id=([\w-]+)\)", text)
    anchor = next((a for a in linked if order.index(a) >= 10), None)
    assert anchor, "the lesson links no term far enough down the glossary to tell"
    heading = next(c.source.splitlines()[0][3:].strip() for c in read(GLOSSARY).cells if c.id == anchor)
    return anchor, heading


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    for name in (LESSON, "glossary.ipynb"):
        shutil.copy(ROOT / "notebooks" / name, work / name)
    shutil.copytree(ROOT / "notebooks" / "img", work / "img")
    yield from jupyterlab(work, tmp_path_factory.mktemp("jupyter-home"), _free_port(), "pagewalk-glossary-token",
                          "jupyterlab-glossary.log")


def test_a_glossary_link_opens_the_glossary_at_the_term(browser, lab):
    url, token = lab
    anchor, heading = _far_term()
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{url}/lab/tree/{LESSON}?token={token}&reset", timeout=120_000)
    # JupyterLab rewrites the href to the file's URL and keeps the fragment
    link = page.locator(f".jp-RenderedMarkdown a[href$='#cell-id={anchor}']").first
    link.wait_for(state="attached", timeout=120_000)
    link.scroll_into_view_if_needed()
    link.click()
    # the glossary opens in a tab of its own, and JupyterLab scrolls its panel to the term's cell
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedMarkdown h2", timeout=120_000)
    page.wait_for_function(
        """(heading) => {
            const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
            if (!panel || !panel.querySelector('.jp-RenderedMarkdown h2')) return false;
            const h = [...panel.querySelectorAll('.jp-RenderedMarkdown h2')].find(e => e.textContent.replace('¶', '').trim() === heading);
            if (!h) return false;
            const r = h.getBoundingClientRect();
            return r.top >= 0 && r.bottom <= window.innerHeight;
        }""", arg=heading, timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "glossary-link-1280x800.png"))
    scrolled = page.evaluate("""() => {
        const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
        return Math.max(...[...panel.querySelectorAll('*')].map(e => e.scrollTop));
    }""")
    assert scrolled > 200, f"the glossary panel is at its top (scrollTop {scrolled}): the link did not reach the term"
    page.close()
