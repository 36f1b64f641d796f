"""The simulator's prediction for a tables scenario (kernel/syscalls.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel.config import KernelConfig
from ..kernel.syscalls import Change, Mm
from ..kernel.vma import Vma
from .spec import SLOT, TablesScenario

#: Where the simulated scenario lives: an empty 512 GiB-aligned PGD slot.  The
#: real process's other mappings lie outside the slot; they are modelled as a
#: neighbour just below and one just above it, which is all free_pgd_range()'s
#: floor and ceiling can see of them.
SIM_BASE = 0x4000_0000_0000


@dataclass
class StepResult:
    op: str
    description: str
    page_table_bytes: int
    allocated: list[Change] = field(default_factory=list)
    freed: list[Change] = field(default_factory=list)
    real_page_table_bytes: int | None = None

    @property
    def match(self) -> bool | None:
        if self.real_page_table_bytes is None:
            return None
        return self.real_page_table_bytes == self.page_table_bytes

    def as_dict(self) -> dict:
        d = {
            "op": self.op,
            "step": self.description,
            "page_table_bytes": self.page_table_bytes,
            "allocated": [c.as_dict() for c in self.allocated],
            "freed": [c.as_dict() for c in self.freed],
        }
        if self.real_page_table_bytes is not None:
            d["real_page_table_bytes"] = self.real_page_table_bytes
            d["match"] = self.match
        return d


def _rel(c: Change, base: int) -> Change:
    return Change(c.level, c.start - base, c.end - base, c.function)


def predict(scenario: TablesScenario, config: KernelConfig) -> list[StepResult]:
    base = SIM_BASE
    neighbours = (Vma("neighbour-below", base - 2 * 4096, base - 4096), Vma("neighbour-above", base + SLOT + 4096, base + SLOT + 8192))
    mm = Mm.new(config, neighbours)
    out = []
    for op in scenario.steps:
        s, e = base + op.start, base + op.end
        if op.op == "mmap":
            mm, a, f = mm.mmap(s, e)
        elif op.op == "touch":
            mm, a, f = mm.touch(range(s, e, op.stride))
        elif op.op == "munmap":
            mm, a, f = mm.munmap(s, e)
        else:
            mm, a, f = mm.madvise_dontneed(s, e)
        out.append(StepResult(op.op, op.describe(), mm.pgtables_bytes, [_rel(c, base) for c in a], [_rel(c, base) for c in f]))
    return out
