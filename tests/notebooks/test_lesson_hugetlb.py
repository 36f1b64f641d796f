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
                 "hugetlb/vma_lock+irqs_off-remote+punch_hole-skip-elide_native"):
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
