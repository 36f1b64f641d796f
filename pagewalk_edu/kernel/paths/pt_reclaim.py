"""Reclaiming an empty PTE table after MADV_DONTNEED: mm/pt_reclaim.c
(free_pte, try_to_free_pte)."""

from __future__ import annotations


from ..pgtable import Entry, unlink_table
from ..program import instruction
from ..steps import Taken, pmd_lock, pmd_lock_name, pte_lock, release_spin
from ..zap import pte_table_empty
from .base import go
from .mmu_gather import tlb_remove_table

# The instructions this file runs (kernel/program.py).
FreePte = instruction("free_pte", "tid")
TryToFreePte = instruction("try_to_free_pte", "pte", "pmd", "index")
TryToFreePtePtl = instruction("try_to_free_pte_ptl", "pte", "pmd", "index")


def _free_pte(ctx, state, a, op):
    """mm/pt_reclaim.c free_pte(): pte_free_tlb() of a PTE table already unlinked."""
    tid = op[1]
    state, a, call, tail, changes = tlb_remove_table(ctx, state, a, tid)
    return go(state, a, "free_pte", f"free_pte(): pte_free_tlb() of PTE table #{tid}" + tail,
              "mm/pt_reclaim.c: free_pte", *changes, call=call, flush=True)


def _try_to_free_pte(ctx, state, a, op):
    """mm/pt_reclaim.c try_to_free_pte(): pmd_lock(), then (holding it) the ptl."""
    _, pte, pmd, idx = op
    got = pmd_lock(state, a, pmd, "try_to_free_pte")
    if not isinstance(got, Taken):
        return got
    state, a, pml = got
    return go(state, a, "pmd_lock",
              f"try_to_free_pte(): pmd_lock() takes the PMD lock of PMD table #{pmd}", "mm/pt_reclaim.c: try_to_free_pte",
              f"lock:{pml}", call=(TryToFreePtePtl(pte, pmd, idx),))


def _try_to_free_pte_ptl(ctx, state, a, op):
    """... spin_lock_nested() of the ptl with the PMD lock held; every PTE none →
    pmd_clear(), unlock both, free_pte()."""
    _, pte, pmd, idx = op
    pml = pmd_lock_name(pmd)
    got = pte_lock(state, a, pte, "try_to_free_pte")
    if not isinstance(got, Taken):
        return got
    state, a, ptl = got
    state = release_spin(state, a, ptl)  # the checks and pmd_clear() below run under both locks
    if state.tables[pmd].get(idx) != Entry("table", pte) or not pte_table_empty(state.tables, pte):
        state = release_spin(state, a, pml)
        return go(state, a, "try_to_free_pte", "try_to_free_pte(): the table is gone or not empty; nothing freed",
                  "mm/pt_reclaim.c: try_to_free_pte")
    state = state.but(tables=unlink_table(state.tables, pmd, idx, pte))
    state = release_spin(state, a, pml)
    return go(state, a, "try_to_free_pte",
              f"try_to_free_pte(): under pmd_lock() and the ptl every PTE is none: pmd_clear() unlinks PTE table #{pte}",
              "mm/pt_reclaim.c: try_to_free_pte", f"detached:{pte}", call=(FreePte(pte),))


OPS = {
    FreePte: _free_pte,
    TryToFreePte: _try_to_free_pte,
    TryToFreePtePtl: _try_to_free_pte_ptl,
}
