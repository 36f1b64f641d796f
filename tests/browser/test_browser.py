"""The course as a user meets it, in a real browser (Debian's Chromium driven by
Playwright; Playwright's own browsers are never downloaded): JupyterLab runs
lesson 6 and its Explorer widget steps; the built docs site opens from disk,
shows its lessons and images, and requests nothing from the network.
Screenshots land in artifacts/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .lab import LabDidNotStart, free_port, run_all_cells, running_lab

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("PAGEWALK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

if CHROMIUM is None and os.environ.get("PAGEWALK_REQUIRE_BROWSER") == "1":
    # scripts/test.sh installs Debian's chromium and sets this: there a missing
    # browser is a broken set-up, not a reason to skip the tests a user relies on.
    raise RuntimeError("PAGEWALK_REQUIRE_BROWSER=1 but no chromium was found (set PAGEWALK_CHROMIUM)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/test.sh installs Debian's chromium)")


def axe_script() -> Path | None:
    """axe-core's script, as the axe-playwright-python package ships it (from npm's axe-core)."""
    try:
        import axe_playwright_python
    except ImportError:
        return None
    p = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    return p if p.exists() else None


def _free_port() -> int:
    return free_port()


def jupyterlab(work: Path, home: Path, port: int, token: str, log_name: str):
    """Run JupyterLab (tests/browser/lab.py, as the browser benchmark does)
    over `work`; yield (url, token), then stop it.  Its log lands in
    artifacts/`log_name`."""
    try:
        with running_lab(work, home, ARTIFACTS / log_name, port=port, token=token) as served:
            yield served
    except LabDidNotStart as err:
        pytest.fail(str(err))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port, token = _free_port(), "pagewalk-test-token"
    home = tmp_path_factory.mktemp("jupyter-home")
    work = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / "06-rcu-irqs-ipis.ipynb", work / "06-rcu-irqs-ipis.ipynb")
    yield from jupyterlab(work, home, port, token, "jupyterlab.log")


def test_lesson_6_explorer_steps_and_shows_the_bug_in_jupyterlab(browser, lab):
    url, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    run_all_cells(page, f"{url}/lab/tree/06-rcu-irqs-ipis.ipynb?token={token}")  # Run > Run All Cells, as a learner does
    step = page.locator(".widget-button:has-text('Step')").first
    step.wait_for(timeout=60_000)  # the cells have run: the page draws the views
    page.screenshot(path=str(ARTIFACTS / "lab-lesson6-widget.png"))
    log = page.locator(".widget-html:has-text('Event log')").first
    log.wait_for(timeout=60_000)
    before_log = log.inner_text()
    tree = page.locator(".widget-html svg").first
    before_tree = tree.inner_html() if tree.count() else ""
    step.scroll_into_view_if_needed()
    step.click()
    page.wait_for_function("(b) => document.body.innerText.includes('1. CPU')", arg=None, timeout=60_000)
    assert log.inner_text() != before_log, "the event log changes after Step"
    # the tree arrives as its own widget message
    page.wait_for_function("(b) => { const s = document.querySelector('.widget-html svg'); return (s ? s.innerHTML : '') !== b; }",
                           arg=before_tree, timeout=60_000)
    page.locator(".widget-button:has-text('Show me the bug')").first.click()
    page.wait_for_function("() => document.body.innerText.includes('Shortest counterexample loaded')", timeout=120_000)
    page.wait_for_function("() => document.body.innerHTML.includes('USE-AFTER-FREE') || document.body.innerHTML.includes('USE&#45;AFTER&#45;FREE')",
                           timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "lab-lesson6-bug.png"))
    page.close()


def test_saved_pages_keep_the_state_of_the_widgets_shown_and_no_key_helper(site):
    """A lesson page holds the widget state the docs build saved: the models of the
    widgets its cells display, and never the key helper's anywidget, whose script a
    saved page cannot load (its plain-HTML live region stands in)."""
    import json
    import re

    pages = 0
    for lesson in sorted((site / "lessons").glob("*.html")):
        text = lesson.read_text(encoding="utf-8")
        states = re.findall(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', text, re.S)
        views = [json.loads(v)["model_id"] for v in
                 re.findall(r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', text, re.S)]
        if not views:
            assert not states, f"{lesson.name}: widget state but no widget shown"
            continue
        pages += 1
        assert len(states) == 1, lesson.name
        state = json.loads(states[0])["state"]
        assert all(v in state for v in views), f"{lesson.name}: a view without its model"
        modules = {m["model_module"] for m in state.values()}
        assert "anywidget" not in modules, f"{lesson.name}: the key helper's anywidget was saved"
        assert modules <= {"@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output"}, modules

        def reach(ids, seen):  # the models a view's widget holds: children, layout, style
            for i in ids:
                if i in seen or i not in state:
                    continue
                seen.add(i)
                for v in state[i]["state"].values():
                    for x in (v if isinstance(v, list) else [v]):
                        if isinstance(x, str) and x.startswith("IPY_MODEL_"):
                            reach([x.removeprefix("IPY_MODEL_")], seen)
            return seen

        held = reach(views, set())
        assert held == set(state), f"{lesson.name}: {len(set(state) - held)} saved models no widget shown holds"
    assert pages >= 8, "the lessons that build an Explorer or a Quiz save their widgets"


def test_docs_site_reads_without_a_kernel_and_without_the_network(browser, site):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:", "blob:", "about:")) else None)
    page.goto((site / "index.html").as_uri())
    assert "LESSONS" in page.inner_text("body").upper()
    for lesson in sorted((site / "lessons").glob("*.html")):
        page.goto(lesson.as_uri())
        page.wait_for_load_state("load")
        text = page.inner_text("article")
        assert "You will learn to" in text and "Recap" in text, lesson.name
        for img in page.locator("article img").all():
            assert (img.get_attribute("alt") or "").strip(), f"{lesson.name}: an image without alt text"
            assert page.evaluate("(e) => e.complete && e.naturalWidth > 0", img.element_handle()), f"{lesson.name}: an image did not load"
    page.goto((site / "lessons" / "06-rcu-irqs-ipis.html").as_uri())
    # the saved widget state renders (its first buttons may sit behind "more settings")
    page.wait_for_selector(".widget-button >> visible=true", timeout=30_000)
    note = page.locator(".pw-explorer .pw-nokernel").first  # no kernel behind a saved page: the widget says so
    assert note.is_visible() and "not connected to a running Python kernel" in note.inner_text()
    hrefs = note.evaluate("(n) => [...n.querySelectorAll('a')].map(a => a.href)")
    assert hrefs and hrefs[0].endswith("/steppers.html") and (site / "steppers.html").exists(), hrefs
    assert hrefs[1].endswith("/lite/lab/index.html") and (site / "lite" / "lab" / "index.html").exists(), hrefs
    page.screenshot(path=str(ARTIFACTS / "docs-lesson6.png"))
    page.goto((site / "_static" / "steppers" / "bug-rcu-sync-one" / "index.html").as_uri())
    first = page.inner_text("#line")
    page.click("#next")
    assert page.inner_text("#line") != first
    page.fill("#slider", "0")
    page.evaluate("() => { const s = document.getElementById('slider'); s.value = s.max; s.dispatchEvent(new Event('input')); }")
    assert "use-after-free" in page.inner_text("body").lower()
    assert page.evaluate("() => document.getElementById('tree').naturalWidth > 0")
    # the event log links each kernel function to its source file, reached with Tab from the log
    page.focus("#log")
    page.keyboard.press("Tab")
    link = page.evaluate("() => { const a = document.activeElement; return a.matches('#log a.pw-src-link') ? [a.textContent, a.title] : null; }")
    assert link is not None, "Tab from the stepper's event log reaches its first source link"
    assert link[0].rstrip(")").endswith((".c", ".h")), link
    assert link[0].split("(")[-1].rstrip(")") in link[1]
    page.screenshot(path=str(ARTIFACTS / "docs-stepper.png"))
    assert not external, f"the site requested the network: {external[:3]}"
    page.close()
