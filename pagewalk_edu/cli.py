"""The `pagewalk-edu` command: trace, verdict, matrix, tables.

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
from .kernel.scenario import ACTIONS, FAULTS, WALKERS, make_scenario
from .kernel.walker import HOLDS

PROG = "pagewalk-edu"


class UsageError(Exception):
    """Bad input: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: one line, exit 2
        raise UsageError(message)


def _add_scenario_options(p: argparse.ArgumentParser, *, holds_required: bool = True) -> None:
    if holds_required:
        p.add_argument("--scenario", default=None, metavar="FILE",
                       help="load the scenario (and, for trace, its schedule) from a saved scenario or trace file")
        p.add_argument("--holds", required=False, default=None,
                       help=f"none, or a comma-separated subset of {','.join(HOLDS)} (taken in the order given)")
        p.add_argument("--action", default=None, help="one of " + ", ".join(ACTIONS))
    p.add_argument("--kernel", default=DEFAULT_KERNEL, help=f"kernel profile: {' or '.join(PROFILES)} (default {DEFAULT_KERNEL})")
    p.add_argument("--walker", default="local", help="local (the walker runs on a CPU of the walked mm) or remote")
    p.add_argument("--config", default=None, help=f"KEY=VAL,... with keys {', '.join(CONFIG_KEYS)} (y/n for booleans)")
    p.add_argument("--fault", default=None, help="inject a fault: " + ", ".join(FAULTS))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Watch folio_walk_start() race with munmap(), MADV_DONTNEED and THP collapse.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("trace", help="step through one interleaving and print each step")
    _add_scenario_options(t)
    t.add_argument("--schedule", default=None,
                   help="comma-separated actors to move, in order (walker, the action's path, irq0, irq1, rcu_gp, rcu_cb; "
                        "cpu0/cpu1 also accepted); then the default schedule continues")
    t.add_argument("--no-continue", action="store_true", help="stop when the schedule ends")
    t.add_argument("--json", action="store_true", help="print the trace as JSON")
    t.add_argument("--save", default=None, metavar="FILE", help="save the trace (schedule and state fingerprints) as JSON")
    t.add_argument("--force", action="store_true", help="let --save replace an existing file")
    t.add_argument("--svg", default=None, help="write the tree and timeline of the last step as SVG (FILE-tree.svg, FILE-timeline.svg)")
    t.add_argument("--png", default=None, help="write the tree and timeline of the last step as PNG")

    v = sub.add_parser("verdict", help="explore every interleaving and judge the scenario")
    _add_scenario_options(v)
    v.add_argument("--json", action="store_true", help="print one JSON object")

    m = sub.add_parser("matrix", help="verdicts for every protection set and action")
    _add_scenario_options(m, holds_required=False)
    m.add_argument("--json", action="store_true", help="print JSON")

    try:
        from .tables.cli import add_parser as add_tables
    except ImportError:  # pragma: no cover - the tables command ships with the package
        add_tables = None
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
        if args.kernel != DEFAULT_KERNEL or args.walker != "local" or args.config or args.fault:
            raise UsageError("--scenario already names kernel, walker, config and fault; drop those options")
        from .saved import load_scenario
        return load_scenario(args.scenario)
    if args.holds is None:
        raise UsageError("--holds is required: none, or a comma-separated subset of " + ",".join(HOLDS))
    if args.action is None:
        raise UsageError("--action is required: one of " + ", ".join(ACTIONS))
    return make_scenario(args.holds, args.action, args.kernel, args.walker, args.config, args.fault), None


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
    for fmt, target in (("svg", args.svg), ("png", args.png)):
        if target:
            from .viz.export import write_views
            for path in write_views(trace, target, fmt):
                print(f"wrote {path}", file=sys.stderr)
    return 0


def trace_json(trace) -> dict:
    last = trace.last
    return {
        "scenario": trace.ctx.scenario.as_dict(),
        "assumed": trace.ctx.scenario.describe(),
        "steps": [
            {"step": i + 1, "cpu": e.cpu, "actor": e.actor, "function": e.function, "text": e.text, "source": e.source,
             "changes": list(e.changes)}
            for i, e in enumerate(trace.events)
        ],
        "waits": [{"after_step": i, "actor": a, "reason": r} for i, a, r in trace.waits],
        "use_after_free": [u._asdict() for u in last.uaf],
        "bugs": list(last.bugs),
    }


def cmd_verdict(args: argparse.Namespace) -> int:
    from .explore.verdict import verdict

    v = verdict(_scenario(args))
    if args.json:
        print(json.dumps(v.as_dict(), indent=2))
        return 0
    from .viz.text import verdict_text
    print(verdict_text(v))
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from .explore.matrix import matrix

    cfg = _config(args)
    fault = args.fault if args.fault not in ("", "none") else None
    if fault is not None and fault not in FAULTS:
        raise UsageError(f"unknown fault {fault!r}; accepted: {', '.join(FAULTS)}")
    if args.walker not in WALKERS:
        raise UsageError(f"unknown walker {args.walker!r}; accepted: local, remote")
    m = matrix(cfg, args.walker, fault)
    if args.json:
        print(json.dumps(m.as_dict(), indent=2))
        return 0
    fault_txt = f", fault {fault}" if fault else ""
    print(f"Verdicts for a {args.walker} walker; {cfg.describe()}{fault_txt}\n")
    print(m.text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        if args.command == "tables":
            from .tables.cli import run as run_tables
            return run_tables(args)
        return {"trace": cmd_trace, "verdict": cmd_verdict, "matrix": cmd_matrix}[args.command](args)
    except (UsageError, ValueError, TypeError) as err:
        msg = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
