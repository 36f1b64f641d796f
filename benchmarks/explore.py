"""Explorer speed, before and after: every default cell, the full default
matrix through the CLI, a three-CPU scenario, every shipped scenario file, and
one `pagewalk-edu verdict` as a whole process against a bare `python -c pass`.

    python benchmarks/explore.py                 # figures, and ratios to explore-before.json (a few minutes:
                                                 # the two four-CPU files of benchmarks/scenarios/ take about 25 s)
    python benchmarks/explore.py --startup       # only the whole-process figures and the import breakdown
    python benchmarks/explore.py --save FILE     # write this tree's figures (how explore-before.json was made)

Times are medians of CPU time in this process; a whole process is timed by the
wall clock and by the CPU time it used (the CPU figure is steadier on a shared
machine), median of N runs.  A ratio below 1 is faster than before.

Whole processes run twice over: with the package's bytecode cached (as after
`pip install`, or any run after the first: the cache goes to a temporary
PYTHONPYCACHEPREFIX so the tree is left alone; this is the figure the target
is about), and with the package compiled from source on every run
(PYTHONDONTWRITEBYTECODE=1 on a copy without __pycache__, as in an environment
that sets it).  `python -X importtime` gives the breakdown of what one verdict
imports.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pagewalk_edu.explore import PROTECTIONS, verdict
from pagewalk_edu.kernel import ACTIONS, KernelConfig, Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEFORE = HERE / "explore-before.json"
TARGETS = {"cell_median_ms": 15.0, "matrix_cli_ms": 1000.0, "three_cpu_ms": 200.0, "verdict_cli_ms": 80.0}
THREE_CPU = ROOT / "pagewalk_edu" / "scenarios" / "examples" / "vma_lock+munmap-neighbour+collapse.toml"
#: Walker plus three racing paths: seconds each, so timed once (not shipped as examples: no test waits for them).
FOUR_CPU = sorted((HERE / "scenarios").glob("*.toml"))


def _median_ms(f, n: int) -> float:
    """Median CPU time of f() in this process (steadier than the wall clock on a shared machine)."""
    times = []
    for _ in range(n):
        t0 = time.process_time()
        f()
        times.append((time.process_time() - t0) * 1000)
    return statistics.median(times)


VERDICT_ARGS = ["verdict", "--holds", "vma_lock", "--action", "munmap"]


def _env(tree: Path, cache: str | None) -> dict:
    """The environment of a timed process: `tree` first on the path; bytecode
    cached under `cache`, or (None) never written, so compiled on every run."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTHONPYCACHEPREFIX", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = cache
    return env


def _process_ms(args: list[str], n: int, env: dict | None = None) -> tuple[float, float]:
    """(median wall ms, median CPU ms) of running `args` as a process (after
    one untimed run, which fills the bytecode cache)."""
    subprocess.run(args, check=True, capture_output=True, env=env)
    walls, cpus = [], []
    for _ in range(n):
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
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
        out["four_cpu"] = {}
        for path in FOUR_CPU:
            f = load(path)
            t0 = time.process_time()
            v = verdict(f.scenario)
            out["four_cpu"][f.name] = [(time.process_time() - t0) * 1000, v.states, v.verdict]
    out.update(measure_startup())
    return out


def _script() -> str | None:
    """The console entry point installed beside this interpreter, if any."""
    path = Path(sys.executable).parent / "pagewalk-edu"
    return str(path) if path.exists() else None


def measure_startup(n: int = 21) -> dict:
    out: dict = {}
    py = [sys.executable]
    with tempfile.TemporaryDirectory(prefix="pagewalk-edu-bench-") as tmp:
        cached = _env(ROOT, os.path.join(tmp, "pyc"))
        out["python_pass_ms"] = _process_ms(py + ["-c", "pass"], n, cached)
        out["verdict_cli_ms"] = _process_ms(py + ["-m", "pagewalk_edu"] + VERDICT_ARGS, n, cached)
        script = _script()
        if script is not None:  # its own interpreter line, with this tree first on the path
            out["verdict_script_ms"] = _process_ms([script] + VERDICT_ARGS, n, cached)
        out["matrix_cli_ms"] = _process_ms(py + ["-m", "pagewalk_edu", "matrix"], 3, cached)
        copy = Path(tmp) / "src"
        shutil.copytree(ROOT / "pagewalk_edu", copy / "pagewalk_edu", ignore=shutil.ignore_patterns("__pycache__"))
        source = _env(copy, None)
        out["python_pass_source_ms"] = _process_ms(py + ["-c", "pass"], n, source)
        out["verdict_cli_source_ms"] = _process_ms(py + ["-m", "pagewalk_edu"] + VERDICT_ARGS, n, source)
        r = subprocess.run(py + ["-X", "importtime", "-m", "pagewalk_edu"] + VERDICT_ARGS, capture_output=True,
                           text=True, env=cached, check=True)
        out["importtime"] = _importtime(r.stderr)
    return out


def _importtime(text: str) -> list[tuple[str, int, int, int]]:
    """`-X importtime` lines as (module, depth, self us, cumulative us), in import order."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|")
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((name.strip(), depth, int(self_us), int(cum_us)))
    return rows


def _ratio(now: float, before: float | None) -> str:
    return f"{now / before:5.2f}" if before else "    -"


def report(now: dict, before: dict) -> None:
    if "cells" in now:
        report_search(now, before)
    report_startup(now, before)


def report_search(now: dict, before: dict) -> None:
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
    for name, (ms, states, kind) in now.get("four_cpu", {}).items():
        print(f"four-CPU scenario {name} (benchmarks/scenarios/): {kind}, {states} states, {ms / 1000:.1f} s CPU (one run)")


def report_startup(now: dict, before: dict) -> None:
    imports = now["importtime"]
    ours = [r for r in imports if r[0].startswith("pagewalk_edu")]
    print(f"\nwhat one `pagewalk-edu {' '.join(VERDICT_ARGS)}` imports (python -X importtime, bytecode cached): "
          f"{len(imports)} modules, {len(ours)} of them the package's")
    top = [r for r in imports if r[1] == 0]
    total = sum(r[3] for r in top)
    print(f"  {'imported at the top level (and what it pulled in)':58s} {'ms':>6s}")
    for name, _, _, cum in sorted(top, key=lambda r: -r[3])[:14]:
        print(f"  {name:58s} {cum / 1000:6.1f}")
    print(f"  {'all of it (site and the interpreter start-up included)':58s} {total / 1000:6.1f}")
    print(f"  {'the largest self times':58s} {'ms':>6s}")
    for name, _, own, _ in sorted(imports, key=lambda r: -r[2])[:10]:
        print(f"  {name:58s} {own / 1000:6.1f}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"\nload average while measured: {load:.1f} on {os.cpu_count()} CPUs (on a busy machine the wall clock "
          f"waits for a CPU; the CPU figure is what the command costs)" if load is not None else "")
    rows = [("matrix_cli_ms", "`pagewalk-edu matrix`, process start included", "matrix_cli_ms"),
            ("verdict_cli_ms", "one `python -m pagewalk_edu verdict` of a default cell, process start included", "verdict_cli_ms"),
            ("verdict_script_ms", "the same through the `pagewalk-edu` console script", "verdict_cli_ms"),
            ("verdict_cli_source_ms", "the same, the package compiled from source each run", None)]
    for key, what, target in rows:
        if key not in now:
            continue
        wall, cpu = now[key]
        old = before.get(key, [None, None])
        goal = (f"; target <= {TARGETS[target]:.0f} ms: wall {'met' if wall <= TARGETS[target] else 'NOT met'}, "
                f"CPU {'met' if cpu <= TARGETS[target] else 'NOT met'}") if target else ""
        print(f"{what}: wall {wall:.0f} ms (x before {_ratio(wall, old[0])}), CPU {cpu:.0f} ms "
              f"(x before {_ratio(cpu, old[1])}){goal}")
    for base, verdict_key, how in (("python_pass_ms", "verdict_cli_ms", "bytecode cached"),
                                   ("python_pass_source_ms", "verdict_cli_source_ms", "compiled from source")):
        wall, cpu = now[base]
        vw, vc = now[verdict_key]
        print(f"bare `python -c pass` ({how}): wall {wall:.0f} ms, CPU {cpu:.0f} ms; the verdict takes x{vw / wall:.1f} "
              f"(wall), x{vc / cpu:.1f} (CPU) of it: {vw - wall:.0f} ms wall, {vc - cpu:.0f} ms CPU beyond the interpreter's start")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--startup"]:
        before = json.loads(BEFORE.read_text(encoding="utf-8")) if BEFORE.exists() else {}
        report_startup(measure_startup(), before)
        return
    now = measure()
    if argv[:1] == ["--save"]:
        Path(argv[1]).write_text(json.dumps(now, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {argv[1]}")
        return
    before = json.loads(BEFORE.read_text(encoding="utf-8")) if BEFORE.exists() else {}
    report(now, before)


if __name__ == "__main__":
    main(sys.argv[1:])
