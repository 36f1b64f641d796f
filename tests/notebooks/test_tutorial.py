"""The 90-minute tutorial track: parts that add up to 90 minutes, each within
its cell budget and with an exercise for the room; the presenter's notes follow
the same parts.  (That it runs top to bottom is test_execute's; how long each
part takes to run is benchmarks/tutorial.py's.)"""

import re

from lessons import ROOT, read

TUTORIAL = ROOT / "notebooks" / "tutorial-90min.ipynb"
NOTES = ROOT / "docs" / "tutorial.md"
PART = re.compile(r"^## Part (\d+) · (.+) \((\d+) min\)$", flags=re.M)
CELL_BUDGET = 5  # code cells a part may run: the notebook's own promise


def parts():
    """[(number, title, minutes, code cells, text)] in notebook order."""
    out = []
    for cell in read(TUTORIAL).cells:
        if cell.cell_type == "markdown":
            for m in PART.finditer(cell.source):
                out.append([int(m.group(1)), m.group(2), int(m.group(3)), 0, ""])
            if out:
                out[-1][4] += cell.source
        elif out:
            out[-1][3] += 1
    return out


def test_parts_are_numbered_and_add_up_to_ninety_minutes():
    ps = parts()
    assert [p[0] for p in ps] == list(range(1, len(ps) + 1)) and len(ps) >= 5
    assert sum(p[2] for p in ps) == 90, [(p[1], p[2]) for p in ps]


def test_each_part_keeps_its_cell_budget_and_gives_the_room_an_exercise():
    text = "\n".join(c.source for c in read(TUTORIAL).cells if c.cell_type == "markdown")
    assert f"at most {['zero', 'one', 'two', 'three', 'four', 'five'][CELL_BUDGET]} code cells" in text
    for number, title, minutes, cells, prose in parts():
        assert 1 <= cells <= CELL_BUDGET, (title, cells)
        assert "Room exercise" in prose, f"part {number} ({title}) has no exercise for the room"


def test_the_presenters_notes_follow_the_parts():
    notes = NOTES.read_text(encoding="utf-8")
    for number, title, minutes, _, _ in parts():
        assert f"Part {number} · {title} ({minutes} min)" in notes, (number, title)
    for needed in ("python -m pagewalk_edu.course reset", "tools/build_lite.py", "pitfall", "projector", "offline"):
        assert needed in notes.lower() or needed in notes, needed
