"""Explorer speed, before and after: every default cell, the full default
matrix through the CLI, a three-CPU scenario, every shipped scenario file, and
one `pagewalk-edu verdict` as a whole process against a bare `python -c pass`.

    python benchmarks/explore.py                 # figures, and ratios to explore-before.json
    python benchmarks/explore.py --save FILE     # write this tree's figures (how explore-before.json was made)

Times are medians of CPU time in this process; a whole process is timed by the
wall clock and by the CPU time it used (the CPU figure is steadier on a shared
machine).  A ratio below 1 is faster
than before.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pagewalk_edu.explore import PROTECTIONS, verdict
from pagewalk_edu.kernel import ACTIONS, KernelConfig, Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEFORE = HERE / "explore-before.json"
TARGETS = {"cell_median_ms": 15.0, "matrix_cli_ms": 1000.0, "three_cpu_ms": 200.0, "verdict_cli_ms": 80.0}
THREE_CPU = ROOT / "pagewalk_edu" / "scenarios" / "examples" / "vma_lock+munmap-neighbour+collapse.toml"


def _median_ms(f, n: int) -> float:
    """Median CPU time of f() in this process (steadier than the wall clock on a shared machine)."""
    times = []
    for _ in range(n):
        t0 = time.process_time()
        f()
        times.append((time.process_time() - t0) * 1000)
    return statistics.median(times)


def _process_ms(args: list[str], n: int) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of running `args` as a process."""
    walls, cpus = [], []
    for _ in range(n):
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append((t1 - t0) * 1000)
        cpus.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def measure() -> dict:
    out: dict = {"cells": {}, "files": {}}
    cfg = KernelConfig.for_kernel("6.18")
    for holds in PROTECTIONS:
        for action in ACTIONS:
            s = Scenario(tuple(holds), action, cfg, "local", None, None, "file" if action == "retract_page_tables" else "anon")
            v = verdict(s)
            out["cells"][f"{'+'.join(holds) or 'none'}:{action}"] = [_median_ms(lambda: verdict(s), 5), v.states]
    out["cell_median_ms"] = statistics.median(ms for ms, _ in out["cells"].values())
    from pagewalk_edu.scenarios import named_scenarios
    for n in named_scenarios():  # keyed by name, so the figures of a tree without files compare
        out["files"][n.name] = [_median_ms(lambda: verdict(n.scenario), 3), verdict(n.scenario).states]
    try:
        from pagewalk_edu.scenarios.files import load
    except ImportError:  # a tree from before scenario files
        load = None
    if load is not None:
        for path in sorted((ROOT / "pagewalk_edu" / "scenarios" / "examples").glob("*.toml")):
            f = load(path)
            out["files"][f.name] = [_median_ms(lambda: verdict(f.scenario), 3), verdict(f.scenario).states]
        out["three_cpu_ms"] = _median_ms(lambda: verdict(load(THREE_CPU).scenario), 5)
    py = [sys.executable]
    out["python_pass_ms"] = _process_ms(py + ["-c", "pass"], 11)
    out["verdict_cli_ms"] = _process_ms(py + ["-m", "pagewalk_edu", "verdict", "--holds", "vma_lock", "--action", "munmap"], 11)
    out["matrix_cli_ms"] = _process_ms(py + ["-m", "pagewalk_edu", "matrix"], 3)
    return out


def _ratio(now: float, before: float | None) -> str:
    return f"{now / before:5.2f}" if before else "    -"


def report(now: dict, before: dict) -> None:
    print(f"{'cell':36s} {'states':>7s} {'ms':>7s} {'x before':>8s}")
    for key, (ms, states) in now["cells"].items():
        old = before.get("cells", {}).get(key)
        print(f"{key:36s} {states:7d} {ms:7.1f} {_ratio(ms, old and old[0]):>8s}")
    print(f"\n{'scenario file (named, examples)':52s} {'states':>7s} {'ms':>7s} {'x before':>8s}")
    for key, (ms, states) in now["files"].items():
        old = before.get("files", {}).get(key)
        print(f"{key:52s} {states:7d} {ms:7.1f} {_ratio(ms, old and old[0]):>8s}")
    print()
    med = now["cell_median_ms"]
    print(f"default cells: median {med:.1f} ms (x before {_ratio(med, before.get('cell_median_ms'))}; "
          f"target <= {TARGETS['cell_median_ms']:.0f} ms: {'met' if med <= TARGETS['cell_median_ms'] else 'NOT met'})")
    if "three_cpu_ms" in now:
        t = now["three_cpu_ms"]
        print(f"three-CPU scenario ({THREE_CPU.name}): median {t:.0f} ms "
              f"(target <= {TARGETS['three_cpu_ms']:.0f} ms: {'met' if t <= TARGETS['three_cpu_ms'] else 'NOT met'})")
    for key, what in (("matrix_cli_ms", "`pagewalk-edu matrix`, process start included"),
                      ("verdict_cli_ms", "one `pagewalk-edu verdict` of a default cell, process start included")):
        wall, cpu = now[key]
        old = before.get(key, [None, None])
        print(f"{what}: wall {wall:.0f} ms (x before {_ratio(wall, old[0])}), CPU {cpu:.0f} ms (x before {_ratio(cpu, old[1])}); "
              f"target <= {TARGETS[key]:.0f} ms")
    wall, cpu = now["python_pass_ms"]
    vw, vc = now["verdict_cli_ms"]
    print(f"bare `python -c pass`: wall {wall:.0f} ms, CPU {cpu:.0f} ms; so the verdict command itself costs "
          f"wall {vw - wall:.0f} ms, CPU {vc - cpu:.0f} ms beyond the interpreter's start")


def main(argv: list[str]) -> None:
    now = measure()
    if argv[:1] == ["--save"]:
        Path(argv[1]).write_text(json.dumps(now, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {argv[1]}")
        return
    before = json.loads(BEFORE.read_text(encoding="utf-8")) if BEFORE.exists() else {}
    report(now, before)


if __name__ == "__main__":
    main(sys.argv[1:])
