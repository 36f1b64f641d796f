"""GUP-fast, the IRQs-off lockless walker: mm/gup.c gup_fast() →
gup_fast_pgd_range() → gup_fast_p4d_range() → gup_fast_pud_range() →
gup_fast_pmd_range() → gup_fast_pte_range() (or gup_fast_pmd_leaf()).

It takes no mmap, VMA or page-table lock.  local_irq_save() blocks the TLB-flush
and tlb_remove_table_sync_one() IPIs and holds off RCU grace periods (its design
comment in mm/gup.c: tables are freed either after an IPI the freeing CPU waits
for, or through RCU); pte_offset_map() maps the PTE table from the PMD value it
read, under its own rcu_read_lock().  Every value read is rechecked after
try_grab_folio_fast(): a changed PMD or PTE drops the folio and returns 0 pages
(the caller falls back to GUP slow).  It walks current->mm, so it always runs on
a CPU of the walked mm (a local walker)."""

from __future__ import annotations

from ..geometry import Level
from ..state import Actor, State
from ..steps import Moved, cpu_add
from .base import Walker, pgd, read_entry as _read, reg
from .caller import event as _ev
from .caller import start_release

SRC = "mm/gup.c: gup_fast"
SRC_PGD = "mm/gup.c: gup_fast_pgd_range"
SRC_PUD = "mm/gup.c: gup_fast_pud_range"
SRC_PMD = "mm/gup.c: gup_fast_pmd_range"
SRC_PTE = "mm/gup.c: gup_fast_pte_range"
SRC_PMD_LEAF = "mm/gup.c: gup_fast_pmd_leaf"

LABELS = (
    "local_irq_save",
    "pgd_offset",
    "p4d_offset",
    "pudp_get",
    "pmdp_get_lockless",
    "__pte_offset_map",
    "ptep_get_lockless",
    "try_grab_folio_fast",
    "gup_fast_recheck",
    "pte_unmap",
    "local_irq_restore",
)

#: A layout's pause label (a folio_walk_start() step) → the GUP-fast step that
#: makes the same read: the PTE table is first touched by ptep_get_lockless().
PAUSES = {"spin_lock": "ptep_get_lockless", "pud_lock": "pudp_get", "pmd_lock": "pmdp_get_lockless"}


def _go(state: State, a: Actor, pc: str, function: str, text: str, source: str, *changes: str, **regs) -> Moved:
    a = a.set(pc=pc, **regs)
    return Moved(state.with_actor(a), _ev(a, function, text, source, *changes))


def _give_up(state: State, a: Actor, function: str, text: str, source: str, *changes: str) -> Moved:
    """A none, changed or unusable entry: gup_fast_*_range() returns without the
    page; gup_fast() restores IRQs and the caller falls back to GUP slow."""
    return _go(state, a, "local_irq_restore", function, text + "; no page pinned (the caller falls back to GUP slow)",
               source, *changes, result="0 pages")


def _local_irq_save(ctx, state, a):
    was_off = state.cpus[a.cpu].irqs_off
    state = cpu_add(state, a.cpu, irqs_off=True)
    return _go(state, a, "pgd_offset", "local_irq_save",
               f"gup_fast(): local_irq_save() on CPU{a.cpu}: IPIs to it now wait, and so do grace periods "
               "(no mmap, VMA or page-table lock is taken)", SRC, "irqs:off", gup_irqs_were_off=was_off)


def _pgd_offset(ctx, state, a):
    state, entry, note = _read(ctx, state, a, 0, Level.PGD, "pgd_offset")
    idx = ctx.geo.pgd_index(ctx.walk_addr)
    if entry is None:
        return _give_up(state, a, "pgd_offset", f"gup_fast_pgd_range(): PGD entry {idx} is none{note}", SRC_PGD, "read:0")
    nxt = "p4d_offset" if ctx.geo.levels == 5 else "pudp_get"
    return _go(state, a, nxt, "pgd_offset", f"gup_fast_pgd_range(): pgdp_get() of PGD entry {idx}: table #{entry.target}{note}",
               SRC_PGD, "read:0", table=entry.target)


def _p4d_offset(ctx, state, a):
    tid = a.get("table")
    state, entry, note = _read(ctx, state, a, tid, Level.P4D, "p4d_offset")
    if entry is None:
        return _give_up(state, a, "p4d_offset", f"gup_fast_p4d_range(): the P4D entry is none{note}", "mm/gup.c: gup_fast_p4d_range",
                        f"read:{tid}")
    return _go(state, a, "pudp_get", "p4d_offset", f"gup_fast_p4d_range(): p4dp_get() of P4D table #{tid}: PUD table #{entry.target}{note}",
               "mm/gup.c: gup_fast_p4d_range", f"read:{tid}", table=entry.target)


def _pudp_get(ctx, state, a):
    tid = a.get("table")
    state, entry, note = _read(ctx, state, a, tid, Level.PUD, "pudp_get")
    idx = ctx.geo.pud_index(ctx.walk_addr)
    if entry is None:
        return _give_up(state, a, "pudp_get", f"gup_fast_pud_range(): entry {idx} of PUD table #{tid} is none{note}", SRC_PUD, f"read:{tid}")
    if entry.is_leaf:
        return _go(state, a, "try_grab_folio_fast", "pudp_get", f"gup_fast_pud_range(): entry {idx} of PUD table #{tid} is a 1 GiB leaf{note}",
                   SRC_PUD, f"read:{tid}", leaf_table=tid, leaf_level="PUD", leaf_entry=entry)
    return _go(state, a, "pmdp_get_lockless", "pudp_get",
               f"gup_fast_pud_range(): READ_ONCE() of entry {idx} of PUD table #{tid}: PMD table #{entry.target}{note}",
               SRC_PUD, f"read:{tid}", table=entry.target)


def _pmdp_get_lockless(ctx, state, a):
    tid = a.get("table")
    state, entry, note = _read(ctx, state, a, tid, Level.PMD, "pmdp_get_lockless")
    idx = ctx.geo.pmd_index(ctx.walk_addr)
    if entry is None:
        return _give_up(state, a, "pmdp_get_lockless", f"gup_fast_pmd_range(): entry {idx} of PMD table #{tid} is none{note}", SRC_PMD,
                        f"read:{tid}")
    if entry.is_leaf:
        return _go(state, a, "try_grab_folio_fast", "pmdp_get_lockless",
                   f"gup_fast_pmd_range(): entry {idx} of PMD table #{tid} maps a THP: gup_fast_pmd_leaf(){note}",
                   SRC_PMD, f"read:{tid}", leaf_table=tid, leaf_level="PMD", leaf_entry=entry)
    return _go(state, a, "__pte_offset_map", "pmdp_get_lockless",
               f"gup_fast_pmd_range(): pmdp_get_lockless() of entry {idx} of PMD table #{tid}: PTE table #{entry.target}{note}",
               SRC_PMD, f"read:{tid}", pmd_table=tid, pmd_value=entry)


def _pte_offset_map(ctx, state, a):
    """pte_offset_map(&pmd, addr): rcu_read_lock() and map the PTE table the
    PMD *value* read above points to (the PMD table is not read again)."""
    pte = a.get("pmd_value").target
    state = cpu_add(state, a.cpu, rcu=1)
    return _go(state, a, "ptep_get_lockless", "__pte_offset_map",
               f"gup_fast_pte_range(): pte_offset_map() on the PMD value read: rcu_read_lock(), PTE table #{pte}",
               "mm/pgtable-generic.c: __pte_offset_map", "rcu:enter", pte_table=pte)


def _ptep_get_lockless(ctx, state, a):
    pte = a.get("pte_table")
    state, entry, note = _read(ctx, state, a, pte, Level.PTE, "ptep_get_lockless")
    idx = ctx.geo.pte_index(ctx.walk_addr)
    if entry is None or not entry.is_leaf:
        return _go(state, a, "pte_unmap", "ptep_get_lockless",
                   f"gup_fast_pte_range(): ptep_get_lockless() of PTE {idx} of PTE table #{pte}: none; give up{note}",
                   SRC_PTE, f"read:{pte}", result="0 pages")
    return _go(state, a, "try_grab_folio_fast", "ptep_get_lockless",
               f"gup_fast_pte_range(): ptep_get_lockless() of PTE {idx} of PTE table #{pte} maps a page{note}",
               SRC_PTE, f"read:{pte}", leaf_table=pte, leaf_level="PTE", leaf_entry=entry)


def _try_grab_folio_fast(ctx, state, a):
    """try_grab_folio_fast(): folio_try_get() on the page's folio; no table read."""
    nxt = "gup_fast_recheck"
    return _go(state, a, nxt, "try_grab_folio_fast",
               "try_grab_folio_fast() takes a reference on the folio the entry maps; every value read is now rechecked",
               "mm/gup.c: try_grab_folio_fast")


def _recheck(ctx, state, a):
    """gup_fast_pte_range(): `pmd_val(pmd) != pmd_val(*pmdp) || pte_val(pte) !=
    pte_val(ptep_get(ptep))`; gup_fast_pmd_leaf()/gup_fast_pud_leaf(): the leaf
    entry is re-read.  A change: gup_put_folio(), no page."""
    level = a.get("leaf_level")
    changes: list[str] = []
    notes = ""
    same = True
    if level == "PTE":
        pmd = a.get("pmd_table")
        state, now, note = _read(ctx, state, a, pmd, Level.PMD, "gup_fast_recheck")
        same = now == a.get("pmd_value")
        changes.append(f"read:{pmd}")
        notes += note
    tid = a.get("leaf_table")
    state, now, note = _read(ctx, state, a, tid, Level[level], "gup_fast_recheck")
    same = same and now == a.get("leaf_entry")
    changes.append(f"read:{tid}")
    notes += note
    nxt = "pte_unmap" if level == "PTE" else "local_irq_restore"
    src = SRC_PTE if level == "PTE" else SRC_PMD_LEAF
    what = "the PMD and the PTE" if level == "PTE" else f"the {level} entry"
    if not same:
        return _go(state, a, nxt, "gup_fast_recheck",
                   f"the recheck of {what} finds a change: gup_put_folio(), no page pinned (the caller falls back to GUP slow){notes}",
                   src, *changes, result="0 pages")
    return _go(state, a, nxt, "gup_fast_recheck", f"the recheck of {what} finds them unchanged: the page is pinned{notes}",
               src, *changes, result=f"1 page ({level})")


def _pte_unmap(ctx, state, a):
    state = cpu_add(state, a.cpu, rcu=-1)
    return _go(state, a, "local_irq_restore", "pte_unmap", "pte_unmap(): rcu_read_unlock()", SRC_PTE, "rcu:exit")


def _local_irq_restore(ctx, state, a):
    off = bool(a.get("gup_irqs_were_off"))
    state = cpu_add(state, a.cpu, irqs_off=off)
    a = start_release(a)
    text = f"gup_fast(): local_irq_restore() on CPU{a.cpu}" + (": pending IPIs can be taken now" if not off else " (the caller keeps them off)")
    return Moved(state.with_actor(a), _ev(a, "local_irq_restore", text, SRC, *(() if off else ("irqs:on",))))


_STEPS = {
    "local_irq_save": _local_irq_save,
    "pgd_offset": _pgd_offset,
    "p4d_offset": _p4d_offset,
    "pudp_get": _pudp_get,
    "pmdp_get_lockless": _pmdp_get_lockless,
    "__pte_offset_map": _pte_offset_map,
    "ptep_get_lockless": _ptep_get_lockless,
    "try_grab_folio_fast": _try_grab_folio_fast,
    "gup_fast_recheck": _recheck,
    "pte_unmap": _pte_unmap,
    "local_irq_restore": _local_irq_restore,
}


def _recheck_read(a: Actor):
    """gup_fast_recheck re-reads the PMD entry first for a PTE (the PMD table),
    else the leaf entry itself."""
    leaf = a.get("leaf_level")
    if leaf == "PTE":
        return a.get("pmd_table"), Level.PMD
    return a.get("leaf_table"), Level.PMD if leaf == "PMD" else Level.PUD


#: The table entry each step reads, for the views (Walker.cursor()).
_READS = {
    "pgd_offset": pgd,
    "p4d_offset": reg("table", Level.P4D),
    "pudp_get": reg("table", Level.PUD),
    "pmdp_get_lockless": reg("table", Level.PMD),
    "ptep_get_lockless": reg("pte_table", Level.PTE),
    "gup_fast_recheck": _recheck_read,
}

GUP_FAST = Walker("gup_fast", "local_irq_save", _STEPS, LABELS, _READS, SRC)
cursor = GUP_FAST.cursor
