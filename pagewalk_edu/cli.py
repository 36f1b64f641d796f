"""The `pagewalk-edu` command: trace, verdict, matrix, check, tables.

Every command that takes a scenario shares the same options (--holds,
--action, --kernel, --walker, --config, --fault).  Bad input exits 2 with one
line naming what was wrong and what is accepted; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .kernel.config import CONFIG_KEYS, DEFAULT_KERNEL, PROFILES, KernelConfig, parse_config_list
from .kernel.scenario import ACTIONS, ALL_ACTIONS, FAULTS, WALKERS, make_scenario
from .kernel.layout import WALKS
from .kernel.walker import HOLDS

PROG = "pagewalk-edu"
TABLES_PROG = f"{PROG} tables"  # the tables command's errors say so (docs/tables.md)
COMMANDS = ("trace", "verdict", "matrix", "check", "tables")


class UsageError(Exception):
    """Bad input: one line, exit 2; `prog` starts the line."""

    def __init__(self, message: str, prog: str = PROG) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: one line, exit 2
        raise UsageError(message, TABLES_PROG if self.prog == TABLES_PROG else PROG)


class Once(argparse.Action):
    """An option that takes one value: giving it twice is an error, not a silent override."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        given = getattr(namespace, "_given", None)
        if given is None:
            given = set()
            setattr(namespace, "_given", given)
        if self.dest in given:
            parser.error(f"{self.option_strings[-1]} given twice; give it once")
        given.add(self.dest)
        setattr(namespace, self.dest, values)


class ConfigList(argparse.Action):
    """--config KEY=VAL,...: repeated flags combine into one list (a key given
    twice across them is still an error, reported when the list is parsed)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        old = getattr(namespace, self.dest, None)
        parts = [x for x in (old, values) if x is not None and x.strip()]
        setattr(namespace, self.dest, ",".join(parts) if parts else values)


def _add_scenario_options(p: argparse.ArgumentParser, *, holds_required: bool = True) -> None:
    if holds_required:
        p.add_argument("--scenario", action=Once, default=None, metavar="FILE",
                       help="load the scenario (and, for trace, its schedule) from a scenario file (FILE.toml, "
                            "docs/scenarios.md) or a saved scenario or trace file (JSON)")
        p.add_argument("--holds", action=Once, required=False, default=None,
                       help=f"none, or a comma-separated subset of {','.join(HOLDS)} (taken in the order given)")
        p.add_argument("--action", action=Once, default=None, help="one of " + ", ".join(ALL_ACTIONS))
        p.add_argument("--address", action=Once, default=None, metavar="ADDR",
                       help="the walked address, inside the action's walked VMA A: hex, or relative such as A+2M+0x5000 "
                            "(default: the layout's own)")
    p.add_argument("--kernel", action=Once, default=DEFAULT_KERNEL,
                   help=f"kernel profile: {' or '.join(PROFILES)} (default {DEFAULT_KERNEL})")
    p.add_argument("--walker", action=Once, default="local", help="local (the walker runs on a CPU of the walked mm) or remote")
    p.add_argument("--config", action=ConfigList, default=None,
                   help=f"KEY=VAL,... with keys {', '.join(CONFIG_KEYS)} (y/n for booleans); may be repeated")
    p.add_argument("--fault", action=Once, default=None, help="inject a fault: " + ", ".join(FAULTS))
    p.add_argument("--hugetlb-walk-lock", action=Once, default=None, choices=None, metavar="take|skip",
                   help="on a hugetlb VMA: take hugetlb_vma_lock_read() (default), or skip it (the what-if "
                        "'FW_VMA_LOCKED without its hugetlb refusal')")
    p.add_argument("--patch", action=Once, default=None,
                   help="fw_vma_locked: run the June 2026 patch's folio_walk_start(FW_VMA_LOCKED) (default: today's)")
    p.add_argument("--walk", action=Once, default=None,
                   help="which walker: " + " or ".join(WALKS) + " (default folio_walk_start)"
                   + ("; the matrix takes both, comma-separated, side by side" if not holds_required else ""))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Watch folio_walk_start() race with munmap(), MADV_DONTNEED and THP collapse.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("trace", help="step through one interleaving and print each step")
    _add_scenario_options(t)
    t.add_argument("--schedule", action=Once, default=None,
                   help="comma-separated actors to move, in order (walker, the racing paths by name, irq0, irq1, ..., "
                        "rcu_gp, rcu_cb; cpu0 for the walker, cpu1, cpu2, ... for the paths); then the default schedule continues")
    t.add_argument("--no-continue", action="store_true", help="stop when the schedule ends")
    t.add_argument("--json", action="store_true", help="print the trace as JSON")
    t.add_argument("--save", action=Once, default=None, metavar="FILE", help="save the trace (schedule and state fingerprints) as JSON")
    t.add_argument("--force", action="store_true", help="let --save, --svg and --png replace existing files")
    t.add_argument("--svg", action=Once, default=None, metavar="FILE",
                   help="write the tree and the timeline of the last step as two files, FILE-tree.svg and "
                        "FILE-timeline.svg (a .svg ending on FILE is dropped)")
    t.add_argument("--png", action=Once, default=None, metavar="FILE",
                   help="write the tree and the timeline of the last step as two files, FILE-tree.png and "
                        "FILE-timeline.png (a .png ending on FILE is dropped)")

    v = sub.add_parser("verdict", help="explore every interleaving and judge the scenario")
    _add_scenario_options(v)
    v.add_argument("--json", action="store_true", help="print one JSON object")

    m = sub.add_parser("matrix", help="verdicts for every protection set and action")
    _add_scenario_options(m, holds_required=False)
    m.add_argument("--json", action="store_true", help="print JSON")
    m.add_argument("--hugetlb", action="store_true",
                   help="the hugetlb PMD-sharing actions with the hugetlb holders (what the walker holds, and whether "
                        "it takes the hugetlb walk lock)")

    try:
        from .tables.cli import add_parser as add_tables
    except ImportError:  # pragma: no cover - the tables command ships with the package
        add_tables = None
    from .check import add_parser as add_check
    add_check(sub)
    if add_tables is not None:
        add_tables(sub)
    return parser


def _scenario(args: argparse.Namespace):
    return _scenario_and_schedule(args)[0]


def _scenario_and_schedule(args: argparse.Namespace):
    if getattr(args, "scenario", None):
        given = [f for f in ("holds", "action") if getattr(args, f) is not None]
        if given:
            raise UsageError(f"--scenario already names the scenario; drop --{given[0]}")
        if args.kernel != DEFAULT_KERNEL or args.walker != "local" or args.config or args.fault or args.address or args.walk \
                or args.patch or args.hugetlb_walk_lock:
            raise UsageError("--scenario already names kernel, walker, walk, config, fault and address; drop those options")
        if str(args.scenario).endswith(".toml"):
            from .scenarios.files import load
            f = load(args.scenario)
            return f.scenario, (list(f.schedule) if f.schedule else None)
        from .saved import load_scenario
        return load_scenario(args.scenario)
    if args.holds is None:
        raise UsageError("--holds is required: none, or a comma-separated subset of " + ",".join(HOLDS))
    if args.action is None:
        raise UsageError("--action is required: one of " + ", ".join(ALL_ACTIONS))
    address = _address(args.address, args.action) if args.address is not None else None
    if args.walk is not None and args.walk not in WALKS:
        raise UsageError(f"unknown walk {args.walk!r}; accepted: {', '.join(WALKS)}")
    return make_scenario(args.holds, args.action, args.kernel, args.walker, args.config, args.fault, address,
                         walk=args.walk, patch=args.patch, hugetlb_walk_lock=_walk_lock(args)), None


def _walk_lock(args: argparse.Namespace) -> str | None:
    v = args.hugetlb_walk_lock
    if v is not None and v not in ("take", "skip"):
        raise UsageError(f"--hugetlb-walk-lock takes take or skip, got {v!r}")
    return v


def _address(text: str, action: str) -> int:
    """--address: hex, decimal, or relative to the layout's VMAs (A+2M+0x5000)."""
    from .kernel.layout import builtin_layout, parse_address

    if action not in ALL_ACTIONS:
        raise UsageError(f"unknown action {action!r}; accepted: {', '.join(ALL_ACTIONS)}")
    layout = builtin_layout(action)
    try:
        return parse_address(text, {v.name: v for v in layout.vmas}, "--address")
    except ValueError as err:
        raise UsageError(str(err)) from None


def _config(args: argparse.Namespace) -> KernelConfig:
    return KernelConfig.for_kernel(args.kernel, **parse_config_list(args.config))


def cmd_trace(args: argparse.Namespace) -> int:
    from .kernel.sim import run
    from .viz.text import trace_text

    scenario, schedule = _scenario_and_schedule(args)
    if args.schedule is not None:
        schedule = [x.strip() for x in args.schedule.split(",") if x.strip()]
        if not schedule:
            raise UsageError("--schedule is empty; give comma-separated actor names")
    views = [(fmt, target) for fmt, target in (("svg", args.svg), ("png", args.png)) if target]
    _check_outputs(args, views)  # before anything is written
    trace = run(scenario, schedule, then_default=not args.no_continue)
    if args.save:
        from .saved import save_trace
        try:
            save_trace(args.save, trace, overwrite=args.force)
        except FileExistsError:
            raise UsageError(f"{args.save} exists; add --force to replace it") from None
        except OSError as err:
            raise UsageError(f"cannot write {args.save}: {err.strerror}") from None
    if args.json:
        print(json.dumps(trace_json(trace), indent=2))
    else:
        print(trace_text(trace))
        for f in trace.last.foreign:
            print(f"FOREIGN TABLE: {f.actor} read {f.level} table #{f.via} in {f.function}() after P had unshared it and "
                  f"{f.owner} had reused it (the walk reaches {f.owner}'s live tables; nothing was freed).")
        for w in trace.last.warnings:
            print(w)
    for fmt, target in views:
        from .viz.export import write_views
        try:
            paths = write_views(trace, target, fmt, overwrite=args.force)
        except FileExistsError as err:
            raise UsageError(f"{err.filename} exists; add --force to replace it") from None
        except OSError as err:
            raise UsageError(f"cannot write {err.filename or target}: {err.strerror}") from None
        for path in paths:
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _check_outputs(args: argparse.Namespace, views: list[tuple[str, str]]) -> None:
    """--save, --svg and --png: refuse a directory, or an existing file without --force."""
    from pathlib import Path

    from .viz.export import view_paths

    if args.save:
        if Path(args.save).is_dir():
            raise UsageError(f"--save {args.save}: is a directory; give the name of a file to save to")
        if Path(args.save).exists() and not args.force:
            raise UsageError(f"{args.save} exists; add --force to replace it")
    for fmt, target in views:
        if Path(target).is_dir():
            raise UsageError(f"--{fmt} {target}: is a directory; give a file name such as {Path(target) / 'step'} "
                             f"(it writes step-tree.{fmt} and step-timeline.{fmt} there)")
        for path in view_paths(target, fmt):
            if not path.parent.is_dir():
                raise UsageError(f"cannot write {target}: folder {path.parent} does not exist")
            if path.is_dir():
                raise UsageError(f"--{fmt} {target}: {path} is a directory")
            if path.exists() and not args.force:
                raise UsageError(f"{path} exists; add --force to replace it")


def trace_json(trace) -> dict:
    last = trace.last
    return {
        "scenario": trace.ctx.scenario.as_dict(),
        "assumed": trace.ctx.scenario.describe(),
        "what_if": list(trace.ctx.scenario.config.what_ifs()),
        "steps": [
            {"step": i + 1, "cpu": e.cpu, "actor": e.actor, "function": e.function, "text": e.text, "source": e.source,
             "changes": list(e.changes)}
            for i, e in enumerate(trace.events)
        ],
        "waits": [{"after_step": i, "actor": a, "reason": r} for i, a, r in trace.waits],
        "use_after_free": [u._asdict() for u in last.uaf],
        "bugs": list(last.bugs),
        "warnings": list(last.warnings),
        "foreign_table": [f._asdict() for f in last.foreign],
    }


def cmd_verdict(args: argparse.Namespace) -> int:
    from .explore.verdict import verdict

    v = verdict(_scenario(args))
    if args.json:
        print(json.dumps(v.as_dict(), indent=2))
        return 0
    from .viz.text import verdict_text
    print(verdict_text(v))
    for w in v.warnings:  # folio_walk_start()'s failed assertions (kernel/walkers/assertions.py)
        print(f"  - {w}")
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from .explore.matrix import matrix

    cfg = _config(args)
    fault = args.fault if args.fault not in ("", "none") else None
    if fault is not None and fault not in FAULTS:
        raise UsageError(f"unknown fault {fault!r}; accepted: {', '.join(FAULTS)}")
    if args.walker not in WALKERS:
        raise UsageError(f"unknown walker {args.walker!r}; accepted: local, remote")
    walks = [w.strip() for w in (args.walk or WALKS[0]).split(",")]
    for w in walks:
        if w not in WALKS:
            raise UsageError(f"unknown walk {w!r} in --walk; accepted: {', '.join(WALKS)}, or both comma-separated")
    if len(set(walks)) != len(walks):
        raise UsageError("--walk names a walker twice")
    if "gup_fast" in walks and args.walker != "local":
        raise UsageError("gup_fast walks current->mm, so it is always a local walker; drop --walker remote")
    if args.hugetlb:
        from .explore.matrix import HUGETLB_ROWS
        from .kernel.scenario import HUGETLB_ACTIONS
        ms = [matrix(cfg, args.walker, fault, rows=HUGETLB_ROWS, actions=HUGETLB_ACTIONS, walk=w) for w in walks]
    else:
        ms = [matrix(cfg, args.walker, fault, walk=w) for w in walks]
    if args.json:
        print(json.dumps(ms[0].as_dict() if len(ms) == 1 else {"matrices": [m.as_dict() for m in ms]}, indent=2))
        return 0
    fault_txt = f", fault {fault}" if fault else ""
    print(f"Verdicts for a {args.walker} walker; {cfg.describe()}{fault_txt}\n")
    if len(ms) == 1:
        print(ms[0].text())
    else:
        from .explore.matrix import side_by_side
        print(side_by_side(ms))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}", TABLES_PROG if args.command == "tables" else PROG)
        if args.command is None:
            raise UsageError(f"a command is required: {', '.join(COMMANDS[:-1])} or {COMMANDS[-1]}")
        if args.command == "check":
            from .check import run as run_check
            return run_check(args)
        if args.command == "tables":
            from .tables.cli import run as run_tables
            return run_tables(args)
        return {"trace": cmd_trace, "verdict": cmd_verdict, "matrix": cmd_matrix}[args.command](args)
    except (UsageError, ValueError, TypeError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"{getattr(err, 'prog', PROG)}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
