"""The in-browser course's speed, in Debian's Chromium (headless) on this machine:

- cold load: a fresh browser profile opens lesson 00 in the Lite site and runs it;
  seconds until its first verdict is on screen (target <= 20 s);
- Explorer Step in the Lite kernel: click to redrawn tree and event log, in the
  browser, p50 and p95 over a trace (target p95 <= 300 ms);
- the default matrix computed in the Lite kernel (target <= 3 s);
- the site's size on disk (target <= 100 MB).

    python benchmarks/lite.py [--site DIR] [--steps N]

Without --site it builds the site first (tools/build_lite.py) into a temporary folder.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests" / "lite")]

import build_lite  # noqa: E402
from litebrowser import ARGS, CHROMIUM, FIRST_VERDICT, Guard, add_cell, cells, lite_context, open_notebook, run_all, serve  # noqa: E402

TARGET_COLD_S = 20.0
TARGET_STEP_P95_MS = 300.0
TARGET_MATRIX_S = 3.0
TARGET_SIZE_MB = 100.0



def ratio(x: float, target: float) -> str:
    return f"target <= {target:g}: ratio {x / target:.2f}"


def cold_load(browser, base: str) -> float:
    guard = Guard(base)
    ctx = lite_context(browser, base, guard)   # a new context: an empty cache
    page = ctx.new_page()
    t0 = time.perf_counter()
    open_notebook(page, base, "00-start-here.ipynb")
    # cell by cell, going on past a cell that fails, as a reader would
    # (each awaited: the kernel drops requests queued behind an error); not awaited here
    page.evaluate("""() => { (async () => { const app = window.jupyterapp, nb = app.shell.currentWidget.content;
        for (let i = 0; i < nb.widgets.length; i++) { if (nb.widgets[i].model.type !== 'code') continue;
            nb.activeCellIndex = i; await app.commands.execute('notebook:run-cell'); } })(); }""")
    page.wait_for_function(FIRST_VERDICT, timeout=120_000, polling=50)
    took = time.perf_counter() - t0
    ctx.close()
    if guard.foreign:
        raise SystemExit(f"lite benchmark: the site requested another host: {guard.foreign[:3]}")
    return took


def explorer_steps(browser, base: str, steps: int) -> list[float] | str:
    guard = Guard(base)
    ctx = lite_context(browser, base, guard)
    page = ctx.new_page()
    open_notebook(page, base, "06-rcu-irqs-ipis.ipynb")
    run_all(page)
    errors = [c["errors"] for c in cells(page) if c["errors"]]
    if errors:
        ctx.close()
        return f"lesson 06 does not run in the browser: {errors[0][0][:160]}"
    step = page.locator(".widget-button:has-text('Step')").first
    step.scroll_into_view_if_needed()
    times = []
    state = ("() => [(document.body.textContent.match(/Step (\\d+) of (\\d+)/) || []).slice(1).join('/'),"
             " [...document.querySelectorAll('.jp-OutputArea .widget-html svg')].map(s => s.outerHTML).join()]")
    for _ in range(steps):
        caption, svgs = page.evaluate(state)
        t0 = time.perf_counter()
        step.click()
        try:   # both the caption and the drawn views (tree, timeline) have changed
            page.wait_for_function(f"([c, v]) => {{ const [c2, v2] = ({state})(); return c2 !== c && v2 !== v; }}",
                                   arg=[caption, svgs], timeout=10_000, polling="raf")
        except Exception:
            break   # the trace ended: Step no longer moves
        times.append((time.perf_counter() - t0) * 1000)
    ctx.close()
    return times or "the Explorer did not move on Step"


def default_matrix(browser, base: str) -> float | str:
    guard = Guard(base)
    ctx = lite_context(browser, base, guard)
    page = ctx.new_page()
    open_notebook(page, base, "00-start-here.ipynb")
    # the matrix `pagewalk-edu matrix` prints: the default kernel's profile, local walker
    add_cell(page, "import time\nfrom pagewalk_edu.explore import matrix\nfrom pagewalk_edu.kernel import KernelConfig\n"
                   "t0 = time.perf_counter(); m = matrix(KernelConfig.for_kernel())\n"
                   "print(f'matrix seconds {time.perf_counter() - t0:.3f}')")
    text = "\n".join(c["text"] + " ".join(c["errors"]) for c in cells(page))
    ctx.close()
    m = re.search(r"matrix seconds ([0-9.]+)", text)
    return float(m.group(1)) if m else f"the matrix cell failed: {text[-200:]}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--site", help="a built Lite site (default: build one now)")
    ap.add_argument("--steps", type=int, default=40, help="Explorer steps to time (default 40)")
    args = ap.parse_args(argv)
    if CHROMIUM is None:
        print("lite benchmark: no chromium (set PAGEWALK_CHROMIUM)", file=sys.stderr)
        return 2
    tmp = None
    if args.site:
        site = Path(args.site)
    else:
        tmp = tempfile.mkdtemp(prefix="pagewalk-lite-")
        site = Path(tmp) / "site"
        build_lite.build(site)
    from playwright.sync_api import sync_playwright

    try:
        size_mb = build_lite.size_of(site) / 1e6
        with serve(site) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            cold = cold_load(browser, base)
            print(f"cold load to lesson 00's first verdict: {cold:.1f} s ({ratio(cold, TARGET_COLD_S)})")
            steps = explorer_steps(browser, base, args.steps)
            if isinstance(steps, str):
                print(f"Explorer Step in the Lite kernel: not measured: {steps}")
            else:
                s = sorted(steps)
                p95 = s[int(0.95 * (len(s) - 1))]
                print(f"Explorer Step in the Lite kernel, click to redrawn views: {len(s)} steps, "
                      f"p50 {statistics.median(s):.0f} ms, p95 {p95:.0f} ms ({ratio(p95, TARGET_STEP_P95_MS)})")
            mx = default_matrix(browser, base)
            if isinstance(mx, str):
                print(f"default matrix in the Lite kernel: not measured: {mx}")
            else:
                print(f"default matrix in the Lite kernel: {mx:.2f} s ({ratio(mx, TARGET_MATRIX_S)})")
            browser.close()
        print(f"site size: {size_mb:.1f} MB ({ratio(size_mb, TARGET_SIZE_MB)})")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
