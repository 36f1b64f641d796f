"""The exercises with a solution cell: lesson 09's GUP-fast and patch-assertion
exercises, and the hugetlb exercise at the end of lesson 10 (it needs that lesson,
and its solution would give away lesson 10's predictions). Each solution cell, run
after the learner's answer, agrees with the kernel facts it teaches, and says
nothing before an answer is given."""

from __future__ import annotations

import ast

import nbformat
import pytest

from lessons import ROOT, is_reveal, run_cell

LESSON09 = ROOT / "notebooks" / "09-exercises.ipynb"
LESSON10 = ROOT / "notebooks" / "10-hugetlb-reuse.ipynb"

#: The answer each solution must call right, from the kernel: mm/hugetlb.c huge_pmd_unshare() needs
#: i_mmap_rwsem for write (held for read by the walker, it waits on every version); mm/gup.c gup_fast()
#: takes no lock, folio_walk_start() spins on the ptl a flush is made under; the patch accepts the VMA
#: lock with IRQs off only (vma_assert_locked(), lockdep_assert_irqs_disabled()).
EXPECTED = {"hugetlb_solution": "i_mmap_lock", "gup_solution": "folio_walk_start", "patch_solution": "vma_lock,irqs_off"}
WHERE = {"hugetlb_solution": LESSON10, "gup_solution": LESSON09, "patch_solution": LESSON09}


def _solutions(kernel, lesson):
    """Run `lesson`'s code cells in order; for each solution cell, what it prints with no
    prediction and with the right one."""
    out = {}
    for cell in nbformat.read(lesson, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        if not is_reveal(cell) or not any(f"def {f}(" in cell.source for f in EXPECTED):
            run_cell(kernel, cell.source)
            continue
        solution = next(f for f in EXPECTED if f"def {f}(" in cell.source)
        before = run_cell(kernel, cell.source)
        shown = run_cell(kernel, f"my_prediction = {EXPECTED[solution]!r}\n" + cell.source)
        out[solution] = (cell.source, before, shown)
        run_cell(kernel, "my_prediction = None")
    return out


@pytest.mark.parametrize("lesson", [LESSON09, LESSON10], ids=lambda p: p.name[:2])
def test_each_solution_names_the_kernels_answer_and_explains_every_choice(kernel, lesson):
    found = _solutions(kernel, lesson)
    assert set(found) == {f for f, where in WHERE.items() if where == lesson}
    for solution, (source, before, shown) in found.items():
        assert before.startswith("Make a prediction first"), solution
        right = EXPECTED[solution]
        lines = shown.splitlines()
        assert lines[0] == f"You predicted {right!r}. The answer is {right!r}.  Right.", shown
        choices = ast.literal_eval(source.split("reveal_answer(my_prediction, ", 1)[1].split("), ")[0] + ")")
        # every choice (for GUP-fast: each of the two walkers) is accounted for in the explanation
        for choice in (("folio_walk_start", "gup_fast") if solution == "gup_solution" else choices):
            assert any(line.startswith(f" - {choice}: ") for line in lines[1:]), (solution, choice, shown)
        if solution == "gup_solution":
            assert "gup_fast: no deadlock" in shown and "spins in" in shown, shown
            assert "GUP-fast takes no lock to spin on" in shown and "ptep_get_lockless()" in shown
        if solution == "hugetlb_solution":
            assert "rcu: unsafe (foreign table)" in shown and "irqs_off: deadlock" in shown and "elide_native" in shown
        if solution == "patch_solution":
            assert "lockdep_assert_irqs_disabled() fails" in shown and "is_vm_hugetlb_page(vma)) fails" in shown


def test_the_hugetlb_exercise_comes_after_every_prediction_of_lesson_10_and_lesson_09_has_none():
    cells = nbformat.read(LESSON10, as_version=4).cells
    at = next(i for i, c in enumerate(cells) if "def hugetlb_solution(" in c.source)
    reveals = [i for i, c in enumerate(cells) if c.cell_type == "code" and "reveal_verdict(" in c.source]
    assert reveals and max(reveals) < at
    text09 = "\n".join(c.source for c in nbformat.read(LESSON09, as_version=4).cells)
    assert "hugetlb_solution" not in text09 and "hugetlb_walk_lock" not in text09
    assert "**Prerequisites:** lessons 00–08." in text09
    headings = [line for c in nbformat.read(LESSON09, as_version=4).cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## Exercise")]
    assert [h.split(":")[0] for h in headings] == [f"## Exercise {n}" for n in (1, 2, 3)] + ["## Exercises 4–5"] + [
        f"## Exercise {n}" for n in (4, 5)], headings


def test_the_recap_of_lesson_09_gives_no_answer_of_its_solution_cells():
    recap = next(c.source for c in nbformat.read(LESSON09, as_version=4).cells if c.source.startswith("## Recap"))
    body = recap.split("**Kernel source discussed**")[0]
    for answer in ("GUP-fast", "gup_fast", "VMA lock plus IRQs off", "vma_lock,irqs_off"):
        assert answer not in body, answer
