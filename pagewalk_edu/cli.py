"""The `pagewalk-edu` command: trace, verdict, matrix, check, tables.

Every command that takes a scenario shares the same options (--holds,
--action, --kernel, --walker, --config, --fault).  Bad input exits 2 with one
line naming what was wrong and what is accepted; never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .kernel.config import CONFIG_KEYS, DEFAULT_KERNEL, PROFILES, KernelConfig, parse_config_list
from .kernel.scenario import ACTIONS, FAULTS, WALKERS, make_scenario
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
        p.add_argument("--action", action=Once, default=None, help="one of " + ", ".join(ACTIONS))
        p.add_argument("--address", action=Once, default=None, metavar="ADDR",
                       help="the walked address, inside the action's walked VMA A: hex, or relative such as A+2M+0x5000 "
                            "(default: the layout's own)")
    p.add_argument("--kernel", action=Once, default=DEFAULT_KERNEL,
                   help=f"kernel profile: {' or '.join(PROFILES)} (default {DEFAULT_KERNEL})")
    p.add_argument("--walker", action=Once, default="local", help="local (the walker runs on a CPU of the walked mm) or remote")
    p.add_argument("--config", action=ConfigList, default=None,
                   help=f"KEY=VAL,... with keys {', '.join(CONFIG_KEYS)} (y/n for booleans); may be repeated")
    p.add_argument("--fault", action=Once, default=None, help="inject a fault: " + ", ".join(FAULTS))


TABLES_HELP = "page-table bytes per step of a scenario: the simulator's prediction and (--real) the kernel's VmPTE"


def build_parser(with_tables: bool = True) -> argparse.ArgumentParser:
    """The whole command line.  `with_tables=False` stands a bare entry in for
    the tables command, so that the other commands do not import it (it is the
    costliest import of the package and they never use it)."""
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

    from .check import add_parser as add_check
    add_check(sub)
    if with_tables:
        from .tables.cli import add_parser as add_tables
        add_tables(sub)
    else:
        sub.add_parser("tables", help=TABLES_HELP)
    return parser


def _scenario(args: argparse.Namespace):
    return _scenario_and_schedule(args)[0]


def _scenario_and_schedule(args: argparse.Namespace):
    if getattr(args, "scenario", None):
        given = [f for f in ("holds", "action") if getattr(args, f) is not None]
        if given:
            raise UsageError(f"--scenario already names the scenario; drop --{given[0]}")
        if args.kernel != DEFAULT_KERNEL or args.walker != "local" or args.config or args.fault or args.address:
            raise UsageError("--scenario already names kernel, walker, config, fault and address; drop those options")
        if str(args.scenario).endswith(".toml"):
            from .scenarios.files import load
            f = load(args.scenario)
            return f.scenario, (list(f.schedule) if f.schedule else None)
        from .saved import load_scenario
        return load_scenario(args.scenario)
    if args.holds is None:
        raise UsageError("--holds is required: none, or a comma-separated subset of " + ",".join(HOLDS))
    if args.action is None:
        raise UsageError("--action is required: one of " + ", ".join(ACTIONS))
    address = _address(args.address, args.action) if args.address is not None else None
    return make_scenario(args.holds, args.action, args.kernel, args.walker, args.config, args.fault, address), None


def _address(text: str, action: str) -> int:
    """--address: hex, decimal, or relative to the layout's VMAs (A+2M+0x5000)."""
    from .kernel.layout import builtin_layout, parse_address

    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}; accepted: {', '.join(ACTIONS)}")
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
        import json
        print(json.dumps(trace_json(trace), indent=2))
    else:
        print(trace_text(trace))
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
        import json
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
        import json
        print(json.dumps(m.as_dict(), indent=2))
        return 0
    fault_txt = f", fault {fault}" if fault else ""
    print(f"Verdicts for a {args.walker} walker; {cfg.describe()}{fault_txt}\n")
    print(m.text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args_given = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args_given if not a.startswith("-")), None)
    parser = build_parser(with_tables=command in (None, "tables") or "-h" in args_given or "--help" in args_given)
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
