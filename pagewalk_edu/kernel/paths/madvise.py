"""madvise(MADV_DONTNEED) over several VMAs: mm/madvise.c
(try_vma_read_lock, madvise_walk_vmas)."""

from __future__ import annotations

from ..program import instruction
from .base import go
from .memory import ZapPageRangeSingleBatched

# The instructions this file runs (kernel/program.py).
MadviseSpansVmas = instruction("madvise_spans_vmas", "start", "end", "first")
MadviseVma = instruction("madvise_vma", "vma", "start", "end", "reclaim")


def _madvise_spans_vmas(ctx, state, a, op):
    """try_vma_read_lock(): lock_vma_under_rcu(start) finds a VMA that ends before
    the range does; vma_end_read() and take the mmap read lock instead."""
    _, start, end, first = op
    return go(state, a, "try_vma_read_lock",
              f"try_vma_read_lock(): [{start:#x}, {end:#x}) runs past VMA {first}: no VMA read lock; "
              "madvise_walk_vmas() falls back to mmap_read_lock()", "mm/madvise.c: try_vma_read_lock")


def _madvise_vma(ctx, state, a, op):
    """madvise_walk_vmas() under the mmap read lock: each VMA of the range, looked
    up now (one unmapped before the lock was taken is not found)."""
    _, name, start, end, reclaim = op
    vma = next((v for v in state.vmas if v.name == name and not v.detached), None)
    if vma is None:
        return go(state, a, "madvise_walk_vmas", f"madvise_walk_vmas(): no VMA at {start:#x} any more; skip it",
                  "mm/madvise.c: madvise_walk_vmas")
    return go(state, a, "madvise_walk_vmas",
              f"madvise_walk_vmas(): VMA {name}: madvise_dontneed_single_vma() zaps [{start:#x}, {end:#x})",
              "mm/madvise.c: madvise_walk_vmas", call=(ZapPageRangeSingleBatched(start, end, reclaim),))


OPS = {
    MadviseSpansVmas: _madvise_spans_vmas,
    MadviseVma: _madvise_vma,
}
