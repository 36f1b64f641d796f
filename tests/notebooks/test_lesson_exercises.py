"""Lesson 09's exercises 4-6 (hugetlb reuse, GUP-fast, the patch's assertions):
each solution cell, run after the learner's answer, agrees with the kernel facts
it teaches, and says nothing before an answer is given."""

from __future__ import annotations

import ast

import nbformat
import pytest

from lessons import ROOT, is_reveal, run_cell

LESSON = ROOT / "notebooks" / "09-exercises.ipynb"

#: The answer each solution must call right, from the kernel: mm/hugetlb.c huge_pmd_unshare() needs
#: i_mmap_rwsem for write (held for read by the walker, it waits on every version); mm/gup.c gup_fast()
#: takes no lock, folio_walk_start() spins on the ptl a flush is made under; the patch accepts the VMA
#: lock with IRQs off only (vma_assert_locked(), lockdep_assert_irqs_disabled()).
EXPECTED = {"hugetlb_solution": "i_mmap_lock", "gup_solution": "folio_walk_start", "patch_solution": "vma_lock,irqs_off"}


def test_each_solution_names_the_kernels_answer_and_explains_every_choice(kernel):
    cells = nbformat.read(LESSON, as_version=4).cells
    seen = set()
    for cell in cells:
        if cell.cell_type != "code":
            continue
        if not is_reveal(cell) or not any(f in cell.source for f in EXPECTED):
            run_cell(kernel, cell.source)
            continue
        solution = next(f for f in EXPECTED if f"def {f}(" in cell.source)
        assert run_cell(kernel, cell.source).startswith("Make a prediction first"), solution
        right = EXPECTED[solution]
        shown = run_cell(kernel, f"my_prediction = {right!r}\n" + cell.source)
        lines = shown.splitlines()
        assert lines[0] == f"You predicted {right!r}. The answer is {right!r}.  Right.", shown
        choices = ast.literal_eval(cell.source.split("reveal_answer(my_prediction, ", 1)[1].split("), ")[0] + ")")
        # every choice (for GUP-fast: each of the two walkers) is accounted for in the explanation
        for choice in (("folio_walk_start", "gup_fast") if solution == "gup_solution" else choices):
            assert any(line.startswith(f" - {choice}: ") for line in lines[1:]), (solution, choice, shown)
        if solution == "gup_solution":
            assert "gup_fast: no deadlock" in shown and "spins in" in shown, shown
        seen.add(solution)
        if solution == "hugetlb_solution":
            assert "rcu: unsafe (foreign table)" in shown and "irqs_off: deadlock" in shown and "elide_native" in shown
        if solution == "patch_solution":
            assert "lockdep_assert_irqs_disabled() fails" in shown and "is_vm_hugetlb_page(vma)) fails" in shown
        run_cell(kernel, "my_prediction = None")
    assert seen == set(EXPECTED)
