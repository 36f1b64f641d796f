"""How long each part of the 90-minute tutorial takes to *run* (Run All on one
kernel), against what a room can wait: each part's code cells should run in
under PART_BUDGET_S seconds, so that compute never eats the part's minutes.

    PYTHONPATH=. python benchmarks/tutorial.py

Prints one line per part (seconds, the part's stated minutes, the ratio to the
budget) and the total.  The stated minutes are the presenter's time; whether a
room fits in them is measured with readers, not here."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "notebooks" / "tutorial-90min.ipynb"
PART = re.compile(r"^## Part (\d+) · (.+) \((\d+) min\)$", flags=re.M)
PART_BUDGET_S = 15.0


def main() -> None:
    nb = nbformat.read(TUTORIAL, as_version=4)
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(TUTORIAL.parent))
    try:
        kc.execute_interactive("import matplotlib; matplotlib.use('Agg')", timeout=60)
        parts: list[list] = [["(before part 1)", 0, 0.0]]
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                for m in PART.finditer(cell.source):
                    parts.append([f"Part {m.group(1)} · {m.group(2)}", int(m.group(3)), 0.0])
            elif cell.cell_type == "code":
                t0 = time.perf_counter()
                reply = kc.execute_interactive(cell.source, timeout=300, output_hook=lambda msg: None)
                parts[-1][2] += time.perf_counter() - t0
                if reply["content"]["status"] != "ok":
                    raise SystemExit(f"a cell of {parts[-1][0]} failed: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    total = 0.0
    for title, minutes, seconds in parts:
        if title.startswith("(") and seconds == 0:
            continue
        total += seconds
        print(f"{title:58s} {seconds:6.2f} s  (stated {minutes:2d} min; budget {PART_BUDGET_S:.0f} s: ratio {seconds / PART_BUDGET_S:.2f})")
    print(f"whole track: {total:.1f} s of compute for {sum(p[1] for p in parts)} min of tutorial")


if __name__ == "__main__":
    main()
