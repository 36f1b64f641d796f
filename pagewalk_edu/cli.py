"""The `pagewalk-edu` command: trace, verdict, matrix, check, tables.

Every command that takes a scenario shares the same options (--holds,
--action, --kernel, --walker, --config, --fault).  Bad input exits 2 with one
line naming what was wrong and what is accepted; never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .console import Output, OutputFailed, echo, error_line, quote, spelled_for
from .kernel.config import CONFIG_KEYS, DEFAULT_KERNEL, PROFILES, KernelConfig, parse_config_list
from .kernel.scenario import ACTIONS, ALL_ACTIONS, FAULTS, WALKERS, make_scenario
from .kernel.layout import WALKS
from .kernel.walker import HOLDS
from .options import PROG, ConfigList, Once, UsageError, file_to_read, file_to_write, given_options, matrix_walks

TABLES_PROG = f"{PROG} tables"  # the tables command's errors say so (docs/tables.md)
COMMANDS = ("trace", "verdict", "matrix", "check", "tables")
#: The options a scenario file or saved scenario settles (--scenario FILE refuses them).
SCENARIO_OPTIONS = ("holds", "action", "kernel", "walker", "config", "fault", "address", "walk", "patch",
                    "hugetlb_walk_lock")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # argparse's own errors: one line, exit 2
        raise UsageError(message, TABLES_PROG if self.prog == TABLES_PROG else PROG)


def _add_scenario_options(p: argparse.ArgumentParser, *, holds_required: bool = True) -> None:
    if holds_required:
        p.add_argument("--scenario", action=Once, default=None, metavar="FILE", type=file_to_read,
                       help="load the scenario (and, for trace, its schedule) from a scenario file (FILE.toml, "
                            "docs/scenarios.md) or a saved scenario or trace file (JSON); the file settles holds, "
                            "action, kernel, walker, config, fault and address, so those options are refused beside it "
                            "(trace --schedule is applied: it replaces the saved schedule)")
        p.add_argument("--holds", action=Once, required=False, default=None,
                       help=f"none, or a comma-separated subset of {','.join(HOLDS)} (taken in the order given)")
        p.add_argument("--action", action=Once, default=None, help="one of " + ", ".join(ALL_ACTIONS))
        p.add_argument("--address", action=Once, default=None, metavar="ADDR",
                       help="the walked address, inside the action's walked VMA A: hex, or relative such as A+2M+0x5000 "
                            "(default: the layout's own)")
    p.add_argument("--kernel", action=Once, default=DEFAULT_KERNEL,
                   help=f"kernel profile: {' or '.join(PROFILES)} (default {DEFAULT_KERNEL})")
    p.add_argument("--walker", action=Once, default="local", help="local (the walker's CPU is in the walked mm's mm_cpumask and gets its TLB-flush IPIs) or remote "
                        "(its CPU is not in the walked mm's mm_cpumask: no flush IPI reaches it)")
    p.add_argument("--config", action=ConfigList, default=None,
                   help=f"KEY=VAL,... with keys {', '.join(CONFIG_KEYS)} (y/n for booleans); may be repeated")
    p.add_argument("--fault", action=Once, default=None, help="inject a kernel event: batch_alloc_fail (tlb_remove_table() gets no batch page) or "
                        "gather_batch_full (the mmu_gather page batch is full, as after ~9,700 small pages on x86-64: "
                        "zap_pte_range() flushes under the ptl)")
    p.add_argument("--hugetlb-walk-lock", action=Once, default=None, choices=None, metavar="take|skip",
                   help="on a hugetlb VMA: take hugetlb_vma_lock_read() (default), or skip it (the what-if "
                        "'FW_VMA_LOCKED without its hugetlb refusal')")
    p.add_argument("--patch", action=Once, default=None,
                   help="fw_vma_locked: run the June 2026 patch's folio_walk_start(FW_VMA_LOCKED) (default: today's)")
    p.add_argument("--walk", action=Once, default=None,
                   help="which walker: " + " or ".join(WALKS) + " (default folio_walk_start)"
                   + ("; the matrix takes both, comma-separated, side by side" if not holds_required else ""))


TABLES_HELP = "page-table bytes per step of a scenario: the simulator's prediction and (--real) the kernel's VmPTE"


def build_parser(with_tables: bool = True, only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line.  `with_tables=False` stands a bare entry in for
    the tables command, so that the other commands do not import it (it is the
    costliest import of the package and they never use it).  `only` builds
    just that command's options (what `main()` does when the command is known
    and no help is asked for): the others' are never used by that run."""
    parser = _Parser(prog=PROG, description="Watch folio_walk_start() race with munmap(), MADV_DONTNEED and THP collapse.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in COMMANDS:
        if only is None or name == only:
            _BUILDERS[name](sub, with_tables)
    return parser


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing shutil at start-up
    (HelpFormatter() does, and argparse makes one for every option added)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size() gives it: $COLUMNS,
    else the width of standard output's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _trace_parser(sub, with_tables: bool) -> None:
    t = sub.add_parser("trace", help="step through one interleaving and print each step")
    _add_scenario_options(t)
    t.add_argument("--schedule", action=Once, default=None,
                   help="comma-separated actors to move, in order (walker, the racing paths by name, irq0, irq1, ..., "
                        "rcu_gp, rcu_cb; cpu0 for the walker, cpu1, cpu2, ... for the paths); then the default schedule continues")
    t.add_argument("--no-continue", action="store_true", help="stop when the schedule ends")
    t.add_argument("--json", action="store_true", help="print the trace as JSON")
    t.add_argument("--save", action=Once, default=None, metavar="FILE", type=file_to_write, help="save the trace (schedule and state fingerprints) as JSON")
    t.add_argument("--force", action="store_true", help="let --save, --svg and --png replace existing files")
    t.add_argument("--svg", action=Once, default=None, metavar="FILE", type=file_to_write,
                   help="write the tree and the timeline of the last step as two files, FILE-tree.svg and "
                        "FILE-timeline.svg (a .svg ending on FILE is dropped)")
    t.add_argument("--png", action=Once, default=None, metavar="FILE", type=file_to_write,
                   help="write the tree and the timeline of the last step as two files, FILE-tree.png and "
                        "FILE-timeline.png (a .png ending on FILE is dropped)")


def _verdict_parser(sub, with_tables: bool) -> None:
    v = sub.add_parser("verdict", help="explore every interleaving and judge the scenario")
    _add_scenario_options(v)
    v.add_argument("--json", action="store_true", help="print one JSON object")


def _matrix_parser(sub, with_tables: bool) -> None:
    m = sub.add_parser("matrix", help="verdicts for every protection set and action")
    _add_scenario_options(m, holds_required=False)
    m.add_argument("--json", action="store_true", help="print JSON")
    m.add_argument("--hugetlb", action="store_true",
                   help="the hugetlb PMD-sharing actions with the hugetlb holders (what the walker holds, and whether "
                        "it takes the hugetlb walk lock)")


def _check_parser(sub, with_tables: bool) -> None:
    from .check import add_parser as add_check
    add_check(sub)


def _tables_parser(sub, with_tables: bool) -> None:
    if with_tables:
        from .tables.cli import add_parser as add_tables
        add_tables(sub)
    else:
        sub.add_parser("tables", help=TABLES_HELP)


_BUILDERS = {"trace": _trace_parser, "verdict": _verdict_parser, "matrix": _matrix_parser, "check": _check_parser,
             "tables": _tables_parser}


def _scenario(args: argparse.Namespace):
    return _scenario_and_schedule(args)[0]


def _scenario_and_schedule(args: argparse.Namespace):
    if getattr(args, "scenario", None) is not None:
        given = [f"--{f.replace('_', '-')}" for f in SCENARIO_OPTIONS if f in given_options(args)]
        if given:  # refused, never silently ignored: the file's values are the ones used
            raise UsageError(f"--scenario already names the scenario (its holds, action, kernel, walker, config, "
                             f"fault and address); drop {', '.join(given)}, or edit the file")
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
            raise UsageError(f"{echo(args.save)} exists; add --force to replace it") from None
    if args.json:
        import json
        print(json.dumps(trace_json(trace), indent=2))
    else:
        print(trace_text(trace))  # its outcome lines name the violation and its step (use-after-free or foreign table)
        for w in trace.last.warnings:
            print(w)
    for fmt, target in views:
        from .viz.export import write_views
        try:
            paths = write_views(trace, target, fmt, overwrite=args.force)
        except FileExistsError as err:
            raise UsageError(f"{echo(err.filename)} exists; add --force to replace it") from None
        except Exception as err:
            if type(err).__name__ == "ExecutableNotFound":  # graphviz: no `dot` on PATH
                raise UsageError(NO_DOT.format(opt=f"--{fmt}")) from None
            raise
        for path in paths:
            print(spelled_for(sys.stderr, f"wrote {echo(path, 500)}"), file=sys.stderr)
    return 0


NO_DOT = ("{opt} draws the tree with Graphviz's `dot` program, which is not installed here; install Graphviz "
          "(Debian/Ubuntu: apt install graphviz; Fedora: dnf install graphviz; macOS: brew install graphviz; "
          "conda: conda install graphviz) and try again")


def _check_outputs(args: argparse.Namespace, views: list[tuple[str, str]]) -> None:
    """--save, --svg and --png, before anything runs or is written: each target
    must be absent or a regular file (with --force), in a folder that exists
    (files.check_target); --svg and --png need Graphviz's dot."""
    import shutil
    from pathlib import Path

    from .files import TargetExists, check_target

    def check(path, opt: str) -> None:
        try:
            check_target(path, args.force)
        except TargetExists:
            raise UsageError(f"{echo(path)} exists; add --force to replace it") from None
        except ValueError as err:
            raise UsageError(f"{opt} {err}") from None

    if args.save:
        check(args.save, "--save")
    if views:  # export only: the plain trace must not need matplotlib (absent in the browser-only course)
        from .viz.export import view_paths
    for fmt, target in views:
        if Path(target).is_dir():
            raise UsageError(f"--{fmt} {echo(target)}: is a directory; give a file name such as "
                             f"{echo(Path(target) / 'step')} (it writes step-tree.{fmt} and step-timeline.{fmt} there)")
        for path in view_paths(target, fmt):
            check(path, f"--{fmt}")
        if shutil.which("dot") is None:
            raise UsageError(NO_DOT.format(opt=f"--{fmt}"))


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
        # the first violation and its step (Trace.first_violation()): "use-after-free" or "foreign table"
        "violation": ({"kind": trace.violation_kind(), "step": trace.first_violation()}
                      if trace.first_violation() is not None else None),
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
    for w in v.warnings:  # folio_walk_start()'s failed assertions (kernel/walkers/assertions.py)
        print(f"  - {w}")
    return 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from .explore.matrix import matrix

    cfg = _config(args)
    fault = args.fault if args.fault not in ("", "none") else None
    if fault is not None and fault not in FAULTS:
        raise UsageError(f"unknown fault {quote(fault)}; accepted: {', '.join(FAULTS)}")
    if args.walker not in WALKERS:
        raise UsageError(f"unknown walker {quote(args.walker)}; accepted: local, remote")
    patch = None if args.patch in (None, "", "none") else args.patch
    try:
        walks = matrix_walks(args.walk, args.walker, patch)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.hugetlb:
        from .explore.matrix import HUGETLB_ROWS
        from .kernel.scenario import HUGETLB_ACTIONS
        ms = [matrix(cfg, args.walker, fault, rows=HUGETLB_ROWS, actions=HUGETLB_ACTIONS, walk=w, patch=patch) for w in walks]
    else:
        ms = [matrix(cfg, args.walker, fault, walk=w, patch=patch) for w in walks]
    if args.json:
        import json
        print(json.dumps(ms[0].as_dict() if len(ms) == 1 else {"matrices": [m.as_dict() for m in ms]}, indent=2))
        return 0
    fault_txt = f", fault {fault}" if fault else ""
    if patch:
        fault_txt += f", patch {patch} (the June 2026 folio_walk_start() patch, not in a release)"
    print(f"Verdicts for a {args.walker} walker; {cfg.describe()}{fault_txt}\n")
    if len(ms) == 1:
        print(ms[0].text())
    else:
        from .explore.matrix import side_by_side
        print(side_by_side(ms))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status: 0, 2 for bad input (one line
    on stderr, never a traceback), 1 when standard output is closed or full
    (quietly), 130 on Ctrl-C."""
    _matplotlib_cache()
    stdout = sys.stdout
    sys.stdout = Output(stdout)
    prog = PROG
    given = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    command = next((a for a in given if not a.startswith("-")), None)
    try:
        helping = "-h" in given or "--help" in given
        only = command if command in COMMANDS and not helping else None
        parser = build_parser(with_tables=command in (None, "tables") or helping, only=only)
        args, extra = parser.parse_known_args(argv)
        prog = TABLES_PROG if args.command == "tables" else PROG
        if extra:
            raise UsageError(f"unrecognized arguments: {' '.join(extra)}", prog)
        if args.command is None:
            raise UsageError(f"a command is required: {', '.join(COMMANDS[:-1])} or {COMMANDS[-1]}")
        if args.command == "check":
            from .check import run as run_check
            status = run_check(args)
        elif args.command == "tables":
            from .tables.cli import run as run_tables
            status = run_tables(args)
        else:
            status = {"trace": cmd_trace, "verdict": cmd_verdict, "matrix": cmd_matrix}[args.command](args)
        sys.stdout.flush()  # a closed or full stdout shows here, not at exit
        return status
    except OutputFailed:
        _silence_stdout(stdout)
        return 1
    except KeyboardInterrupt:
        _silence_stdout(stdout)
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ValueError, TypeError) as err:
        error_line(sys.stderr, getattr(err, "prog", prog), err)
        return 2
    except OSError as err:  # a file the user named: the path and the reason, in words
        error_line(sys.stderr, prog, _os_error(err))
        return 2
    finally:
        sys.stdout = stdout


def _os_error(err: OSError) -> str:
    from .files import FileError, reason

    if isinstance(err, FileError) or not err.filename:
        return str(err) if isinstance(err, FileError) else reason(err)
    return f"{echo(err.filename)}: {reason(err)}"


def _silence_stdout(stdout) -> None:
    """Whatever is still buffered for a closed or full stdout is dropped, so
    that Python's own flush at exit has nothing to complain about."""
    try:
        fd = stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def _matplotlib_cache() -> None:
    """matplotlib keeps its font cache under ~/.config/matplotlib and
    ~/.cache/matplotlib; where it cannot write them it warns on every start,
    which would add lines to each message.  Then MPLCONFIGDIR points at a
    folder of this user's under the temporary folder."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    home = os.path.expanduser("~")
    wanted = [os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "matplotlib"),
              os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "matplotlib")]
    if all(_can_create(path) for path in wanted):
        return
    import tempfile

    folder = os.path.join(tempfile.gettempdir(), f"pagewalk-edu-matplotlib-{os.getuid() if hasattr(os, 'getuid') else 0}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return
    st = os.lstat(folder)
    import stat

    if not stat.S_ISDIR(st.st_mode) or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        try:  # someone else's, or not a folder: a fresh private one
            folder = tempfile.mkdtemp(prefix="pagewalk-edu-matplotlib-")
        except OSError:
            return
    os.environ["MPLCONFIGDIR"] = folder


def _can_create(path: str) -> bool:
    """Is `path` a writable folder, or could it be made (its first existing
    ancestor is a writable folder)?"""
    while True:
        if os.path.isdir(path):
            return os.access(path, os.W_OK | os.X_OK)
        if os.path.lexists(path):
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
