"""How long each part of the 90-minute tutorial takes to *run*, against what a room
can wait: each part's code cells should run in under PART_BUDGET_S seconds, so that
compute never eats the part's minutes.

    PYTHONPATH=. python benchmarks/tutorial.py

Two runs on one kernel each: "as shipped" (Run All: every reveal asks for a
prediction first) and "played" as a room plays it (a prediction set before each
reveal, the Part 6 exercise answered with the common wrong answer "rcu,vma_lock",
then the answer key).  Prints one line per part (seconds of each run, the part's
stated minutes, the played run's ratio to the budget), the buffer and the total.
The stated minutes are the presenter's time; whether a room fits in them is
measured with readers, not here."""

from __future__ import annotations

import re
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "notebooks" / "tutorial-90min.ipynb"
PART = re.compile(r"^## Part (\d+) · (.+) \((\d+) min\)$", flags=re.M)
BUFFER = re.compile(r"^\| buffer[^|]*\| (\d+) \|", flags=re.M)
PART_BUDGET_S = 15.0
PLAYED_ANSWER = "rcu,vma_lock"


def run(nb, played: bool) -> list[list]:
    """[[title, minutes, seconds]] per part, running the notebook's code cells in one kernel."""
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(TUTORIAL.parent))
    try:
        kc.execute_interactive("import matplotlib; matplotlib.use('Agg')", timeout=60)
        parts: list[list] = [["(before part 1)", 0, 0.0]]
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                for m in PART.finditer(cell.source):
                    parts.append([f"Part {m.group(1)} · {m.group(2)}", int(m.group(3)), 0.0])
                continue
            if cell.cell_type != "code":
                continue
            source = cell.source
            if played and "reveal" in cell.metadata.get("tags", []):  # a prediction of the right kind
                source = f"my_prediction = {'safe' if 'reveal_verdict' in source else 'yes'!r}\n" + source
            if played and re.search(r"^answer = None", source, flags=re.M):
                source = source.replace("answer = None", f"answer = {PLAYED_ANSWER!r}", 1)
            t0 = time.perf_counter()
            reply = kc.execute_interactive(source, timeout=300, output_hook=lambda msg: None)
            parts[-1][2] += time.perf_counter() - t0
            if reply["content"]["status"] != "ok":
                raise SystemExit(f"a cell of {parts[-1][0]} failed: {reply['content'].get('evalue')}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return [p for p in parts if not (p[0].startswith("(") and p[2] == 0)]


def main() -> None:
    nb = nbformat.read(TUTORIAL, as_version=4)
    shipped, played = run(nb, played=False), run(nb, played=True)
    for (title, minutes, s), (_, _, p) in zip(shipped, played):
        print(f"{title:54s} as shipped {s:5.2f} s, played {p:5.2f} s  (stated {minutes:2d} min; "
              f"budget {PART_BUDGET_S:.0f} s: ratio {p / PART_BUDGET_S:.2f})")
    m = BUFFER.search(nb.cells[0].source)
    buffer = int(m.group(1)) if m else 0
    minutes = sum(p[1] for p in shipped)
    print(f"whole track: {sum(p[2] for p in shipped):.1f} s as shipped, {sum(p[2] for p in played):.1f} s played, "
          f"for {minutes} min of parts + {buffer} min of buffer = {minutes + buffer} min")


if __name__ == "__main__":
    main()
