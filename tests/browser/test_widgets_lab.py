"""The Explorer, Quiz and Matrix as a learner meets them in JupyterLab (Debian's
Chromium driven by Playwright), at 1280x800 and 1920x1080: nothing wider than
the notebook, the tree's ranks top to bottom, a ghost edge after an unlink,
timeline labels apart, no text below 12 px, the live region on Step, Step and
Back from the keyboard alone, keystrokes that never reach the notebook, and an
axe-core scan of the widgets with no violation.  Screenshots land in artifacts/."""

from __future__ import annotations

import time
import urllib.request

import pytest

from .lab import run_all_cells, shut_down_kernels
from .test_browser import ARTIFACTS, CHROMIUM, _free_port, axe_script, jupyterlab

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/test.sh installs Debian's chromium)")

NOTEBOOK = "widgets.ipynb"
CELLS = [
    'from pagewalk_edu.widgets import Explorer\n'
    'explorer = Explorer(("rcu",), "munmap", config={"PT_RECLAIM": False}, fault="batch_alloc_fail")\nexplorer',
    "from pagewalk_edu.widgets import Quiz\nQuiz(seed=1, n=3)",
    "from pagewalk_edu.widgets import Matrix\nMatrix()",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    import nbformat

    port, token = _free_port(), "pagewalk-widgets-token"
    home = tmp_path_factory.mktemp("jupyter-home")
    work = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(work / NOTEBOOK))
    yield from jupyterlab(work, home, port, token, "jupyterlab-widgets.log")


def _open(browser, lab, width: int, height: int):
    """The notebook run top to bottom on a fresh kernel (an earlier test's kernel
    may still be working off the keys it was sent), its widgets drawn."""
    url, token = lab
    shut_down_kernels(url, token)
    page = browser.new_page(viewport={"width": width, "height": height})
    run_all_cells(page, f"{url}/lab/tree/{NOTEBOOK}?token={token}&reset")
    # the cells have run: what is left is the page drawing the widgets' views
    page.wait_for_selector(".pw-explorer .widget-button:has-text('Step')", timeout=60_000)
    page.wait_for_selector(".pw-root .widget-gridbox .widget-button", timeout=60_000)  # the Matrix's cells
    page.wait_for_function("() => document.querySelector('.pw-explorer .pw-tree svg') !== null", timeout=60_000)
    page.wait_for_function("() => document.querySelector('.pw-explorer').classList.contains('pw-live-kernel')", timeout=60_000)
    return page


def _live(page) -> str:
    return page.evaluate("() => document.querySelector('.pw-explorer .pw-live').textContent")


def _wait_live(page, before: str) -> str:
    page.wait_for_function("(b) => document.querySelector('.pw-explorer .pw-live').textContent !== b", arg=before, timeout=30_000)
    return _live(page)


LAYOUT = """() => {
  const out = {overflow: [], small: [], ranks: [], labels: []};
  for (const root of document.querySelectorAll('.pw-root')) {
    const area = root.closest('.jp-OutputArea-output') || root;
    for (const el of [area, root]) if (el.scrollWidth > el.clientWidth + 1) out.overflow.push([el.className.slice(0, 60), el.scrollWidth, el.clientWidth]);
    for (const el of root.querySelectorAll('*')) {
      if (!el.getClientRects().length || el.closest('.pw-live')) continue;
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      let px = parseFloat(getComputedStyle(el).fontSize);
      const svg = el.closest('svg');
      if (svg) px = parseFloat(el.getAttribute('font-size') || 13) * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      if (px < 11.95) out.small.push([el.tagName, el.textContent.slice(0, 30), px.toFixed(1)]);
    }
  }
  for (const g of document.querySelectorAll('.pw-explorer .pw-tree g.rank')) out.ranks.push([g.dataset.level, g.getBoundingClientRect().top]);
  for (const lane of document.querySelectorAll('.pw-explorer .pw-timeline g.lane'))
    out.labels.push([...lane.querySelectorAll('g.tl-label')].map(g => { const r = g.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }));
  return out;
}"""


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)], ids=["1280x800", "1920x1080"])
def test_explorer_fits_reads_and_steps_by_keyboard(browser, lab, size):
    page = _open(browser, lab, *size)
    tag = f"{size[0]}x{size[1]}"
    explorer = page.locator(".pw-explorer").first
    explorer.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"lab-explorer-step0-{tag}.png"))
    lay = page.evaluate(LAYOUT)
    assert not lay["overflow"], f"wider than the notebook: {lay['overflow']}"
    assert not lay["small"], f"text below 12 px: {lay['small'][:5]}"
    assert [lv for lv, _ in sorted(lay["ranks"], key=lambda r: r[1])] == ["PGD", "PUD", "PMD", "PTE", "page"]
    # the tree and the event log side by side
    tree_box = page.locator(".pw-explorer .pw-tree").first.bounding_box()
    log_box = page.locator(".pw-explorer .pw-log").first.bounding_box()
    assert log_box["x"] >= tree_box["x"] + tree_box["width"] - 1 and abs(log_box["y"] - tree_box["y"]) < 5
    assert log_box["width"] >= 290, "the event log is wide enough to read"
    # keyboard only: focus the Step button, n steps, b goes back; the live region says so
    page.locator(".pw-explorer .widget-button:has-text('Step')").first.focus()
    before = _live(page)
    page.keyboard.press("n")
    said = _wait_live(page, before)
    assert said.startswith("step 1 of 1, CPU0 walker")
    page.keyboard.press("ArrowRight")
    said = _wait_live(page, said)
    assert said.startswith("step 2 of 2")
    page.keyboard.press("b")
    said = _wait_live(page, said)
    assert said.startswith("step 1 of 2")
    page.keyboard.press("Enter")  # Enter on the focused Step button
    said = _wait_live(page, said)
    assert said.startswith("step 2 of 2")
    # each log line links its kernel function to the source file: Tab from the log reaches the links
    page.wait_for_function("() => document.querySelectorAll('.pw-explorer .pw-log a.pw-src-link').length >= 2")
    page.locator(".pw-explorer .pw-log-scroll").first.focus()
    page.keyboard.press("Tab")
    link = page.evaluate("""() => { const a = document.activeElement;
        return a.matches('.pw-log a.pw-src-link') ? [a.textContent.trim(), a.getAttribute('href'), a.title] : null; }""")
    assert link is not None, "Tab from the event log reaches its first source link"
    assert link[0] == "rcu_read_lock() (include/linux/rcupdate.h)", link  # the accessible name: function and file
    assert link[1].endswith("/source/include/linux/rcupdate.h") and "include/linux/rcupdate.h" in link[2]
    # the counterexample: a ghost edge to the entry the freed table occupied, labels apart
    page.locator(".pw-explorer .widget-button:has-text('Show me the bug')").first.click()
    page.wait_for_function("() => document.querySelector('.pw-explorer .pw-tree svg .edge.ghost') !== null", timeout=60_000)
    assert "was entry" in page.locator(".pw-explorer .pw-tree svg").first.inner_html()
    lay = page.evaluate(LAYOUT)
    assert not lay["overflow"], lay["overflow"]
    for boxes in lay["labels"]:
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], ("timeline labels overlap", a, b)
    cur = page.locator(".pw-explorer .pw-log .pw-current").first
    assert page.evaluate("""(li) => { const box = li.closest('.pw-log-scroll'); const a = li.getBoundingClientRect(), b = box.getBoundingClientRect();
                            return a.top >= b.top - 1 && a.bottom <= b.bottom + 1; }""", cur.element_handle()), "the log shows the current step"
    explorer.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"lab-explorer-bug-{tag}.png"))
    page.close()


KEYS = ["r", "d", "d", "b", "ArrowDown", "ArrowUp", "ArrowLeft", "ArrowRight", " ", "Escape", "r", "m", "y", "d", "d", "a", "z"]


def test_keystrokes_in_the_widgets_never_reach_the_notebook(browser, lab):
    page = _open(browser, lab, 1280, 800)
    shape = "() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => c.classList.contains('jp-CodeCell') ? 'code' : c.className).join(',')"
    start = page.evaluate(shape)
    assert start == "code,code,code"
    controls = page.locator(".pw-root select, .pw-root input, .pw-root button, .pw-root [role=slider], .pw-root .pw-log-scroll, .pw-root a")
    n = controls.count()
    assert n >= 30, f"only {n} controls found"
    for i in range(n):
        c = controls.nth(i)
        if not c.is_visible():
            continue
        c.focus()
        for k in KEYS:
            page.keyboard.press(k)
        assert page.evaluate(shape) == start, f"the notebook changed after keys in control {i}: {c.evaluate('e => e.outerHTML.slice(0, 120)')}"
    # Space on a Matrix cell opens that cell's Explorer inside the Matrix: more widgets, never fewer
    outputs = page.evaluate("() => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => !!c.querySelector('.pw-root'))")
    assert outputs == [True, True, True], "every widget is still in its cell"
    page.close()


def test_axe_finds_no_violation_in_explorer_quiz_and_matrix(browser, lab):
    axe = axe_script()
    if axe is None:
        pytest.fail("axe-core is not installed: pip install axe-playwright-python (the test extra)")
    page = _open(browser, lab, 1280, 800)
    before = _live(page)
    page.locator(".pw-explorer .widget-button:has-text('Step')").first.click()
    assert _wait_live(page, before).startswith("step 1 of 1")  # the views of step 1 are drawn
    page.locator(".pw-explorer button:has-text('more settings')").first.click()  # scan the hidden settings too
    page.locator(".pw-explorer .pw-group-config").first.wait_for(state="visible", timeout=30_000)
    page.add_script_tag(path=str(axe))
    found = page.evaluate("""async () => { const r = await axe.run({include: [['.pw-root']]}, {resultTypes: ['violations']});
                              return r.violations.map(v => [v.id, v.impact, v.nodes.length, v.nodes[0].html.slice(0, 160)]); }""")
    assert found == [], found
    page.close()


def test_presenter_mode_and_a_kernel_that_is_gone(browser, lab):
    import json

    url, token = lab
    page = _open(browser, lab, 1280, 800)
    page.locator(".pw-explorer button:has-text('Presenter')").first.click()
    page.wait_for_function("() => document.querySelector('.pw-explorer').classList.contains('pw-presenter')")
    assert not page.locator(".pw-explorer .pw-log").first.is_visible(), "presenter mode shows the tree and the current step only"
    page.locator(".pw-explorer button:has-text('Presenter')").first.focus()
    before = _live(page)
    page.keyboard.press(" ")  # Space steps in presenter mode
    assert _wait_live(page, before).startswith("step 1 of 1")
    size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.pw-explorer .pw-now')).fontSize)")
    assert size >= 20
    # the holds stay operable in presenter mode (a tutorial step ticks irqs_off there); the other settings do not show
    irqs = page.locator(".pw-explorer .pw-group-holds input[type=checkbox]").nth(3)
    assert irqs.is_visible() and not page.locator(".pw-explorer .pw-group-kernel").first.is_visible()
    irqs.check()
    page.wait_for_function("() => document.querySelector('.pw-explorer').textContent.includes('Same schedule, new settings')",
                           timeout=30_000)
    page.locator(".pw-explorer button:has-text('Presenter')").first.click()
    assert not page.locator(".pw-explorer .pw-nokernel").first.is_visible(), "a live kernel: no note"
    for k in json.load(urllib.request.urlopen(f"{url}/api/kernels?token={token}")):
        urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels/{k['id']}/restart?token={token}", method="POST",
                                                      data=b""))
    # the restart has finished (the call returns after it); the key helper asks the kernel again only
    # 2 s after its last answer, so a click within 2 s of the last pong would not be checked
    time.sleep(3)
    page.locator(".pw-explorer .widget-button:has-text('Step')").first.click()
    page.wait_for_function("() => document.querySelector('.pw-explorer').classList.contains('pw-no-kernel')", timeout=30_000)
    note = page.locator(".pw-explorer .pw-nokernel").first
    assert note.is_visible() and "not connected to a running Python kernel" in note.inner_text()
    assert "stepper" in note.inner_text() and "in-browser course" in note.inner_text()
    page.close()


def test_the_matrix_walk_choice_redraws_the_grid(browser, lab):
    page = _open(browser, lab, 1280, 800)
    deadlocks = "() => [...document.querySelectorAll('.pw-root .widget-gridbox .widget-button')].filter(b => b.textContent.trim() === 'DEADLOCK').length"
    assert page.evaluate(deadlocks) == 1  # folio_walk_start: irqs_off + retract_page_tables
    page.locator(".pw-root select:has(option:text-is('gup_fast'))").first.select_option(label="gup_fast")
    page.wait_for_function(f"() => ({deadlocks})() === 0 && document.body.textContent.includes('caller holds')", timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".pw-root:has(.widget-gridbox)").first.screenshot(path=str(ARTIFACTS / "lab-matrix-gup_fast.png"))
    page.close()
