"""The in-browser course scanned by axe-core (npm's axe-core, as axe-playwright-python
ships it and tests/browser injects it) with every rule and every impact: lesson 06 run
in the Lite site at 1280x800, its Explorer stepped once with every setting shown, and
no violation in what the course itself puts on the page, the widgets' output areas and
the rendered markdown cells.  (JupyterLab's own chrome, its toolbars, editors and
notebook panel, is not the course's to fix and is left out of the scan.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from litebrowser import cells, open_notebook, run_all

# the course's own output: the widgets (each a .pw-root in an output area) and the lesson's text
SCOPE = [[".jp-OutputArea-output .pw-root"], [".jp-MarkdownCell .jp-RenderedMarkdown"]]
SCAN = """async (include) => (await axe.run({include}, {resultTypes: ['violations']})).violations.map(
  v => [v.id, v.impact, v.nodes.length, v.nodes[0].html.slice(0, 160)])"""


def _axe() -> Path:
    try:
        import axe_playwright_python
    except ImportError:
        pytest.fail("axe-core is not installed: pip install axe-playwright-python (the test extra)")
    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


def test_axe_finds_no_violation_in_the_course_output_of_a_lite_lesson(page, site):
    axe = _axe()
    open_notebook(page, site, "06-rcu-irqs-ipis.ipynb")
    run_all(page)
    assert not [e for c in cells(page) for e in c["errors"]], "lesson 06 runs in the browser"
    explorer = page.locator(".pw-explorer").first
    explorer.locator(".widget-button:has-text('Step')").first.click()
    page.wait_for_function("() => document.body.textContent.includes('Step 1 of')", timeout=30_000)
    explorer.locator("button:has-text('more settings')").first.click()  # scan the settings a lesson hides too
    explorer.locator(".pw-group-config").first.wait_for(state="visible", timeout=30_000)
    explorer.scroll_into_view_if_needed()
    shown = page.evaluate("(s) => s.map(([sel]) => document.querySelectorAll(sel).length)", SCOPE)
    assert shown[0] >= 1 and shown[1] >= 10, f"the scan covers the Explorer and the lesson's text: {shown}"
    page.add_script_tag(path=str(axe))
    assert page.evaluate(SCAN, SCOPE) == []
