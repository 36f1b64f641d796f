"""The two ways to lay out the tree without a `dot` subprocess, measured on
every state of the lesson-6 counterexample: the pure-Python layout to SVG
(what the widgets ship), and Graphviz compiled to WebAssembly (npm
@viz-js/viz, run here under node, as a front end would run it), with the
`dot` subprocess for reference.

    python benchmarks/tree_renderers.py              # pure Python and dot
    PAGEWALK_VIZJS=/path/to/node_modules python benchmarks/tree_renderers.py   # and the wasm build
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.viz.model import tree_model
from pagewalk_edu.viz.svg.tree import tree_svg_model
from pagewalk_edu.viz.tree import dot_source

NODE = """import { instance } from "@viz-js/viz";
import fs from "fs";
const dots = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const t0 = performance.now();
const viz = await instance();
const init = performance.now() - t0;
const times = [];
for (let r = 0; r < 3; r++) for (const d of dots) { const a = performance.now(); viz.renderString(d, { format: "svg" }); times.push(performance.now() - a); }
console.log(JSON.stringify({ init, times }));
"""


def _line(name: str, times: list[float], extra: str = "") -> None:
    times = sorted(times)
    print(f"{name:34s} p50 {statistics.median(times):6.2f} ms  p95 {times[int(0.95 * (len(times) - 1))]:6.2f} ms{extra}")


def main() -> None:
    t = run(make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"))
    models = [tree_model(t.ctx, s, trace=t, index=i) for i, s in enumerate(t.states)]
    times = []
    for _ in range(3):
        for m in models:
            a = time.perf_counter()
            tree_svg_model(m)
            times.append((time.perf_counter() - a) * 1000)
    _line("pure-Python layout to SVG", times, "  (no download)")
    dots = [dot_source(m).source for m in models]
    if shutil.which("dot"):
        times = []
        for d, m in zip(dots, models):
            a = time.perf_counter()
            dot_source(m).pipe(format="svg")
            times.append((time.perf_counter() - a) * 1000)
        _line("dot subprocess", times)
    mods = os.environ.get("PAGEWALK_VIZJS")
    if mods and shutil.which("node") and (Path(mods) / "@viz-js" / "viz").exists():
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "dots.json").write_text(json.dumps(dots))
            (Path(tmp) / "node_modules").symlink_to(Path(mods).resolve())
            (Path(tmp) / "bench.mjs").write_text(NODE)
            out = json.loads(subprocess.run(["node", "bench.mjs", "dots.json"], cwd=tmp, capture_output=True, text=True,
                                            check=True).stdout)
        size = (Path(mods) / "@viz-js" / "viz" / "dist" / "viz.js").stat().st_size / 1e6
        _line("Graphviz wasm (@viz-js/viz, node)", out["times"], f"  (+ {out['init']:.0f} ms start, {size:.1f} MB script)")
    else:
        print("Graphviz wasm                      not measured: set PAGEWALK_VIZJS to a node_modules holding @viz-js/viz")


if __name__ == "__main__":
    main()
