"""Time from a Step click to the redrawn tree and timeline, per renderer, p50
and p95 over long traces (target p95 <= 100 ms each):

- svg: what the Explorer ships: the view models drawn as SVG in pure Python
  (Explorer.do_step end to end: step, event log, tree, timeline);
- dot+matplotlib: the export path: the same models through Graphviz's `dot`
  and a matplotlib PNG (skipped when `dot` is not installed).

    python benchmarks/widgets.py
"""

from __future__ import annotations

import shutil
import statistics
import time

from pagewalk_edu.widgets import Explorer

TARGET_P95_MS = 100.0
CASES = ((("rcu",), "munmap", {"PT_RECLAIM": False}, "batch_alloc_fail"),
         (("vma_lock",), "madv_dontneed", None, None),
         ((), "mremap", None, None),
         (("rcu",), "munmap_adjacent", None, None))


def _report(name: str, times: list[float]) -> None:
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"{name:16s} Step -> redrawn tree and timeline: {len(times)} steps, p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          f"(target p95 <= {TARGET_P95_MS:.0f} ms: ratio {p95 / TARGET_P95_MS:.2f})")


def bench_svg() -> list[float]:
    times = []
    for holds, action, cfg, fault in CASES:
        e = Explorer(holds, action, config=cfg, fault=fault)
        for _ in range(200):
            t0 = time.perf_counter()
            before = e.index
            e.do_step()
            if e.index == before:
                break
            times.append((time.perf_counter() - t0) * 1000)
    return times


def bench_dot_matplotlib() -> list[float]:
    from pagewalk_edu.viz.model import tree_model
    from pagewalk_edu.viz.timeline import timeline_png
    from pagewalk_edu.viz.tree import dot_source

    times = []
    for holds, action, cfg, fault in CASES:
        e = Explorer(holds, action, config=cfg, fault=fault, render=False)
        for _ in range(200):
            t0 = time.perf_counter()
            before = e.index
            e.do_step()
            if e.index == before:
                break
            dot_source(tree_model(e.trace.ctx, e.state(), trace=e.trace, index=e.index)).pipe(format="svg")
            timeline_png(e.trace, current=e.index, legend=False)
            times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    _report("svg (shipped)", bench_svg())
    if shutil.which("dot"):
        _report("dot+matplotlib", bench_dot_matplotlib())
    else:
        print("dot+matplotlib   not measured: Graphviz's dot is not installed")


if __name__ == "__main__":
    main()
