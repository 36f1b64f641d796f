"""The simulator's prediction for a tables scenario: kernel/syscalls.py, one
system call a step, in an empty 512 GiB PGD slot (munmap and MADV_DONTNEED run
the explorer's own programs, kernel/programs.py, alone: kernel/sequential.py)."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace

from ..kernel.config import KernelConfig
from ..kernel.syscalls import Change, Mm
from ..kernel.tablestore import TableStore
from .spec import SLOT, TablesScenario

#: Where the simulated slot starts (64 TiB, 512 GiB aligned).  Every range the
#: command prints is an offset from it, as in the scenario file.
SIM_BASE = 0x4000_0000_0000


@dataclass
class StepResult:
    """One step: what the model predicts and, once measured, what the kernel did."""

    op: str
    description: str
    page_table_bytes: int
    allocated: list[Change] = field(default_factory=list)  # ranges are offsets in the slot
    freed: list[Change] = field(default_factory=list)
    real_page_table_bytes: int | None = None

    @property
    def match(self) -> bool | None:
        """None until measured; then whether the kernel agreed."""
        if self.real_page_table_bytes is None:
            return None
        return self.real_page_table_bytes == self.page_table_bytes

    def as_dict(self) -> dict:
        """The step as `pagewalk-edu tables --json` prints it."""
        d: dict = {"op": self.op, "page_table_bytes": self.page_table_bytes}
        if self.real_page_table_bytes is not None:
            d["real_page_table_bytes"] = self.real_page_table_bytes
            d["match"] = self.match
        d["allocated"] = [c.as_dict() for c in self.allocated]
        d["freed"] = [c.as_dict() for c in self.freed]
        return d


def _rel(c: Change, base: int) -> Change:
    return Change(c.level, c.start - base, c.end - base, c.function, c.path)


def predict(scenario: TablesScenario, config: KernelConfig) -> list[StepResult]:
    """Page-table bytes after each step (cumulative, from 0 before the first),
    and the tables each step allocated and freed."""
    # The model builds hundreds of thousands of small immutable values and no
    # reference cycles; the cyclic collector would walk all of them over and
    # over (it doubled the time of a 100,000-table run), so it waits.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _predict(scenario, config)
    finally:
        if collecting:
            gc.enable()


def _predict(scenario: TablesScenario, config: KernelConfig) -> list[StepResult]:
    mm = Mm.in_empty_slot(config, SIM_BASE, SLOT)
    # the same model on a tree whose changes cost the same at any size: a step
    # costs time in proportion to the tables it touches (benchmarks/tables.py)
    mm = replace(mm, tables=TableStore(mm.tables))
    out = []
    for op in scenario.steps:
        s, e = SIM_BASE + op.start, SIM_BASE + op.end
        if op.op == "mmap":
            call = mm.mmap(s, e)
        elif op.op == "touch":
            call = mm.touch(s, e, op.stride)
        elif op.op == "munmap":
            call = mm.munmap(s, e)
        else:
            call = mm.madvise_dontneed(s, e)
        mm = call.mm
        out.append(StepResult(op.op, op.describe(), mm.pgtables_bytes,
                              [_rel(c, SIM_BASE) for c in call.allocated],
                              [_rel(c, SIM_BASE) for c in call.freed]))
    return out
