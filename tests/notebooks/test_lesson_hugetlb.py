"""Lesson 10 (why the patch refuses hugetlb): its claims are named scenario files,
and the violation it teaches is the foreign table, not a use-after-free."""

from __future__ import annotations

import re

import nbformat

from pagewalk_edu.explore import verdict
from pagewalk_edu.scenarios import named

from lessons import ROOT

LESSON = ROOT / "notebooks" / "10-hugetlb-reuse.ipynb"
CLAIM = re.compile(r"`([^`\s]+)`:\s+\*\*(safe_but_stale|safe|unsafe|deadlock)\*\*")


def _claims() -> dict[str, str]:
    nb = nbformat.read(LESSON, as_version=4)
    return {n: c for cell in nb.cells if cell.cell_type == "markdown" for n, c in CLAIM.findall(cell.source)}


def test_lesson_claims_every_holder_and_both_twists():
    claims = _claims()
    for name in ("hugetlb/vma_lock+punch_hole-skip", "hugetlb/vma_lock+rcu+punch_hole-skip-6.18",
                 "hugetlb/vma_lock+irqs_off-remote+punch_hole-skip", "hugetlb/vma_lock+punch_hole-take",
                 "hugetlb/i_mmap_lock+vma_lock+irqs_off+dontneed-skip", "hugetlb/patch-vma_lock+irqs_off+punch_hole",
                 "hugetlb/vma_lock+irqs_off+punch_hole-skip-6.18.0",
                 "hugetlb/vma_lock+irqs_off-remote+punch_hole-skip-elide_native",
                 "hugetlb/vma_lock+rcu+punch_hole-skip-7.1"):
        assert name in claims, name
        assert named(name).expected == claims[name]


def test_every_unsafe_claim_of_the_lesson_is_a_foreign_table_not_a_use_after_free():
    unsafe = [n for n, c in _claims().items() if c == "unsafe"]
    assert len(unsafe) >= 4
    for name in unsafe:
        v = verdict(named(name).scenario)
        assert v.violation == "foreign table", name
        assert v.properties["no use-after-free"] is True


def test_the_counterexample_the_lesson_steps_ends_in_qs_table():
    from pagewalk_edu.kernel import run

    s = named("hugetlb/vma_lock+punch_hole-skip").scenario
    v = verdict(s)
    trace = run(s, v.schedule, then_default=False)
    last = trace.last
    assert last.foreign and last.foreign[0].owner == "Q" and trace.events[-1].actor == "walker"
    # Continued by the default schedule, the walk goes on through Q's PTE table and returns Q's page.
    more = run(s, v.schedule)
    assert more.last.actors[0].get("result") == "folio (PTE)"


def test_the_trace_the_lesson_prints_names_the_foreign_read_its_step_and_qs_zap_locks():
    """The lesson prints trace_text() of the counterexample: its outcome line names
    the foreign table and the step of the read (Trace.first_violation()), and Q's
    munmap takes its hugetlb VMA lock before the zap (mm/memory.c unmap_vmas() →
    mm/hugetlb.c __hugetlb_zap_begin()), as the prose before it says."""
    from pagewalk_edu.kernel import run
    from pagewalk_edu.viz.text import trace_text

    nb = nbformat.read(LESSON, as_version=4)
    assert any("trace_text(trace)" in c.source for c in nb.cells if c.cell_type == "code")
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "`__hugetlb_zap_begin()`" in prose and "names the violation and the step" in prose
    s = named("hugetlb/vma_lock+punch_hole-skip").scenario
    trace = run(s, verdict(s).schedule, then_default=False)
    text = trace_text(trace)
    step = trace.first_violation()
    assert f"FOREIGN TABLE: walker read PMD table #{trace.last.foreign[0].via} in pmdp_get_lockless() at step {step}," in text
    q = [e.function for e in trace.events if e.actor == "Q"]
    assert q.index("hugetlb_vma_lock_write") < q.index("__unmap_hugepage_range") < q.index("hugetlb_vma_unlock_write")


def _prose() -> str:
    nb = nbformat.read(LESSON, as_version=4)
    return " ".join("\n".join(c.source for c in nb.cells if c.cell_type == "markdown").split())


def test_the_v6_18_0_deadlock_is_qs_own_unshare_holding_ts_lock_as_the_lesson_says():
    """In the in_unshare deadlock the walker spins on T's PMD lock, held by Q: Q's munmap
    split its VMA (mm/vma.c __split_vma() → mm/hugetlb.c hugetlb_split() → huge_pmd_unshare())
    and waits, lock held, in tlb_remove_table_sync_one() for the walker's CPU; the hole
    punch only waits for i_mmap_rwsem."""
    from pagewalk_edu.kernel import run

    s = named("hugetlb/vma_lock+irqs_off+punch_hole-skip-6.18.0").scenario
    v = verdict(s)
    assert v.verdict == "deadlock"
    assert any("spins in pmd_lock()" in w and "held by CPU2 (Q)" in w for w in v.why), v.why
    trace = run(s, v.schedule, then_default=False)
    q = [e.function for e in trace.events if e.actor == "Q"]
    assert "huge_pmd_unshare" in q and "hugetlb_vma_trylock_write" not in [e.function for e in trace.events
                                                                          if e.actor == "fallocate"]
    assert any(a == "fallocate" and "i_mmap_lock_write()" in r for _, a, r in trace.waits)
    prose = _prose()
    assert "The holder is Q" in prose and "The hole punch plays no part" in prose


def test_the_lesson_builds_its_picture_with_the_public_api_only():
    nb = nbformat.read(LESSON, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for internal in ("kernel.ctx", "kernel.sim", "kernel.geometry", "make_ctx"):
        assert internal not in code, internal


def test_the_take_walker_is_safe_because_the_hole_punch_skips_ps_vma():
    """fs/hugetlbfs/inode.c hugetlb_vmdelete_list(): a VMA whose hugetlb VMA lock cannot be
    taken at once is skipped (remove_inode_hugepages() → hugetlb_unmap_file_folio() unmaps it
    later, a pass the model leaves out, as the lesson says)."""
    from pagewalk_edu.kernel import run

    s = named("hugetlb/vma_lock+punch_hole-take").scenario
    trace = run(s, [])
    assert any("hugetlb_vma_trylock_write() of VMA H fails" in e.text and "skipped" in e.text for e in trace.events)
    assert trace.last.actors[0].get("result") == "folio (PMD leaf)"
    prose = _prose()
    assert "`hugetlb_vmdelete_list()` skips it" in prose and "`remove_inode_hugepages()`" in prose
    assert "The model leaves that second pass out" in prose


def test_the_hugetlb_vma_lock_is_told_apart_from_the_per_vma_lock_at_its_first_use():
    prose = _prose()
    first = prose.index("hugetlb VMA lock")
    assert "besides its per-VMA lock" in prose[first:first + 400]


def test_the_steps_the_lesson_names_for_qs_munmap_are_qs_split_and_zap():
    """The prose says Q's munmap is step 9 and steps 25-36, with hugetlb_split() (mm/hugetlb.c,
    called from __split_vma()) and __hugetlb_zap_begin() among them."""
    from pagewalk_edu.kernel import run

    assert "Q's munmap is step 9 and steps 25–36" in _prose()
    s = named("hugetlb/vma_lock+punch_hole-skip").scenario
    events = run(s, verdict(s).schedule, then_default=False).events
    assert events[8].actor == "Q" and events[8].function == "mmap_write_lock"
    window = events[24:36]
    assert all(e.actor == "Q" for e in window) and window[-1].function == "mmap_write_unlock"
    assert "hugetlb_split" in [e.function for e in window] and "__hugetlb_zap_begin" in " ".join(e.text for e in window)
    assert events[23].actor != "Q"
