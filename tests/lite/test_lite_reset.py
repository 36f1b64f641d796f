"""Resetting a lesson in the in-browser course (the JupyterLite site or the kit), the
two ways docs/tutorial.md gives a presenter: reset_lesson() run in another notebook,
which keeps the participant's copy in my-copies/ and brings back the copy the site
ships, and Delete in the file browser, which brings it back at once.  A reload keeps
a changed lesson (that is why a reset is needed) and keeps a reset one clean."""

from __future__ import annotations

import json

from litebrowser import PAGE_LOAD_MS, add_cell, cells, open_notebook

LESSON = "tutorial-90min.ipynb"
MARK = "my_prediction = 'unsafe'  # a participant's edit"


def _sources(page, name: str) -> list[str]:
    """The cells' sources of notebook `name` as the site's contents hold it (a file the kernel wrote
    is held as base64 bytes; JupyterLab still opens it as a notebook)."""
    return page.evaluate("""async (n) => { const m = await window.jupyterapp.serviceManager.contents.get(n, {content: true});
        const nb = m.format === 'base64' ? JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(m.content), ch => ch.charCodeAt(0))))
                                         : m.content;
        return nb.cells.map(c => [].concat(c.source).join('')); }""", name)


def _edit(page, name: str) -> None:
    """What a participant's saved change leaves: the first code cell overwritten."""
    page.evaluate("""async ([n, mark]) => { const c = window.jupyterapp.serviceManager.contents;
        const m = await c.get(n, {content: true}); const cell = m.content.cells.find(x => x.cell_type === 'code');
        cell.source = mark; await c.save(n, {type: 'notebook', format: 'json', content: m.content}); }""", [name, MARK])


def _reload(page, base: str) -> None:
    page.goto(f"{base}/lab/index.html", timeout=PAGE_LOAD_MS)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.serviceManager", timeout=PAGE_LOAD_MS)
    page.evaluate("async () => { await window.jupyterapp.serviceManager.ready; }")


def _shipped(lite_site) -> list[str]:
    nb = json.loads((lite_site / "files" / LESSON).read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"]]


def test_reset_lesson_in_another_notebook_keeps_the_copy_and_brings_back_the_shipped_one(page, site, lite_site):
    shipped = _shipped(lite_site)
    open_notebook(page, site, "00-start-here.ipynb")
    assert _sources(page, LESSON) == shipped
    _edit(page, LESSON)
    _reload(page, site)
    assert MARK in _sources(page, LESSON), "a reload keeps the participant's change"
    open_notebook(page, site, "00-start-here.ipynb")
    add_cell(page, 'from pagewalk_edu.course import reset_lesson\nfor line in reset_lesson("tutorial-90min"): print(line)')
    out = cells(page)[-1]
    assert not out["errors"], out["errors"]
    assert out["text"].startswith(f"{LESSON}: reset to the copy the site ships; the previous one is my-copies/"), out["text"]
    kept = out["text"].split("the previous one is ", 1)[1].split(" ", 1)[0]
    assert _sources(page, LESSON) == shipped
    assert MARK in _sources(page, kept), "the participant's copy is kept"
    add_cell(page, 'for line in reset_lesson("tutorial-90min"): print(line)')
    assert cells(page)[-1]["text"].strip() == f"{LESSON}: already clean"
    _reload(page, site)
    assert _sources(page, LESSON) == shipped, "the reset lesson stays clean after a reload"


def test_delete_in_the_file_browser_brings_back_the_shipped_lesson(page, site, lite_site):
    shipped = _shipped(lite_site)
    open_notebook(page, site, "00-start-here.ipynb")
    _edit(page, LESSON)
    assert MARK in _sources(page, LESSON)
    page.evaluate("async () => { await window.jupyterapp.commands.execute('filebrowser:activate'); }")
    item = page.locator(".jp-DirListing-item", has_text=LESSON).first
    item.wait_for(timeout=60_000)
    item.click(button="right")
    page.locator(".lm-Menu-item:has-text('Delete')").first.click()
    page.locator(".jp-Dialog button:has-text('Delete')").first.click()
    page.wait_for_function("""async (n) => { const m = await window.jupyterapp.serviceManager.contents.get(n, {content: true});
        return !JSON.stringify(m.content).includes("a participant's edit"); }""", arg=LESSON, timeout=60_000)
    assert _sources(page, LESSON) == shipped
    page.locator(".jp-DirListing-item", has_text=LESSON).first.wait_for(timeout=30_000)  # still listed: the shipped copy
