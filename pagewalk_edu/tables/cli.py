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
import sys

PROG = "pagewalk-edu tables"


def add_parser(subparsers) -> argparse.ArgumentParser:
    from ..cli import ConfigList, Once

    p = subparsers.add_parser(
        "tables",
        help="page-table bytes per step of a scenario: the simulator's prediction and (--real) the kernel's VmPTE",
        description="Predict the page-table bytes (VmPTE) each step of a scenario adds or frees, with the tables "
                    "allocated and freed and the kernel function responsible; with --real, run it on this kernel "
                    "and compare.",
    )
    p.add_argument("file", nargs="?", default=None, metavar="FILE", help="a tables scenario (JSON)")
    p.add_argument("--scenario", action=Once, default=None, metavar="FILE", help="the same as FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--real", action="store_true",
                   help="also run the scenario on this kernel (Linux x86-64) and compare with VmPTE")
    p.add_argument("--config", action=ConfigList, default=None, metavar="KEY=VAL,...",
                   help="override the kernel config the prediction uses, e.g. PT_RECLAIM=n or PGTABLE_LEVELS=5; "
                        "may be repeated")
    return p


def _fail(message: str) -> int:
    print(f"{PROG}: error: {str(message).splitlines()[0] if str(message) else 'failed'}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run the command; return the exit status (printing one error line on failure)."""
    from .check import check
    from .real import RealUnavailable
    from .render import as_json, as_text
    from .spec import load_tables_scenario

    try:
        file, alias = getattr(args, "file", None), getattr(args, "scenario", None)
        if file and alias and file != alias:
            return _fail("give the scenario once: FILE or --scenario FILE")
        path = file or alias
        if not path:
            return _fail("a scenario FILE is required (see pagewalk_edu/scenarios/tables/ for examples)")
        scenario = load_tables_scenario(path)
        c = check(scenario, getattr(args, "config", None), real=bool(args.real), strict=True)
        results, resolved, running, reasons = c.results, c.resolved, c.running, c.reasons
        if args.json:
            print(json.dumps(as_json(results, resolved, running, reasons), indent=2))
        else:
            text = as_text(results, resolved, scenario, running, reasons)
            encoding = getattr(sys.stdout, "encoding", None) or "ascii"
            try:
                text.encode(encoding)
            except (UnicodeEncodeError, LookupError):
                text = text.replace("→", "->").encode("ascii", "replace").decode("ascii")
            print(text)
        return 0
    except RealUnavailable as err:
        return _fail(str(err))
    except (ValueError, TypeError) as err:
        return _fail(str(err))
    except BrokenPipeError:  # pragma: no cover - piped into head
        return 0
