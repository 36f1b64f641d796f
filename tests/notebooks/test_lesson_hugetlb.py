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
    mmap(MAP_FIXED) takes its hugetlb VMA lock before the zap (mm/memory.c unmap_vmas() →
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
    """In the in_unshare deadlock the walker spins on T's PMD lock, held by Q: Q's mmap(MAP_FIXED)
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
    assert "The holder is Q: its `mmap(MAP_FIXED)` split its VMA first" in prose and "The hole punch plays no part" in prose
    # Q's mmap(MAP_FIXED) splits (__split_vma() takes i_mmap_rwsem) and unshares there, never returning.
    assert q[:3] == ["mmap_write_lock", "i_mmap_lock_write", "huge_pmd_unshare"] and "mmap_write_unlock" not in q
    assert "__split_vma" in next(e.text for e in trace.events if e.actor == "Q" and e.function == "i_mmap_lock_write")


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


def _steps_table() -> dict[str, str]:
    """The lesson's table of Q's mmap(MAP_FIXED): steps ("25–32") to what Q does."""
    nb = nbformat.read(LESSON, as_version=4)
    rows = {}
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "| steps | what Q does |" in cell.source:
            for line in cell.source.splitlines():
                m = re.fullmatch(r"\| (\d+(?:–\d+)?) \| (.*) \|", line)
                if m:
                    rows[m.group(1)] = m.group(2)
    return rows


def _span(key: str) -> range:
    lo, _, hi = key.partition("–")
    return range(int(lo) - 1, int(hi or lo))  # 1-based steps to event indexes


def test_the_steps_the_lesson_names_for_qs_mmap_fixed_are_its_splits_zap_and_new_vma():
    """The prose says Q's mmap(MAP_FIXED) is step 9 and steps 25-42 (mm/vma.c
    __mmap_region()): vms_gather_munmap_vmas() splits Q's VMA at both ends
    (__split_vma() → mm/hugetlb.c hugetlb_split()) and detaches the middle, the zap
    runs under __hugetlb_zap_begin()'s locks, __mmap_new_vma() stores the anonymous
    VMA, mmap_write_unlock() ends it; Q's touch is step 43 and the foreign read 44."""
    from pagewalk_edu.kernel import run

    prose = _prose()
    assert "Q's `mmap(MAP_FIXED)` is step 9 and steps 25–42" in prose
    assert "Step 43 is Q's touch, and step 44 the walker's read" in prose
    rows = _steps_table()
    assert list(rows) == ["25–32", "33", "34–40", "41", "42"]
    s = named("hugetlb/vma_lock+punch_hole-skip").scenario
    trace = run(s, verdict(s).schedule, then_default=False)
    events = trace.events
    assert len(events) == 44 and trace.first_violation() == 44
    assert events[8].actor == "Q" and events[8].function == "mmap_write_lock" and "MAP_FIXED" in events[8].text
    assert events[23].actor != "Q" and all(e.actor == "Q" for e in events[24:42])

    splits = [events[i] for i in _span("25–32")]
    assert [e.function for e in splits].count("__split_vma") == 2 and [e.function for e in splits].count("hugetlb_split") == 2
    assert "two `__split_vma()`" in rows["25–32"] and "`hugetlb_split()`" in rows["25–32"]
    assert all(e.function != "hugetlb_split" or "nothing to unshare" in e.text for e in splits)
    assert "nothing to do" in rows["25–32"]
    (gather,) = [events[i] for i in _span("33")]
    assert gather.function == "vms_gather_munmap_vmas" and "vma_mark_detached()" in gather.text
    assert "vma_mark_detached()" in rows["33"]
    zap = [events[i] for i in _span("34–40")]
    assert zap[0].function == "hugetlb_vma_lock_write" and "__hugetlb_zap_begin" in zap[0].text
    assert "__unmap_hugepage_range" in [e.function for e in zap]
    assert [e.function for e in zap][-2:] == ["hugetlb_vma_unlock_write", "i_mmap_unlock_write"]
    assert "`__hugetlb_zap_begin()`" in rows["34–40"]
    (new,) = [events[i] for i in _span("41")]
    assert new.function == "__mmap_new_vma" and "`__mmap_new_vma()`" in rows["41"]
    (unlock,) = [events[i] for i in _span("42")]
    assert unlock.function == "mmap_write_unlock" and "`mmap_write_unlock()`" in rows["42"]
    assert events[42].actor == "Q" and events[42].function == "__pte_alloc" and "touches" in events[42].text
    assert events[43].actor == "walker" and events[43].function == "pmdp_get_lockless"


def test_the_reuse_is_told_as_mmap_map_fixed_not_munmap():
    """Q reuses T through mmap(MAP_FIXED | MAP_ANONYMOUS) over its hugetlb VMA and a touch,
    as the scenario's layout says; the lesson says so where it first names the reuse."""
    from pagewalk_edu.kernel import run

    prose = _prose()
    assert "with `mmap(MAP_FIXED)` and touches it" in prose
    assert "Q's munmap" not in prose and "Q unmaps" not in prose
    start = run(named("hugetlb/vma_lock+punch_hole-skip").scenario, [], then_default=False)
    assert "mmap(MAP_FIXED)" in start.ctx.setup.summary and "touches it" in start.ctx.setup.summary
