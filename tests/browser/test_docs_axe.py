"""Every page of the built course site, scanned by axe-core at 1280x800 with
every rule and every impact: no violation.  The pages are read from disk as a
reader without a server opens them, after their saved widget views render.
(The Lite folder is the JupyterLite application the pages link to, served
over HTTP, not a page of this site.)"""

from __future__ import annotations

import pytest

from .test_browser import ARTIFACTS, CHROMIUM, axe_script

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/test.sh installs Debian's chromium)")

SCAN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(
  v => [v.id, v.impact, v.nodes.length, v.nodes[0].html.slice(0, 160)])"""


# Every saved widget view is drawn (the html-manager puts a .widget-subarea holding the
# widget before its view script) and the page has stopped changing for 300 ms: a box
# draws its children one promise after another, so the first widget seen is not all.
WATCH = """() => { window.__pwLast = performance.now();
  new MutationObserver(() => { window.__pwLast = performance.now(); })
    .observe(document.body, {childList: true, subtree: true, attributes: true, characterData: true}); }"""
DRAWN = """() => [...document.querySelectorAll("script[type='application/vnd.jupyter.widget-view+json']")].every(s => {
    const area = s.previousElementSibling;
    return area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets'); })
  && performance.now() - window.__pwLast > 300"""


def _pages(site):
    return sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] != "lite")


def test_axe_finds_no_violation_on_any_docs_page(browser, site):
    axe = axe_script()
    if axe is None:
        pytest.fail("axe-core is not installed: pip install axe-playwright-python (the test extra)")
    pages = _pages(site)
    names = {str(p.relative_to(site)) for p in pages}
    # the site's kinds of page are all here: reference pages, every lesson, the steppers
    assert {"index.html", "search.html", "steppers.html", "glossary.html", "lessons/06-rcu-irqs-ipis.html",
            "lessons/10-hugetlb-reuse.html", "_static/steppers/bug-rcu-sync-one/index.html"} <= names
    assert len([n for n in names if n.startswith("lessons/")]) >= 12
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    found = {}
    for f in pages:
        page.goto(f.as_uri())
        page.wait_for_load_state("load")
        page.evaluate(WATCH)
        page.wait_for_function(DRAWN, timeout=60_000)  # saved widget views render after the page loads
        page.add_script_tag(path=str(axe))
        violations = page.evaluate(SCAN)
        if violations:
            found[str(f.relative_to(site))] = violations
    page.goto((site / "lessons" / "06-rcu-irqs-ipis.html").as_uri())
    page.screenshot(path=str(ARTIFACTS / "docs-lesson6-1280.png"))
    page.close()
    assert found == {}, found
