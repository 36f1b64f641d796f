"""Time from a Step click to the redrawn tree (SVG) and timeline (PNG) in the
Explorer widget, p50 and p95 over a long trace (target p95 <= 100 ms).

    python benchmarks/widgets.py
"""

from __future__ import annotations

import statistics
import time

from pagewalk_edu.widgets import Explorer

TARGET_P95_MS = 100.0


def main() -> None:
    times = []
    for holds, action, cfg, fault in ((("rcu",), "munmap", {"PT_RECLAIM": False}, "batch_alloc_fail"),
                                      (("vma_lock",), "madv_dontneed", None, None),
                                      ((), "mremap", None, None)):
        e = Explorer(holds, action, config=cfg, fault=fault)
        for _ in range(200):
            t0 = time.perf_counter()
            before = e.index
            e.do_step()
            if e.index == before:
                break
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"Step click -> redrawn tree and timeline: {len(times)} steps, p50 {p50:.0f} ms, p95 {p95:.0f} ms "
          f"(target p95 <= {TARGET_P95_MS:.0f} ms: ratio {p95 / TARGET_P95_MS:.2f})")


if __name__ == "__main__":
    main()
