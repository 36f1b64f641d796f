"""The `tables` subcommand: predicted (and with --real, measured) page-table bytes per step."""

from __future__ import annotations

import argparse
import json
import sys

from ..kernel.config import KernelConfig, parse_config_list
from ..kernel.geometry import fmt_size
from .predict import predict
from .spec import load_tables_scenario

PROG = "pagewalk-edu tables"


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("tables", help="page-table bytes per step of a scenario, predicted and (with --real) measured")
    p.add_argument("file", nargs="?", default=None, metavar="FILE", help="a tables scenario (JSON)")
    p.add_argument("--scenario", default=None, metavar="FILE", help="the same as FILE")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--real", action="store_true", help="also run it on this kernel and compare with VmPTE")
    p.add_argument("--config", default=None, help="KEY=VAL,... (PT_RECLAIM, PGTABLE_LEVELS matter here)")
    return p


def _config(args, real_cfg: dict | None) -> tuple[KernelConfig, str]:
    overrides = parse_config_list(args.config)
    source = "the 6.18 profile"
    if real_cfg is not None:
        where, values = real_cfg["where"], real_cfg["values"]
        if where and "PT_RECLAIM" not in overrides:
            overrides["PT_RECLAIM"] = values.get("CONFIG_PT_RECLAIM") == "y"
            if not overrides["PT_RECLAIM"] and "MMU_GATHER_RCU_TABLE_FREE" not in overrides:
                overrides.setdefault("MMU_GATHER_RCU_TABLE_FREE", values.get("CONFIG_MMU_GATHER_RCU_TABLE_FREE", "y") == "y")
            source = f"{where} of the running kernel"
        if "PGTABLE_LEVELS" not in overrides:
            overrides["PGTABLE_LEVELS"] = real_cfg["levels"]
    if overrides.get("PT_RECLAIM") and overrides.get("MMU_GATHER_RCU_TABLE_FREE") is False:
        overrides["MMU_GATHER_RCU_TABLE_FREE"] = True
    return KernelConfig.for_kernel("6.18", **overrides), source


def explain_mismatch(cfg: KernelConfig, real_cfg: dict) -> list[str]:
    """Why the kernel may disagree, in words (shown, never hidden)."""
    out = []
    thp = real_cfg.get("thp")
    if thp == "always":
        out.append("THP is 'always' here; the scenario asks for MADV_NOHUGEPAGE after each mmap, so it should not matter — "
                   "if it does, khugepaged or a fault installed a huge page.")
    if not cfg.PT_RECLAIM:
        out.append("PT_RECLAIM is off: MADV_DONTNEED frees no PTE table on this kernel.")
    if real_cfg.get("levels") == 5:
        out.append("5-level paging: a P4D table is allocated too, but VmPTE does not count P4D tables.")
    out.append("Other activity in the measuring process (a new malloc arena, a thread stack) can add a page table "
               "of its own to one step; run again to see whether a mismatch repeats.")
    return out


def run(args: argparse.Namespace) -> int:
    from .real import RealUnavailable, check_platform, kernel_config, paging_levels, run_real, thp_mode

    path = args.file or args.scenario
    if args.file and args.scenario:
        raise ValueError("give the scenario once: FILE or --scenario FILE")
    if not path:
        raise ValueError("a scenario FILE is required")
    scenario = load_tables_scenario(path)
    real_cfg = None
    if args.real:
        try:
            check_platform()
        except RealUnavailable as err:
            print(f"pagewalk-edu: error: {err}", file=sys.stderr)
            return 2
        where, values = kernel_config()
        real_cfg = {"where": where, "values": values, "thp": thp_mode(), "levels": paging_levels()}
    cfg, source = _config(args, real_cfg)
    results = predict(scenario, cfg)
    if args.real:
        try:
            real = run_real(scenario)
        except RealUnavailable as err:
            print(f"pagewalk-edu: error: {err}", file=sys.stderr)
            return 2
        for r, b in zip(results, real):
            r.real_page_table_bytes = b
    cfg_dict = {k: v for k, v in cfg.as_dict().items() if k in ("PT_RECLAIM", "PGTABLE_LEVELS", "MMU_GATHER_RCU_TABLE_FREE")}
    cfg_dict["source"] = source
    if args.json:
        print(json.dumps({"config": cfg_dict, "steps": [r.as_dict() for r in results]}, indent=2))
        return 0
    print(f"Config: PT_RECLAIM={'y' if cfg.PT_RECLAIM else 'n'}, PGTABLE_LEVELS={cfg.PGTABLE_LEVELS} (from {source})")
    if scenario.description:
        print(scenario.description)
    print()
    head = f"{'#':>3}  {'step':34s} {'predicted':>10s}" + (f" {'kernel':>10s}  match" if args.real else "")
    print(head)
    for i, r in enumerate(results, 1):
        line = f"{i:3d}  {r.description:34s} {fmt_size(r.page_table_bytes) if r.page_table_bytes else '0':>10s}"
        if args.real:
            real = r.real_page_table_bytes
            line += f" {fmt_size(real) if real else '0':>10s}  {'yes' if r.match else 'NO'}"
        print(line)
        for c in r.allocated:
            print(f"       + {c.level} table [{c.start:#x}, {c.end:#x})  {c.function}")
        for c in r.freed:
            print(f"       - {c.level} table [{c.start:#x}, {c.end:#x})  {c.function}")
    if args.real and not all(r.match for r in results):
        print("\nMismatch. What can explain it:")
        for line in explain_mismatch(cfg, real_cfg):
            print(f"  - {line}")
    return 0
