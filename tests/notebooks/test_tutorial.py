"""The 90-minute tutorial track: parts and a buffer that add up to 90 minutes, each
part with its clock time, within its cell budget and with an exercise for the
room; the table of clock times agrees with the parts; the presenter's notes follow
the same parts and clock times, and say what to cut when late, naming only steps
the notebook marks optional; a prediction's answer is never in the text above its
reveal; Part 6 has an answer key that waits for an answer.  (That it runs top to
bottom is test_execute's; how long each part takes to run is benchmarks/tutorial.py's.)"""

import re

import pytest

from lessons import NOTEBOOKS, ROOT, is_reveal, read

TUTORIAL = ROOT / "notebooks" / "tutorial-90min.ipynb"
NOTES = ROOT / "docs" / "tutorial.md"
PART = re.compile(r"^## Part (\d+) · (.+) \((\d+) min\)$", flags=re.M)
CLOCK = re.compile(r"^\*Clock: (\d):(\d\d)–(\d):(\d\d)\.\*$", flags=re.M)
BUFFER = re.compile(r"^\| buffer[^|]*\| (\d+) \| (\d:\d\d)–(\d:\d\d) \|$", flags=re.M)
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


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _intro() -> str:
    return read(TUTORIAL).cells[0].source


def test_parts_and_the_buffer_add_up_to_ninety_minutes():
    ps = parts()
    assert [p[0] for p in ps] == list(range(1, len(ps) + 1)) and len(ps) >= 5
    m = BUFFER.search(_intro())
    assert m, "the tutorial's table of times has a buffer row"
    buffer = int(m.group(1))
    assert buffer >= 5, "a room of 50 needs a buffer"
    assert sum(p[2] for p in ps) + buffer == 90, [(p[1], p[2]) for p in ps]
    assert (m.group(2), m.group(3)) == (_clock(90 - buffer), "1:30")


def test_each_part_states_its_clock_time_and_the_table_agrees():
    start = 0
    intro = _intro()
    for number, title, minutes, _, prose in parts():
        m = CLOCK.search(prose)
        assert m, f"part {number} states its clock time"
        assert (int(m.group(1)) * 60 + int(m.group(2)), int(m.group(3)) * 60 + int(m.group(4))) == (start, start + minutes), number
        row = f"| {number} · {title} | {minutes} | {_clock(start)}–{_clock(start + minutes)} |"
        assert row in intro, row
        start += minutes


def test_each_part_keeps_its_cell_budget_and_gives_the_room_an_exercise():
    text = "\n".join(c.source for c in read(TUTORIAL).cells if c.cell_type == "markdown")
    assert f"at most {['zero', 'one', 'two', 'three', 'four', 'five'][CELL_BUDGET]} code cells" in text
    for number, title, minutes, cells, prose in parts():
        assert 1 <= cells <= CELL_BUDGET, (title, cells)
        assert "Room exercise" in prose, f"part {number} ({title}) has no exercise for the room"


def test_the_presenters_notes_follow_the_parts_and_their_clock_times():
    notes = NOTES.read_text(encoding="utf-8")
    start = 0
    for number, title, minutes, _, _ in parts():
        assert f"Part {number} · {title} ({minutes} min, {_clock(start)}–{_clock(start + minutes)})" in notes, (number, title)
        start += minutes
    for needed in ("python -m pagewalk_edu.course reset", "tools/build_lite.py", "pitfall", "projector", "offline",
                   "reset_lesson(", "Delete"):
        assert needed in notes.lower() or needed in notes, needed


def test_what_to_cut_when_late_names_steps_the_notebook_marks_optional():
    notes = NOTES.read_text(encoding="utf-8")
    m = re.search(r"^## When you run late\n(.+?)(?=^## )", notes, flags=re.M | re.S)
    assert m, "docs/tutorial.md says what to cut when late"
    cuts = re.findall(r"Part (\d+)", m.group(1))
    assert len(set(cuts)) >= 3, cuts
    by_number = {p[0]: p for p in parts()}
    code_by_part = {}
    current = None
    for cell in read(TUTORIAL).cells:
        if cell.cell_type == "markdown" and PART.search(cell.source):
            current = int(PART.search(cell.source).group(1))
        if current is not None:
            code_by_part.setdefault(current, "")
            code_by_part[current] += cell.source
    for n in {int(c) for c in cuts}:
        assert n in by_number, n
    for n in (2, 5):  # the optional steps the notes cut first
        assert "optional" in code_by_part[n].lower(), f"part {n} marks what may be cut"


def test_the_order_of_the_holds_is_in_the_presenters_notes():
    notes = NOTES.read_text(encoding="utf-8")
    part6 = notes[notes.index("Part 6 ·"):]
    for needed in ("rcu,vma_lock", "sleeping function called from invalid context", "mmap_read_lock()"):
        assert needed in part6, needed


def test_part_six_has_an_answer_key_that_waits_for_an_answer():
    from pagewalk_edu import course

    code = [c.source for c in read(TUTORIAL).cells if c.cell_type == "code"]
    assert any('answer_key("remote-walker", answer)' in c for c in code)
    for answer in course.EXERCISES["remote-walker"].answers:
        course.check("remote-walker", answer)  # the key shows what check() says, nothing hard-coded
    assert "rcu,vma_lock" in course.EXERCISES["remote-walker"].answers
    assert not course.check("remote-walker", "rcu,vma_lock").passed
    assert course.check("remote-walker", "vma_lock,rcu").passed


def _claims(source: str):
    return re.findall(r"`([^`\s]+)`:\s+\*\*(?:safe_but_stale|safe|unsafe|deadlock)\*\*", source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_prediction_is_answered_by_the_text_above_its_reveal(path):
    """A verdict claimed in bold (`NAME`: **verdict**) for a scenario comes only after the reveal of that scenario."""
    claimed_before = set()
    for i, cell in enumerate(read(path).cells):
        if cell.cell_type == "markdown":
            claimed_before.update(_claims(cell.source))
        elif is_reveal(cell):
            for name in re.findall(r'reveal_verdict\(\w+,\s*"([^"]+)"\)', cell.source):
                assert name not in claimed_before, f"{path.name} cell {i}: {name}'s verdict is stated above its reveal"


def test_part_four_explorer_shows_the_last_rows_deadlock_as_the_notes_say():
    """Ticking irqs_off in Part 4's Explorer and pressing Show me the bug loads the deadlock of the last row."""
    import re as _re

    from pagewalk_edu.explore import verdict
    from pagewalk_edu.scenarios import named
    from pagewalk_edu.widgets import Explorer

    code = next(c.source for c in read(TUTORIAL).cells if c.cell_type == "code" and "Explorer(" in c.source)
    scenario = _re.search(r'Explorer\(scenario="([^"]+)"', code).group(1)
    e = Explorer(scenario=scenario, controls=("holds",), presenter=True)
    e.holds["irqs_off"].value = True
    e.do_bug()
    assert "(deadlock)" in e.message.value
    last = named("seed-patch-local/retract_page_tables").scenario
    assert len(e.trace.events) == len(verdict(last).schedule), "the same race as the last row's scenario"
    notes = NOTES.read_text(encoding="utf-8")
    assert "tick **irqs_off** (the walker is now the last row's) and\n  press **Show me the bug**" in notes
