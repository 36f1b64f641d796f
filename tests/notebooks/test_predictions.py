"""Honest predictions: a reveal cell shows nothing of the answer until the
learner has predicted, says so, and once a prediction is made gives the
explorer's answer; exactly one of the accepted predictions is right."""

import ast
import re

import pytest

from lessons import NOTEBOOKS, ROOT, is_reveal, read, run_cell

NOT_YET = re.compile(r"^Make a prediction first: set my_prediction in the cell above to one of (.+), run that cell, then this one\.$")
WITH_REVEALS = [p for p in NOTEBOOKS if any(is_reveal(c) for c in read(p).cells)]


def test_lessons_have_reveals_and_every_prediction_starts_empty():
    assert len(WITH_REVEALS) >= 6
    for path in NOTEBOOKS:
        for cell in read(path).cells:
            if cell.cell_type == "code" and re.search(r"^my_prediction\s*=", cell.source, flags=re.M):
                assert re.search(r"^my_prediction = None\b", cell.source, flags=re.M), f"{path.name}: a prediction is pre-filled"
            if cell.cell_type == "code" and ("reveal_verdict(" in cell.source or "reveal_answer(" in cell.source):
                assert is_reveal(cell), f"{path.name}: a reveal cell lacks the 'reveal' tag"


@pytest.mark.parametrize("path", WITH_REVEALS, ids=lambda p: p.name)
def test_a_reveal_waits_for_the_prediction_then_gives_one_right_answer(kernel, path):
    cells = read(path).cells
    run_cell(kernel, "%reset -f")
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        if not is_reveal(cell):
            run_cell(kernel, cell.source)
            continue
        before = run_cell(kernel, cell.source).strip()
        m = NOT_YET.match(before)
        assert m, f"{path.name} cell {i}: before a prediction the reveal printed {before!r}"
        choices = ast.literal_eval("[" + m.group(1) + "]")
        verdicts = {}
        for choice in choices:
            run_cell(kernel, f"my_prediction = {choice!r}")
            after = run_cell(kernel, cell.source)
            assert after.startswith(f"You predicted {choice!r}."), (path.name, i, after[:200])
            verdicts[choice] = "  Right." in after.splitlines()[0]
            assert verdicts[choice] != ("  Not right: why is below." in after.splitlines()[0]), "a reveal says right or not"
        assert sum(verdicts.values()) == 1, f"{path.name} cell {i}: right for {verdicts}"
        run_cell(kernel, "my_prediction = 'no such answer'")
        wrong = run_cell(kernel, cell.source).strip()
        assert wrong.startswith("Not one of the choices: my_prediction must be one of") and "got 'no such answer'" in wrong, wrong
        run_cell(kernel, "my_prediction = None")
