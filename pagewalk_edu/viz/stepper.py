"""A kernel-free stepper: every step's tree pre-rendered as SVG, one timeline
image with the current step marked by an overlay, the event-log line of each
step, and Back/Next/slider controls in plain HTML and JavaScript.  It works from
the files on disk, with no network and no Python behind it."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from ..files import write_atomic
from ..kernel.sim import Trace
from .kernel_source import function_link_html, source_ref
from .model.timeline import timeline_model
from .model.tree import tree_model
from .svg.timeline import step_span, timeline_svg_model
from .text import outcome_lines
from .tree import tree_svg

TIMELINE_W = 860

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 1em; color: #111; }}
.controls button {{ font-size: 1em; margin-right: .4em; }}
#log li.current {{ background: #56B4E9; font-weight: bold; }}
#log {{ max-height: 16em; overflow-y: auto; font-size: .9em; }}
.timeline {{ position: relative; display: inline-block; max-width: 100%; }}
#timeline {{ max-width: 100%; height: auto; display: block; }}
#mark {{ position: absolute; top: 0; bottom: 0; background: rgba(0,114,178,.25); border-left: 2px solid #0072B2; }}
#tree {{ max-width: 100%; border: 1px solid #ccc; }}
.pw-src-link {{ color: #00507E; text-decoration: underline; }}
#log code {{ font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }}  /* a named font: the log's size, not the smaller default of bare monospace */
</style></head>
<body><main>
<h1>{title}</h1>
<p>{summary}</p>
<div class="controls" role="group" aria-label="step controls">
  <button id="back" type="button" aria-label="previous step">&larr; Back</button>
  <button id="next" type="button" aria-label="next step">Next &rarr;</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" aria-label="step">
  <span id="where" aria-live="polite"></span>
</div>
<p id="line" aria-live="polite"></p>
<div class="timeline"><img id="timeline" src="timeline.svg" alt="{timeline_alt}" width="{tw}"><div id="mark"></div></div>
<h2>Page tables at this step</h2>
<img id="tree" src="tree-000.svg" alt="">
<details><summary>The same state as text</summary><pre id="text"></pre></details>
<h2>Event log</h2>
<ol id="log" start="1" tabindex="0" aria-label="event log">{log}</ol>
<p><b>Outcome:</b> {outcome}</p>
</main>
<script>
const STEPS = {steps};
let i = 0;
const $ = (id) => document.getElementById(id);
function show(n) {{
  i = Math.max(0, Math.min(STEPS.length - 1, n));
  const s = STEPS[i];
  $("tree").src = s.tree; $("tree").alt = s.alt;
  $("text").textContent = s.alt;
  $("slider").value = i;
  $("where").textContent = "step " + i + " of " + (STEPS.length - 1);
  $("line").textContent = s.line;
  const img = $("timeline");
  const w = img.clientWidth || img.width;
  $("mark").style.left = (s.x0 * w) + "px"; $("mark").style.width = Math.max(2, (s.x1 - s.x0) * w) + "px";
  document.querySelectorAll("#log li").forEach((li, k) => li.classList.toggle("current", k + 1 === i));
}}
$("back").onclick = () => show(i - 1);
$("next").onclick = () => show(i + 1);
$("slider").oninput = (e) => show(parseInt(e.target.value, 10));
document.addEventListener("keydown", (e) => {{ if (e.key === "ArrowRight") show(i + 1); if (e.key === "ArrowLeft") show(i - 1); }});
window.addEventListener("load", () => show(0));
</script>
</body></html>
"""


def write_stepper(trace: Trace, folder: str | Path, title: str) -> Path:
    """Write folder/index.html and its images; return the index path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ctx = trace.ctx
    tm = timeline_model(trace, None)  # SVG built in Python: 12 px type and more at any width
    write_atomic(folder / "timeline.svg", timeline_svg_model(tm, width=TIMELINE_W).encode("utf-8"), overwrite=True)
    steps = []
    for i, state in enumerate(trace.states):
        name = f"tree-{i:03d}.svg"
        write_atomic(folder / name, tree_svg(ctx, state, legend=(i == 0), trace=trace, index=i).encode("utf-8"), overwrite=True)
        x0, x1 = step_span(tm, i, TIMELINE_W)
        if i == 0:
            line = "Step 0: the initial state. " + ctx.setup.summary + "."
        else:
            e = trace.events[i - 1]
            who = f"CPU{e.cpu}" if e.cpu is not None else "RCU"
            path = source_ref(e)[0]
            line = f"Step {i}: {who} {e.actor} {e.function}()" + (f" ({path})" if path else "") + f" — {e.text}"
        alt = tree_model(ctx, state, trace=trace, index=i).alt
        steps.append({"tree": name, "alt": alt, "line": line, "x0": round(x0, 5), "x1": round(x1, 5)})
    log = "".join(
        f"<li>{function_link_html(e)} {escape(e.actor)}: {escape(e.text)}</li>" for e in trace.events
    )
    outcome = " ".join(outcome_lines(trace))
    page = _PAGE.format(
        title=escape(title),
        summary=escape(ctx.scenario.describe() + ". " + ctx.setup.summary + "."),
        last=len(trace.states) - 1,
        timeline_alt=escape(tm.alt),
        tw=TIMELINE_W,
        log=log,
        outcome=escape(outcome),
        steps=json.dumps(steps),
    )
    index = folder / "index.html"
    write_atomic(index, page, overwrite=True)
    return index
