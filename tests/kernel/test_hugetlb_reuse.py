"""What Q does to reuse the PMD table it shared with P, and at which addresses.

Q maps anonymous memory over 2 MiB of its hugetlb VMA with mmap(MAP_FIXED)
(mm/vma.c __mmap_region(): vms_gather_munmap_vmas() splits the VMA at both
ends, __split_vma() → mm/hugetlb.c hugetlb_split(); vms_clean_up_area() zaps;
__mmap_new_vma() stores the anonymous VMA) and touches it (do_anonymous_page()
→ pte_alloc()).  A page table has no address of its own: a table Q allocates
under the shared PMD table maps Q's addresses, not P's."""

from __future__ import annotations

import pytest

from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario, run
from pagewalk_edu.kernel.ctx import make_ctx
from pagewalk_edu.kernel.geometry import PMD_SIZE, PUD_SIZE, Geometry, Level
from pagewalk_edu.kernel.paths import OPS
from pagewalk_edu.kernel.paths.hugetlb import PteAlloc
from pagewalk_edu.kernel.pgtable import Entry, Table, ensure_table, mapped_at, new_tree, populate, set_entry
from pagewalk_edu.kernel.sim import initial
from pagewalk_edu.scenarios import named
from pagewalk_edu.scenarios.files import loads

P_BASE, Q_BASE = 0x4000_0000, 0x8000_0000
UNSAFE = ("hugetlb/vma_lock+punch_hole-skip", "hugetlb/vma_lock+dontneed-skip",
          "hugetlb/vma_lock+rcu+punch_hole-skip-6.18", "hugetlb/vma_lock+irqs_off-remote+punch_hole-skip-elide_native")


def _shared_tree():
    """P's tree with a hugetlb PMD table T at P_BASE, Q's PGD (table 1) whose
    PUD entry for Q_BASE points at T, as huge_pmd_share() leaves them."""
    geo = Geometry(4)
    tables = new_tree(geo) + (Table(tid=1, level=Level.PGD, base=0, mm="Q"),)
    tables, _ = populate(tables, geo, P_BASE + PMD_SIZE, Level.PMD)
    t = next(x for x in tables if x.level == Level.PMD)
    tables, _, qpud = ensure_table(tables, geo, Q_BASE, Level.PUD, root=1, mm="Q")
    return geo, set_entry(tables, qpud.tid, geo.pud_index(Q_BASE), Entry("table", t.tid)), t.tid


def test_a_table_allocated_under_a_shared_table_maps_the_faulting_mms_addresses():
    """ensure_table() (__pte_alloc()) takes the new table's base from the
    faulting address: reached through Q's PUD entry, T's entry 2 maps Q's
    0x80400000, though T itself was allocated by P at 0x40000000."""
    geo, tables, t = _shared_tree()
    tables, allocated, pte = ensure_table(tables, geo, Q_BASE + 2 * PMD_SIZE + 0x5000, Level.PTE, root=1, mm="Q")
    assert [a.level for a in allocated] == [Level.PTE]
    two = 2 * PMD_SIZE
    assert (pte.base, allocated[0].start, allocated[0].end) == (Q_BASE + two, Q_BASE + two, Q_BASE + two + PMD_SIZE)
    assert tables[t].base == P_BASE  # the table P's fault allocated keeps P's base
    at = mapped_at(tables, geo, [("P", 0), ("Q", 1)])
    assert at[t] == (("P", P_BASE), ("Q", Q_BASE))
    assert at[pte.tid] == (("P", P_BASE + two), ("Q", Q_BASE + two))  # T is still shared here
    assert at[0] == (("P", 0),) and at[1] == (("Q", 0),)


def test_mapped_at_follows_live_tables_only():
    """A table no tree reaches (its PUD entry cleared) is not in mapped_at()."""
    geo, tables, t = _shared_tree()
    qpud = next(x for x in tables if x.level == Level.PUD and x.mm == "Q")
    tables = set_entry(tables, qpud.tid, geo.pud_index(Q_BASE), None)
    ppud = next(x for x in tables if x.level == Level.PUD and x.mm == "")
    tables = set_entry(tables, ppud.tid, geo.pud_index(P_BASE), None)
    assert t not in mapped_at(tables, geo, [("P", 0), ("Q", 1)])


@pytest.mark.parametrize("name", UNSAFE)
def test_q_maps_anonymous_memory_over_the_range_before_it_touches_it(name):
    """Every counterexample: Q's VMAs end as the kernel leaves them: QH split
    by __split_vma() at both ends, the middle replaced by the anonymous VMA
    __mmap_new_vma() made (no hole: a touch of a hole is a SIGSEGV), and the
    fault comes after that VMA exists, at Q's own address."""
    s = named(name).scenario
    t = run(s, verdict(s).schedule, then_default=False)
    q = [e for e in t.events if e.actor == "Q"]
    fns = [e.function for e in q]
    assert fns.count("__split_vma") == 2
    assert fns.index("vms_gather_munmap_vmas") < fns.index("__unmap_hugepage_range") < fns.index("__mmap_new_vma") \
        < fns.index("mmap_write_unlock") < fns.index("__pte_alloc")
    mine = sorted((v.name, v.start, v.end, v.kind) for v in t.last.vmas if v.mm == "Q" and not v.detached)
    assert mine == [("QA", Q_BASE + PMD_SIZE, Q_BASE + 2 * PMD_SIZE, "anon"),
                    ("QH.hi", Q_BASE + 2 * PMD_SIZE, Q_BASE + PUD_SIZE, "hugetlb"),
                    ("QH.lo", Q_BASE, Q_BASE + PMD_SIZE, "hugetlb")]
    assert not any(v.name == "QH" for v in t.last.vmas)  # freed by vms_complete_munmap_vmas()
    fault = q[fns.index("__pte_alloc")]
    assert f"touches {Q_BASE + 0x20_5000:#x} in its anonymous VMA QA" in fault.text
    new = [int(c.split(":")[1]) for c in fault.changes if c.startswith("allocated:")]
    assert [t.last.tables[n].base for n in new] == [Q_BASE + PMD_SIZE]  # Q's PTE table maps Q's 2 MiB


def test_q_s_first_split_unshares_its_own_entry_when_the_table_is_still_shared():
    """Q first, before anyone unshares P: hugetlb_split() at the start of the
    range finds the GiB whole in QH and the table shared, so
    hugetlb_unshare_pmds() clears Q's PUD entry and huge_pmd_unshare_flush()
    follows its loop; the split at the end finds QH no longer maps the whole
    GiB and unshares nothing.  Q's fault then allocates a PMD table of its own,
    at Q's addresses, and P keeps the shared one."""
    s = make_scenario("vma_lock", "hugetlb_punch_hole", "7.1", hugetlb_walk_lock="skip")
    from pagewalk_edu.kernel.sim import enabled

    t = run(s, [], then_default=False)
    while not t.last.actor("Q").done:
        moves = enabled(t.ctx, t.last)
        t.push("Q" if "Q" in moves else next(m for m in moves if m.startswith("irq")))
    q = [e for e in t.events if e.actor == "Q"]
    fns = [e.function for e in q]
    # hugetlb_split()'s step is the unshare itself (huge_pte_lock(), huge_pmd_unshare())
    assert fns[:5] == ["mmap_write_lock", "i_mmap_lock_write", "huge_pmd_unshare", "spin_unlock", "huge_pmd_unshare_flush"]
    assert "pud_clear() of entry 2 of Q's PUD table" in q[2].text
    assert fns.index("huge_pmd_unshare_flush") < fns.index("__split_vma") < fns.index("i_mmap_unlock_write")
    second = [e for e in q if e.function == "hugetlb_split"][-1]
    assert "does not map the whole GiB" in second.text and "nothing to unshare" in second.text
    fault = next(e for e in q if e.function == "__pte_alloc")
    assert "reuse" not in fault.text
    new = [int(c.split(":")[1]) for c in fault.changes if c.startswith("allocated:")]
    assert [(t.last.tables[n].level, t.last.tables[n].base) for n in new] == [(Level.PMD, Q_BASE), (Level.PTE, Q_BASE + PMD_SIZE)]
    shared = next(x.tid for x in t.states[0].tables if x.mm == "shared")
    assert mapped_at(t.last.tables, t.ctx.geo, t.ctx.setup.roots)[shared] == (("", P_BASE),)


def test_a_touch_where_no_vma_maps_is_a_sigsegv_and_touches_no_table():
    """Without the anonymous VMA (munmap() alone leaves a hole) the fault finds
    no VMA: bad_area(), SIGSEGV; no page table is allocated."""
    ctx = make_ctx(make_scenario("vma_lock", "hugetlb_punch_hole", "7.1", hugetlb_walk_lock="skip"))
    state = initial(ctx)
    state = state.but(vmas=tuple(v for v in state.vmas if v.mm != "Q"))
    q = state.actor("Q")
    out = OPS[PteAlloc](ctx, state, q, PteAlloc("Q", Q_BASE + 0x20_5000))
    assert out.event.function == "bad_area" and "SIGSEGV" in out.event.text
    assert out.state.tables == state.tables


def test_a_reuse_of_q_s_whole_vma_is_refused():
    """mmap(MAP_FIXED) over all of QH would free the PMD table in free_pgtables()
    (hugetlb_free_pgd_range()): there would be no table left to reuse, so a
    scenario file saying so is refused with the path's key."""
    text = (HUGETLB_FILE.replace('start = "QH+2M"\nsize = "2M"', 'start = "QH"\nsize = "1G"'))
    assert text != HUGETLB_FILE
    with pytest.raises(ValueError) as info:
        loads(text, "whole.toml").scenario
    assert "path[1]: hugetlb_reuse over the whole VMA QH frees its PMD table" in str(info.value)
    loads(HUGETLB_FILE, "part.toml").scenario  # the same file over 2 MiB is accepted


HUGETLB_FILE = """name = "x"
kernel = "7.1"

[walker]
holds = ["vma_lock"]
hugetlb_walk_lock = "skip"
address = "H+2M+0x5000"
vma = "H"

[[vma]]
name = "H"
start = 0x4000_0000
size = "1G"
kind = "hugetlb"

[[vma]]
name = "QH"
start = 0x8000_0000
size = "1G"
kind = "hugetlb"
mm = "Q"

[[path]]
op = "hugetlb_punch_hole"
start = "H+2M"
size = "2M"

[[path]]
op = "hugetlb_reuse"
start = "QH+2M"
size = "2M"
"""
