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
        if page.locator("script[type='application/vnd.jupyter.widget-view+json']").count():
            # saved widget views render after the page loads
            page.wait_for_selector(".jupyter-widgets .widget-button, .jupyter-widgets .widget-html", state="attached", timeout=30_000)
        page.wait_for_timeout(250)
        page.add_script_tag(path=str(axe))
        violations = page.evaluate(SCAN)
        if violations:
            found[str(f.relative_to(site))] = violations
    page.goto((site / "lessons" / "06-rcu-irqs-ipis.html").as_uri())
    page.screenshot(path=str(ARTIFACTS / "docs-lesson6-1280.png"))
    page.close()
    assert found == {}, found
