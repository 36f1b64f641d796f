"""kernel/syscalls.py: whole system calls on one mm, each test a kernel rule.

The mm lives in an empty 512 GiB slot (Mm.in_empty_slot): the rest of the
process lies outside it, so the first fault costs a PUD, a PMD and a PTE table.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pagewalk_edu.kernel.config import KernelConfig
from pagewalk_edu.kernel.geometry import PAGE_SIZE, Level
from pagewalk_edu.kernel.pgtable import Life, walk_path
from pagewalk_edu.kernel.free_pgd import free_pgtables_calls
from pagewalk_edu.kernel.syscalls import Mm, touched_pages

K, M, G = 1 << 10, 1 << 20, 1 << 30
BASE = 0x4000_0000_0000
SLOT = 1 << 39


def mm(**config) -> Mm:
    return Mm.in_empty_slot(KernelConfig.for_kernel("6.18", **config), BASE, SLOT)


def run(m: Mm, *calls):
    """Apply (op, start, end[, stride]) calls with offsets from BASE; return the
    mm and the pgtables_bytes after each call."""
    out = []
    for op, start, end, *rest in calls:
        m = getattr(m, op)(BASE + start, BASE + end, *rest).mm
        out.append(m.pgtables_bytes)
    return m, out


def mapped(m: Mm, off: int) -> bool:
    last = walk_path(m.tables, m.geo, BASE + off)[-1]
    return last.table.level == Level.PTE and last.entry is not None


# --- faults: handle_mm_fault -----------------------------------------------------------------


def test_handle_mm_fault_first_fault_in_empty_slot_allocates_pud_pmd_pte():
    """mm/memory.c __handle_mm_fault(): pud_alloc() → __pud_alloc(), pmd_alloc() →
    __pmd_alloc(), then do_anonymous_page() → pte_alloc() → __pte_alloc().  The PGD
    exists from pgd_alloc(); with four levels the P4D is folded into it."""
    m = mm().mmap(BASE, BASE + 4 * M).mm
    call = m.touch(BASE, BASE + PAGE_SIZE)
    assert [(c.level, c.function) for c in call.allocated] == [
        ("PUD", "__pud_alloc"), ("PMD", "__pmd_alloc"), ("PTE", "__pte_alloc")]
    assert [(c.start - BASE, c.end - BASE) for c in call.allocated] == [(0, 512 * G), (0, G), (0, 2 * M)]
    assert call.mm.pgtables_bytes == 12 * K
    assert "do_anonymous_page" in call.allocated[2].path


def test_do_anonymous_page_reuses_the_pte_table_of_its_pmd_range():
    """A fault whose PMD entry already points to a PTE table allocates nothing."""
    m, sizes = run(mm(), ("mmap", 0, 4 * M), ("touch", 0, 4 * K), ("touch", 8 * K, 2 * M))
    assert sizes == [0, 12 * K, 12 * K]
    call = m.touch(BASE + 2 * M, BASE + 2 * M + 4 * K)
    assert [(c.level, c.start - BASE) for c in call.allocated] == [("PTE", 2 * M)]


def test_pgtables_bytes_does_not_count_p4d_tables():
    """include/linux/mm.h: mm_inc_nr_puds/pmds/ptes() exist, no mm_inc_nr_p4ds():
    with five levels a fault under an empty PGD entry also allocates a P4D table
    (__p4d_alloc), and VmPTE is the same 12K."""
    m = Mm.new(KernelConfig.for_kernel("6.18", PGTABLE_LEVELS=5))
    call = m.mmap(BASE, BASE + 2 * M).mm.touch(BASE, BASE + 4 * K)
    assert [c.function for c in call.allocated] == ["__p4d_alloc", "__pud_alloc", "__pmd_alloc", "__pte_alloc"]
    assert call.mm.pgtables_bytes == 12 * K


def test_five_levels_in_a_real_process_share_the_p4d_table():
    """One PGD entry maps 256 TiB with five levels: the rest of the process already
    has the slot's P4D table, so the first touch there allocates only PUD, PMD, PTE,
    and unmapping everything frees those three, never the P4D table."""
    m = Mm.in_empty_slot(KernelConfig.for_kernel("6.18", PGTABLE_LEVELS=5), BASE, SLOT)
    call = m.mmap(BASE, BASE + 2 * M).mm.touch(BASE, BASE + 4 * K)
    assert [c.function for c in call.allocated] == ["__pud_alloc", "__pmd_alloc", "__pte_alloc"]
    gone = call.mm.munmap(BASE, BASE + 2 * M)
    assert [c.level for c in gone.freed] == ["PTE", "PMD", "PUD"] and gone.mm.pgtables_bytes == 0


def test_touch_with_a_stride_below_a_page_writes_every_page():
    assert list(touched_pages(0, 16 * K, 3000)) == [0, 4 * K, 8 * K, 12 * K]
    assert list(touched_pages(0, 16 * K, 8 * K)) == [0, 8 * K]
    assert list(touched_pages(0, 3 * G, G + 4 * K)) == [0, G + 4 * K, 2 * G + 8 * K]


def test_touch_of_unmapped_memory_is_refused():
    """A write outside every VMA gets SIGSEGV: the model refuses it."""
    with pytest.raises(ValueError, match="not mapped"):
        mm().mmap(BASE, BASE + 2 * M).mm.touch(BASE + M, BASE + 3 * M)


def test_touch_of_two_gib_is_fast_and_exact():
    m, sizes = run(mm(), ("mmap", 0, 2 * G), ("touch", 0, 2 * G))
    # a PUD, two PMD tables, 1024 PTE tables
    assert sizes[-1] == (1 + 2 + 1024) * 4 * K


# --- mmap ------------------------------------------------------------------------------


def test_mmap_fixed_noreplace_refuses_overlap():
    """MAP_FIXED_NOREPLACE fails with EEXIST over a live mapping; a scenario must
    never silently replace one."""
    m = mm().mmap(BASE, BASE + 4 * M).mm
    with pytest.raises(ValueError, match="EEXIST"):
        m.mmap(BASE + 2 * M, BASE + 6 * M)


def test_mmap_allocates_no_page_table():
    m, sizes = run(mm(), ("mmap", 0, 8 * G))
    assert sizes == [0]


def test_vma_merge_existing_range_merges_an_adjacent_anon_mapping():
    """mm/vma.c vma_merge_existing_range() (after MADV_NOHUGEPAGE equalises the
    flags): the new VMA has no anon_vma, so is_mergeable_anon_vma() accepts prev."""
    m, _ = run(mm(), ("mmap", 0, M), ("touch", 0, M), ("mmap", M, 2 * M))
    assert [(v.start - BASE, v.end - BASE) for v in m.vmas] == [(0, 2 * M)]


def test_vma_merge_existing_range_refuses_prev_and_next_with_different_anon_vmas():
    """can_vma_merge_right(): merging both sides also needs prev's and next's
    anon_vmas compatible with each other (are_anon_vmas_compatible()); two faulted
    mappings have different ones, so the new VMA merges with prev only."""
    m, _ = run(mm(), ("mmap", 0, M), ("touch", 0, M), ("mmap", 3 * M // 2, 2 * M),
               ("touch", 3 * M // 2, 2 * M), ("mmap", M, 3 * M // 2))
    assert [(v.start - BASE, v.end - BASE) for v in m.vmas] == [(0, 3 * M // 2), (3 * M // 2, 2 * M)]
    assert m.anon_vma(m.vmas[0].name) != m.anon_vma(m.vmas[1].name)


def test_split_vma_halves_share_the_anon_vma_so_a_refill_merges_all_three():
    """__split_vma() → anon_vma_clone(): both halves keep the anon_vma, so mapping
    the hole again merges prev, new and next into one VMA."""
    m, _ = run(mm(), ("mmap", 0, 2 * M), ("touch", 0, 2 * M), ("munmap", M, 3 * M // 2),
               ("mmap", M, 3 * M // 2))
    assert [(v.start - BASE, v.end - BASE) for v in m.vmas] == [(0, 2 * M)]


# --- munmap: free_pgtables / free_pgd_range -----------------------------------------------------


def test_free_pgd_range_frees_every_table_when_the_slot_empties():
    """The public example, measured on 6.18: munmap of the last mapping in the slot
    frees its PTE, PMD and PUD tables (floor and ceiling lie outside the slot)."""
    _, sizes = run(mm(), ("mmap", 0, 4 * M), ("touch", 0, 4 * K), ("touch", 2 * M, 2 * M + 4 * K),
                   ("mmap", G, G + 2 * M), ("touch", G, G + 2 * M), ("munmap", G, G + 2 * M),
                   ("munmap", 2 * M, 4 * M), ("munmap", 0, 2 * M))
    assert sizes == [0, 12 * K, 16 * K, 16 * K, 24 * K, 16 * K, 12 * K, 0]


def test_free_pgd_range_keeps_pmd_table_shared_with_prev_vma():
    """mm/memory.c free_pmd_range(): the PMD table is freed only if its whole 1G
    lies within [floor, ceiling); floor = prev->vm_end lies inside it."""
    m, sizes = run(mm(), ("mmap", 0, 2 * M), ("touch", 0, 2 * M), ("mmap", 4 * M, 6 * M),
                   ("touch", 4 * M, 6 * M))
    call = m.munmap(BASE + 4 * M, BASE + 6 * M)
    assert [(c.level, c.start - BASE) for c in call.freed] == [("PTE", 4 * M)]
    assert call.mm.pgtables_bytes == 12 * K
    assert mapped(call.mm, 0)


def test_free_pgd_range_keeps_pte_table_shared_with_next_vma():
    """free_pgd_range(): `if (end - 1 > ceiling - 1) end -= PMD_SIZE` with the
    ceiling rounded down to PMD_SIZE: the PTE table that also maps next stays."""
    m, _ = run(mm(), ("mmap", 0, M), ("touch", 0, M), ("mmap", M + 4 * K, 2 * M), ("touch", M + 4 * K, 2 * M))
    call = m.munmap(BASE, BASE + M)
    assert call.freed == ()
    assert call.mm.pgtables_bytes == 12 * K
    assert mapped(call.mm, M + 4 * K)


def test_free_pgd_range_hole_frees_only_tables_wholly_inside():
    """unmap_bounds(): floor = the split lower part's end, ceiling = the upper part's
    start; only the PTE table whose 2M lies inside the hole is freed."""
    _, sizes = run(mm(), ("mmap", 0, 6 * M), ("touch", 0, 6 * M, M), ("munmap", M, 5 * M))
    assert sizes == [0, 20 * K, 16 * K]


def test_free_pgd_range_across_a_pud_boundary_keeps_both_pmd_tables_while_shared():
    _, sizes = run(mm(), ("mmap", G - 2 * M, G + 2 * M), ("touch", G - 2 * M, G + 2 * M, M),
                   ("munmap", G - M, G + M), ("munmap", G - 2 * M, G - M), ("munmap", G + M, G + 2 * M))
    assert sizes == [0, 20 * K, 20 * K, 12 * K, 0]


def test_free_pgd_range_multi_gib_mapping_touched_at_both_ends():
    _, sizes = run(mm(), ("mmap", 0, 3 * G), ("touch", 0, 4 * K), ("touch", 3 * G - 4 * K, 3 * G),
                   ("munmap", G, 2 * G), ("munmap", 0, G), ("munmap", 2 * G, 3 * G))
    assert sizes == [0, 12 * K, 20 * K, 20 * K, 12 * K, 0]


def test_unmapping_a_neighbour_never_frees_a_table_of_a_live_vma():
    """kernel-facts §5: only unmapping (part of) your own VMA can free your tables."""
    m, _ = run(mm(), ("mmap", 0, 3 * M), ("touch", 0, 3 * M), ("mmap", 3 * M, 5 * M), ("touch", 3 * M, 5 * M))
    # the two mmaps merged; split it again by unmapping the upper part
    m2 = m.munmap(BASE + 3 * M, BASE + 5 * M).mm
    assert all(mapped(m2, off) for off in range(0, 3 * M, 4 * K))


def test_munmap_of_nothing_mapped_changes_nothing():
    m, _ = run(mm(), ("mmap", 0, 2 * M), ("touch", 0, 2 * M))
    call = m.munmap(BASE + G, BASE + 2 * G)
    assert call.mm is m and call.freed == ()


def test_free_pgtables_gathers_vmas_closer_than_pmd_size():
    """mm/memory.c free_pgtables(): `while (next && next->vm_start <= vma->vm_end +
    PMD_SIZE)` joins detached VMAs into one free_pgd_range() call; a farther one
    gets its own call, and the call before it has that VMA's start as ceiling."""
    a, b, c = (0, 4 * K), (2 * M + 4 * K, 2 * M + 8 * K), (4 * M + 12 * K, 4 * M + 16 * K)
    assert free_pgtables_calls((a, b), 0) == [(0, 2 * M + 8 * K, 0)]
    assert free_pgtables_calls((a, b, c), 7 * G) == [(0, 2 * M + 8 * K, 4 * M + 12 * K), (4 * M + 12 * K, 4 * M + 16 * K, 7 * G)]


def test_free_pgtables_one_munmap_over_a_hole_frees_what_both_sides_shared():
    """A munmap across a hole detaches the two VMAs around it; gathered into one
    call, free_pgd_range() frees the PTE tables the hole had left behind."""
    _, sizes = run(mm(), ("mmap", 0, 6 * M), ("touch", 0, 6 * M), ("munmap", M, 3 * M), ("munmap", 0, 6 * M))
    assert sizes == [0, 20 * K, 20 * K, 0]


# --- MADV_DONTNEED: zap_pte_range and PT_RECLAIM ------------------------------------------------


def test_zap_pte_range_reclaims_pte_table_only_when_one_zap_covers_it():
    """mm/pt_reclaim.c reclaim_pt_is_enabled(): end - start >= PMD_SIZE.  Two
    MADV_DONTNEEDs of 1M each over one 2M range reclaim nothing (measured); one
    covering it reclaims it: try_get_and_clear_pmd() then free_pte()."""
    m, sizes = run(mm(), ("mmap", 0, 4 * M), ("touch", 0, 4 * M),
                   ("madvise_dontneed", 2 * M, 3 * M), ("madvise_dontneed", 3 * M, 4 * M))
    assert sizes == [0, 16 * K, 16 * K, 16 * K]
    call = m.madvise_dontneed(BASE + 2 * M, BASE + 4 * M)
    assert [(c.level, c.start - BASE, c.function) for c in call.freed] == [("PTE", 2 * M, "free_pte")]
    assert "try_get_and_clear_pmd" in call.freed[0].path
    assert call.mm.pgtables_bytes == 12 * K
    assert call.mm.tables[[t.tid for t in m.tables if t.level == Level.PTE][1]].life == Life.FREED


def test_madvise_dontneed_frees_no_table_without_pt_reclaim():
    _, sizes = run(mm(PT_RECLAIM=False), ("mmap", 0, 4 * M), ("touch", 0, 4 * M), ("madvise_dontneed", 0, 4 * M))
    assert sizes == [0, 16 * K, 16 * K]


def test_madvise_dontneed_reclaims_an_already_empty_pte_table():
    """zap_pmd_range() visits every present PMD entry; an empty PTE table is still
    one, and a zap covering it reclaims it."""
    _, sizes = run(mm(), ("mmap", 0, 4 * M), ("touch", M, M + 4 * K), ("madvise_dontneed", M, M + 4 * K),
                   ("madvise_dontneed", 0, 2 * M))
    assert sizes == [0, 12 * K, 12 * K, 8 * K]


def test_madvise_walk_vmas_zaps_each_vma_separately():
    """mm/madvise.c: madvise_dontneed_single_vma() runs once per VMA, its range
    clipped to the VMA; with two unmergeable VMAs in one 2M range no single zap
    covers the PTE table, so nothing is reclaimed (measured on 6.18)."""
    m, sizes = run(mm(), ("mmap", 0, M), ("touch", 0, M), ("mmap", 3 * M // 2, 2 * M),
                   ("touch", 3 * M // 2, 2 * M), ("mmap", M, 3 * M // 2), ("touch", M, 3 * M // 2),
                   ("madvise_dontneed", 0, 2 * M))
    assert len(m.vmas) == 2
    assert sizes[-1] == 12 * K


def test_madvise_dontneed_over_merged_mappings_reclaims():
    _, sizes = run(mm(), ("mmap", 0, M), ("touch", 0, M), ("mmap", M, 2 * M), ("touch", M, 2 * M),
                   ("madvise_dontneed", 0, 2 * M))
    assert sizes[-1] == 8 * K


def test_madvise_dontneed_of_unmapped_memory_is_refused():
    with pytest.raises(ValueError, match="ENOMEM"):
        mm().mmap(BASE, BASE + 2 * M).mm.madvise_dontneed(BASE, BASE + 4 * M)


def test_syscalls_refuse_unaligned_ranges():
    m = mm()
    with pytest.raises(ValueError, match="page aligned"):
        m.mmap(BASE + 1, BASE + 2 * M)
    with pytest.raises(ValueError, match="empty or inverted"):
        m.munmap(BASE + 2 * M, BASE + 2 * M)


# --- properties ----------------------------------------------------------------------------


@st.composite
def call_sequences(draw):
    """Random mmap/touch/munmap/madvise calls inside the first 4G of the slot."""
    unit = draw(st.sampled_from([4 * K, 512 * K, 2 * M]))
    calls = []
    for _ in range(draw(st.integers(1, 12))):
        start = draw(st.integers(0, (4 * G) // unit - 1)) * unit
        length = draw(st.integers(1, 16)) * unit
        calls.append((draw(st.sampled_from(["mmap", "touch", "munmap", "madvise_dontneed"])), start, start + length))
    return calls


@settings(max_examples=150, deadline=None)
@given(calls=call_sequences(), reclaim=st.booleans())
def test_property_no_table_lost_or_leaked(calls, reclaim):
    """Whatever the calls: every written page of a live VMA stays mapped (no table
    of a live VMA is freed), pgtables_bytes counts exactly the live PUD/PMD/PTE
    tables, and unmapping the whole slot returns it to 0."""
    m = mm(PT_RECLAIM=reclaim)
    written: set[int] = set()
    for op, start, end in calls:
        s, e = BASE + start, BASE + end
        if op == "mmap" and m.overlapping(s, e):
            continue
        if op in ("touch", "madvise_dontneed") and m.unmapped_part(s, e) is not None:
            continue
        m = getattr(m, op)(s, e).mm
        if op == "touch":
            written.update(range(start, end, 4 * K))
        elif op in ("munmap", "madvise_dontneed"):
            written.difference_update(range(start, end, 4 * K))
        live = [t for t in m.tables if t.life == Life.LIVE and t.level in (Level.PUD, Level.PMD, Level.PTE)]
        assert m.pgtables_bytes == 4 * K * len(live)
    assert all(mapped(m, off) for off in written)
    assert m.munmap(BASE, BASE + SLOT).mm.pgtables_bytes == 0
