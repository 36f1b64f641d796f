"""How long `pagewalk-edu tables` takes to predict a scenario that allocates
100,000 page tables (target: at most 2 s on a 2-core machine), and whether
the time grows in proportion to the tables touched (it used to grow with
their square: a three-step file ran for most of an hour).

    PYTHONPATH=. python benchmarks/tables.py [--repeat N]

Prints, for 12,500 to 100,000 PTE tables, the median time of the prediction
(mmap, a touch every 2 MiB, MADV_DONTNEED of all of it, munmap), the time per
table, and the ratio of each size's time to the previous one (2.0 for a linear
cost, 4.0 for a quadratic one).
"""

from __future__ import annotations

import argparse
import statistics
import time

from pagewalk_edu.kernel import KernelConfig
from pagewalk_edu.tables import parse_tables_scenario, predict

M2 = 2 << 20
TARGET_S = 2.0


def scenario(tables: int):
    length = tables * M2
    return parse_tables_scenario({"steps": [
        {"op": "mmap", "start": 0, "length": length},
        {"op": "touch", "start": 0, "length": length, "stride": "2M"},
        {"op": "madvise", "start": 0, "length": length, "advice": "dontneed"},
        {"op": "munmap", "start": 0, "length": length},
    ]})


def measure(tables: int, repeat: int) -> tuple[float, int]:
    s = scenario(tables)
    config = KernelConfig.for_kernel("6.18")
    times, peak = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        results = predict(s, config)
        times.append(time.perf_counter() - t0)
        peak = results[1].page_table_bytes // 4096
    return statistics.median(times), peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'PTE tables':>10}  {'tables':>8}  {'median s':>9}  {'us/table':>8}  {'ratio':>5}")
    previous = None
    for n in (12_500, 25_000, 50_000, 100_000):
        t, peak = measure(n, args.repeat)
        ratio = f"{t / previous:5.2f}" if previous else "    -"
        print(f"{n:>10}  {peak:>8}  {t:>9.3f}  {t / peak * 1e6:>8.1f}  {ratio}")
        previous = t
    verdict = "meets" if t <= TARGET_S else "misses"
    print(f"100,000-table prediction: {t:.2f} s ({verdict} the {TARGET_S:.0f} s target; {t / TARGET_S:.2f} of it)")


if __name__ == "__main__":
    main()
