"""Explorer speed: per-cell time (median, p95) with state counts, and the full
default matrix as the CLI runs it, process start included.

    python benchmarks/explore.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from pagewalk_edu.explore import PROTECTIONS, verdict
from pagewalk_edu.kernel import ACTIONS, KernelConfig, Scenario

TARGET_CELL_MS = 35.0
TARGET_MATRIX_S = 2.0


def main() -> None:
    cfg = KernelConfig.for_kernel("6.18")
    times, rows = [], []
    for holds in PROTECTIONS:
        for action in ACTIONS:
            s = Scenario(tuple(holds), action, cfg, "local", None, None, "file" if action == "retract_page_tables" else "anon")
            best = None
            for _ in range(3):
                t0 = time.perf_counter()
                v = verdict(s)
                dt = time.perf_counter() - t0
                best = dt if best is None else min(best, dt)
            times.append(best * 1000)
            rows.append(("+".join(holds) or "none", action, v.verdict, v.states, best * 1000))
    for h, a, verd, n, ms in rows:
        print(f"{h:14s} {a:20s} {verd:15s} {n:6d} states {ms:7.1f} ms")
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    med = statistics.median(times)
    print(f"\nper cell: median {med:.1f} ms, p95 {p95:.1f} ms over {len(times)} cells "
          f"(target median <= {TARGET_CELL_MS} ms: ratio {med / TARGET_CELL_MS:.2f})")
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pagewalk_edu", "matrix"], check=True, capture_output=True)
        runs.append(time.perf_counter() - t0)
    best = min(runs)
    print(f"`pagewalk-edu matrix` (full default matrix, process start included): best {best:.2f} s of 3, "
          f"median {statistics.median(runs):.2f} s (target <= {TARGET_MATRIX_S} s: ratio {best / TARGET_MATRIX_S:.2f})")


if __name__ == "__main__":
    main()
