"""The verdict matrix: walker protections × concurrent actions, for one config."""

from __future__ import annotations

from dataclasses import dataclass

from ..kernel.config import KernelConfig
from ..kernel.scenario import ACTIONS, Scenario
from .verdict import Verdict, verdict

#: The protection sets of the seed debate, in teaching order.
PROTECTIONS: tuple[tuple[str, ...], ...] = (
    (),
    ("mmap_lock",),
    ("vma_lock",),
    ("rcu",),
    ("irqs_off",),
    ("vma_lock", "rcu"),
)

#: The hugetlb holders (matrix --hugetlb): each protection set with the walker's
#: hugetlb_vma_lock_read() skipped (the what-if of FW_VMA_LOCKED without its
#: hugetlb refusal), then taken, and i_mmap_lock_read() held instead.
HUGETLB_ROWS: tuple[tuple[str, ...], ...] = (
    ("hugetlb:skip",), ("vma_lock", "hugetlb:skip"), ("vma_lock", "rcu", "hugetlb:skip"),
    ("vma_lock", "irqs_off", "hugetlb:skip"), ("hugetlb:take",), ("vma_lock", "hugetlb:take"),
    ("i_mmap_lock", "vma_lock", "irqs_off", "hugetlb:skip"),
)

#: Short, colour-free labels for the text table.
LABELS = {"safe": "safe", "safe_but_stale": "stale", "unsafe": "UNSAFE", "deadlock": "DEADLOCK"}


def protection_label(holds: tuple[str, ...]) -> str:
    real = [h for h in holds if not h.startswith("hugetlb:")]
    lock = [h.split(":")[1] for h in holds if h.startswith("hugetlb:")]
    label = "+".join(real) if real else "none"
    return label + (f" [{lock[0]}]" if lock else "")


@dataclass
class Matrix:
    config: KernelConfig
    walker: str
    fault: str | None
    rows: tuple[tuple[str, ...], ...]
    actions: tuple[str, ...]
    cells: dict[tuple[tuple[str, ...], str], Verdict]
    walk: str = "folio_walk_start"
    patch: str | None = None  # "fw_vma_locked": the June 2026 patch's folio_walk_start(FW_VMA_LOCKED)

    def get(self, holds: tuple[str, ...], action: str) -> Verdict:
        return self.cells[(holds, action)]

    def as_dict(self) -> dict:
        return {
            "config": self.config.as_dict(),
            "what_if": list(self.config.what_ifs()),
            "walker": self.walker,
            "walk": self.walk,
            **({"patch": self.patch} if self.patch else {}),
            "fault": self.fault,
            "assumed": next(iter(self.cells.values())).assumed.split("; ", 2)[-1] if self.cells else "",
            "actions": list(self.actions),
            "rows": [protection_label(r) for r in self.rows],
            "cells": [
                {"holds": protection_label(h), "action": a, "verdict": v.verdict, "states": v.states, "why": v.why,
                 **({"violation": v.violation} if v.violation else {})}
                for (h, a), v in self.cells.items()
            ],
        }

    def text(self) -> str:
        width = max(len(a) for a in self.actions)
        lw = max([14] + [len(protection_label(h)) for h in self.rows])
        head = f"{'walker holds':{lw}s} " + " ".join(f"{a:>{width}s}" for a in self.actions)
        lines = [head, "-" * len(head)]
        for h in self.rows:
            lines.append(f"{protection_label(h):{lw}s} " + " ".join(f"{LABELS[self.get(h, a).verdict]:>{width}s}" for a in self.actions))
        lines.append("")
        lines.append("stale = safe_but_stale: a detached table can be read and the walk's revalidation catches it;")
        lines.append("UNSAFE = a freed or a foreign (reused) table is read; DEADLOCK = some interleaving gets stuck.")
        if any(v.violation == "foreign table" for v in self.cells.values()):
            lines.append("On hugetlb, UNSAFE = a foreign table: the walker reads another process's reused page table.")
        return "\n".join(lines)


def matrix(config: KernelConfig, walker: str = "local", fault: str | None = None,
           rows=PROTECTIONS, actions=ACTIONS, walk: str = "folio_walk_start", patch: str | None = None) -> Matrix:
    cells = {}
    for holds in rows:
        for action in actions:
            lock = next((h.split(":")[1] for h in holds if h.startswith("hugetlb:")), "take")
            real = tuple(h for h in holds if not h.startswith("hugetlb:"))
            if action.startswith("hugetlb_"):
                kind = None
            else:
                kind = "file" if action == "retract_page_tables" else "anon"
            s = Scenario(real, action, config, walker, fault, None, kind,
                         walk=None if walk == "folio_walk_start" else walk, patch=patch, hugetlb_walk_lock=lock)
            cells[(tuple(holds), action)] = verdict(s)
    return Matrix(config, walker, fault, tuple(tuple(r) for r in rows), tuple(actions), cells, walk, patch)


def side_by_side(ms: list[Matrix]) -> str:
    """Several walkers' matrices in one table: each cell lists the verdicts in
    the order of `ms` (folio_walk_start / gup_fast), so a row shows at a glance
    where one walker deadlocks or is unsafe and the other is not."""
    first = ms[0]
    cell = lambda h, a: "/".join(LABELS[m.get(h, a).verdict] for m in ms)
    width = max(max(len(a) for a in first.actions), max(len(cell(h, a)) for h in first.rows for a in first.actions))
    lw = max([14] + [len(protection_label(h)) for h in first.rows])
    head = f"{'walker holds':{lw}s} " + " ".join(f"{a:>{width}s}" for a in first.actions)
    lines = [f"each cell: {' / '.join(m.walk for m in ms)}", head, "-" * len(head)]
    for h in first.rows:
        lines.append(f"{protection_label(h):{lw}s} " + " ".join(f"{cell(h, a):>{width}s}" for a in first.actions))
    lines.append("")
    lines.append("stale = safe_but_stale: a detached table can be read and the walk's revalidation catches it;")
    lines.append("UNSAFE = a freed or a foreign (reused) table is read; DEADLOCK = some interleaving gets stuck.")
    return "\n".join(lines)
