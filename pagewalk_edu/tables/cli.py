"""The `tables` subcommand: page-table bytes per step of a scenario, predicted by
the simulator and, with --real, measured on the running kernel (VmPTE).

    pagewalk-edu tables FILE [--json] [--real] [--config KEY=VAL,...]

Exit status: 0 when it ran (a mismatch with the kernel is reported, not an
error), 2 for a bad file or option or when --real cannot run here; the error is
one line on stderr: `pagewalk-edu tables: error: ...`.
"""

from __future__ import annotations

import argparse
import json

from ..options import ConfigList, Once, UsageError, file_to_read

PROG = "pagewalk-edu tables"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "tables",
        help="page-table bytes per step of a scenario: the simulator's prediction and (--real) the kernel's VmPTE",
        description="Predict the page-table bytes (VmPTE) each step of a scenario adds or frees, with the tables "
                    "allocated and freed and the kernel function responsible; with --real, run it on this kernel "
                    "and compare.",
    )
    p.add_argument("file", nargs="?", default=None, metavar="FILE", type=file_to_read, help="a tables scenario (JSON)")
    p.add_argument("--scenario", action=Once, default=None, metavar="FILE", type=file_to_read, help="the same as FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--real", action="store_true",
                   help="also run the scenario on this kernel (Linux x86-64) and compare with VmPTE")
    p.add_argument("--config", action=ConfigList, default=None, metavar="KEY=VAL,...",
                   help="override the kernel config the prediction uses, e.g. PT_RECLAIM=n or PGTABLE_LEVELS=5; "
                        "may be repeated")
    return p


def run(args: argparse.Namespace) -> int:
    """Run the command; return the exit status (printing one error line on
    failure).  A closed or full stdout and Ctrl-C are cli.main()'s to report."""
    import sys

    from ..console import error_line

    try:
        return _run(args)
    except UsageError as err:
        error_line(sys.stderr, PROG, err)
        return 2


def _run(args: argparse.Namespace) -> int:
    from .check import check
    from .real import RealUnavailable
    from .render import as_json, as_text
    from .spec import load_tables_scenario

    try:
        file, alias = getattr(args, "file", None), getattr(args, "scenario", None)
        if file is not None and alias is not None and file != alias:
            raise UsageError("give the scenario once: FILE or --scenario FILE", PROG)
        path = file if file is not None else alias
        if path is None:
            raise UsageError("a scenario FILE is required (see pagewalk_edu/scenarios/tables/ for examples)", PROG)
        scenario = load_tables_scenario(path)
        c = check(scenario, getattr(args, "config", None), real=bool(args.real), strict=True)
    except (RealUnavailable, ValueError, TypeError) as err:
        raise UsageError(str(err), PROG) from None
    results, resolved, running, reasons = c.results, c.resolved, c.running, c.reasons
    if args.json:
        print(json.dumps(as_json(results, resolved, running, reasons), indent=2))
    else:
        print(as_text(results, resolved, scenario, running, reasons))  # cli.main() spells it in ASCII if need be
    return 0
