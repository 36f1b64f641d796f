"""The walker interface: a second walker (GUP-fast's gup_fast_pgd_range(),
say) is one new module that builds a Walker and registers it (walkers.register).

A walker is the walk proper: named steps, each a function (ctx, state, actor)
-> Moved | Blocked, starting at `first`; walkers/caller.py takes and drops
what the walker's caller holds around it, and `reads` tells the views which
table entry each step reads (cursor())."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..geometry import Level
from ..pgtable import Entry
from ..state import Actor, State
from ..steps import check_entry, deref


@dataclass(frozen=True)
class Walker:
    name: str  # the kernel function: folio_walk_start
    first: str  # the step the walk starts with, once the caller holds its protections
    steps: Mapping[str, Callable]  # step label → step function
    labels: tuple[str, ...]  # the step labels in walk order (where a schedule may pause)
    reads: Mapping[str, Callable[[Actor], tuple[Any, Level]]]  # step label → (table id or None, level) it reads
    source: str  # "file: function"

    def cursor(self, ctx, state: State) -> tuple[int, int, str] | None:
        """(table, entry index, next step) the walker reads at its next step, for
        the views; None before the walk starts, after it ends, or at a step that
        reads no table."""
        a = state.actors[0]
        read = self.reads.get(a.pc)
        if read is None:
            return None
        tid, level = read(a)
        if tid is None:
            return None
        return tid, ctx.geo.index(level, ctx.walk_addr), a.pc


def reg(name: str, level: Level) -> Callable[[Actor], tuple[Any, Level]]:
    """A step that reads the `level` entry of the table in register `name`."""
    return lambda a: (a.get(name), level)


def pgd(a: Actor) -> tuple[int, Level]:
    """pgd_offset(): the mm's PGD, table 0 (walkers walk the walked mm)."""
    return 0, Level.PGD


def read_entry(ctx, state: State, a: Actor, tid: int, level: Level, function: str) -> tuple[State, Entry | None, str]:
    """The walker reads the `level` entry for the walked address in table `tid`:
    the monitor checks the table (steps.deref()) and where the entry leads
    (steps.check_entry()).  Returns the state, the entry and a note for the event."""
    state, note = deref(ctx, state, a.name, tid, function)
    entry = state.tables[tid].get(ctx.geo.index(level, ctx.walk_addr))
    state, note2 = check_entry(ctx, state, a.name, tid, entry, function)
    return state, entry, note + note2
