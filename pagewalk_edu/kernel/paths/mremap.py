"""mremap()'s page-table move: mm/mremap.c (move_page_tables,
move_pgt_entry, move_normal_pmd, take_rmap_locks)."""

from __future__ import annotations

from dataclasses import replace

from ..geometry import Level
from ..pgtable import Entry, ensure_table, set_entry, set_table
from ..program import instruction
from ..steps import Blocked, cpu_add, pmd_lock_name, release_spin, who
from ..vma import by_name
from ..zap import zap_targets
from .base import go
from .khugepaged import locate
from .tlb import flush_ipis

# The instructions this file runs (kernel/program.py).
MovePageTables = instruction("move_page_tables", "vma", "old_start", "new_start", "length")
TakeRmapLocks = instruction("take_rmap_locks", "vma")
DropRmapLocks = instruction("drop_rmap_locks", "vma")
AllocNewPmd = instruction("alloc_new_pmd", "addr")
MoveNormalPmd = instruction("move_normal_pmd", "old", "new")
UnlockPmds = instruction("unlock_pmds")


def _move_page_tables(ctx, state, a, op):
    _, name, old_start, new_start, length = op
    moves = []
    for t in zap_targets(state.tables, ctx.geo, old_start, old_start + length):
        if t.function == "zap_pte_range" and t.end - t.start == 1 << 21:
            # move_pgt_entry(): take_rmap_locks() around move_normal_pmd() (NORMAL_PMD
            # always takes them: should_take_rmap_locks()).
            moves += [AllocNewPmd(new_start + (t.start - old_start)), TakeRmapLocks(name),
                      MoveNormalPmd(t.start, new_start + (t.start - old_start)), DropRmapLocks(name)]
    n = sum(1 for m in moves if isinstance(m, MoveNormalPmd))
    return go(state, a, "move_page_tables",
              f"move_page_tables(): {n} whole PTE table{'s' if n != 1 else ''} to move by move_normal_pmd()",
              "mm/mremap.c: move_page_tables", call=tuple(moves))


def _rmap_locks(ctx, state, a, op):
    """take_rmap_locks()/drop_rmap_locks(): the anon_vma or i_mmap lock for write.
    No other actor of a scenario takes them, so they are steps, not modelled locks."""
    kind = by_name(state.vmas, op[1]).kind
    lock = "i_mmap_lock_write()" if kind == "file" else "anon_vma_lock_write()"
    if isinstance(op, TakeRmapLocks):
        text = (f"take_rmap_locks(): {lock}, so that rmap walkers (retract_page_tables(), rmap_walk()) "
                "never see the PMD entry half-moved")
    else:
        text = f"drop_rmap_locks(): {lock.replace('lock_write', 'unlock_write')}"
    return go(state, a, op[0], text, f"mm/mremap.c: {op[0]}")


def _alloc_new_pmd(ctx, state, a, op):
    addr = op[1]
    tables, allocated, _ = ensure_table(state.tables, ctx.geo, addr, Level.PMD)
    state = state.but(tables=tables)
    what = ", ".join(f"{al.function}() → {al.level.name} table #{al.tid}" for al in allocated) or "the tables exist"
    return go(state, a, "alloc_new_pmd", f"alloc_new_pmd({addr:#x}): {what}", "mm/mremap.c: alloc_new_pmd",
              *(f"allocated:{al.tid}" for al in allocated))


def _move_normal_pmd(ctx, state, a, op):
    _, old_addr, new_addr = op
    opmd, oidx, pte = locate(ctx, state, a, old_addr)
    npmd, nidx, _ = locate(ctx, state, a, new_addr)
    old_lock, new_lock = pmd_lock_name(opmd), pmd_lock_name(npmd)
    for lock, desc in ((old_lock, f"the PMD lock of PMD table #{opmd}"), (new_lock, f"the PMD lock of PMD table #{npmd}")):
        holder = state.lock_holder(lock)
        if holder and holder != a.name:
            return Blocked(f"{a.name} spins in move_normal_pmd() on {desc}, held by {who(state, holder)}", "spin", "move_normal_pmd",
                           a.name, holder, desc)
    tables = set_entry(state.tables, opmd, oidx, None)
    tables = set_entry(tables, npmd, nidx, Entry("table", pte))
    tables = set_table(tables, replace(tables[pte], base=new_addr & ~((1 << 21) - 1)))
    state = state.but(tables=tables)
    # flush_tlb_range() under both PMD locks.
    state = state.take_spin(old_lock, a.name)
    if new_lock != old_lock:
        state = state.take_spin(new_lock, a.name)
    state = cpu_add(state, a.cpu, preempt=2 if new_lock != old_lock else 1)
    a = a.set(pmd=opmd, pmd2=npmd)
    state, call, how, ch = flush_ipis(ctx, state, a, (UnlockPmds(),), "flush_tlb_func", "native_flush_tlb_multi")
    return go(state, a, "move_normal_pmd",
              f"move_normal_pmd() under both PMD locks: pmd_clear() of entry {oidx} of PMD table #{opmd}, pmd_populate() of entry "
              f"{nidx} of PMD table #{npmd} with PTE table #{pte}; flush_tlb_range(): {how}",
              "mm/mremap.c: move_normal_pmd", f"moved:{pte}", *ch, call=call)


def _unlock_pmds(ctx, state, a, op):
    locks = {pmd_lock_name(a.get("pmd")), pmd_lock_name(a.get("pmd2"))}
    for lock in sorted(locks):
        state = release_spin(state, a, lock)
    return go(state, a, "spin_unlock", "move_normal_pmd(): spin_unlock() of the PMD locks", "mm/mremap.c: move_normal_pmd")


OPS = {
    TakeRmapLocks: _rmap_locks,
    DropRmapLocks: _rmap_locks,
    MovePageTables: _move_page_tables,
    AllocNewPmd: _alloc_new_pmd,
    MoveNormalPmd: _move_normal_pmd,
    UnlockPmds: _unlock_pmds,
}
