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
    assert "tick **irqs_off** (the walker is now the patch's) and\n  press **Show me the bug**" in notes


def test_the_cut_ladder_is_keyed_to_the_part_you_are_in():
    """Each cut names the part it is made in and a clock time inside that part: lateness builds up in Parts 3
    and 4, so a cut keyed to the start of the session would already be past."""
    notes = NOTES.read_text(encoding="utf-8")
    ladder = re.search(r"^## When you run late\n(.+?)(?=^## )", notes, flags=re.M | re.S).group(1)
    spans, start = {}, 0
    for number, _, minutes, _, _ in parts():
        spans[number] = (start, start + minutes)
        start += minutes
    cuts = re.findall(r"^\d\. \*\*Part (\d+), [^*]*?after (\d):(\d\d)", ladder, flags=re.M)
    assert len(cuts) >= 3, ladder
    for number, h, m in cuts:
        begin, end = spans[int(number)]
        assert begin <= int(h) * 60 + int(m) < end, (number, h, m, spans[int(number)])


def _markdown():
    return "\n".join(c.source for c in read(TUTORIAL).cells if c.cell_type == "markdown")


def test_what_a_trace_prints_is_explained_where_it_first_appears():
    from pagewalk_edu.kernel import run
    from pagewalk_edu.scenarios import named
    from pagewalk_edu.viz.text import trace_text

    cells = read(TUTORIAL).cells
    first = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "trace_text(" in c.source)
    out = trace_text(run(named("vma_lock+munmap").scenario, ["walker", "walker", "munmap"], then_default=False))
    assert "[WARNING: mmap_assert_locked(vma->vm_mm) fails" in out and out.startswith("Scenario: ")
    after = cells[first + 1].source
    assert "mmap_assert_locked(vma->vm_mm) fails" in after and "not the bug" in after
    assert "the first line names the scenario" in after and "config" in after


def test_safe_but_stale_is_defined_and_linked_where_it_is_first_offered():
    text = _markdown()
    first = text.index('"safe_but_stale"')
    assert "[stale](glossary.ipynb#cell-id=stale)" in text[first:first + 200], text[first:first + 200]


def test_the_exercise_lists_its_seven_actions_and_keeps_the_cpumask():
    from pagewalk_edu import course
    from pagewalk_edu.kernel.scenario import ACTIONS

    text = _markdown()
    part6 = text[text.index("## Part 6"):]
    listed = re.findall(r"^\| `(\w+)` \|", part6, flags=re.M)
    assert listed == list(ACTIONS)
    assert sorted({a for a, *_ in course.EXERCISES["remote-walker"].cases}) == sorted(ACTIONS)
    assert "not in the target mm's cpumask" in part6
    assert "not in the target mm's cpumask" in course.EXERCISES["remote-walker"].prompt


def test_a_broadcast_tlb_flush_makes_the_patch_walkers_race_safe_but_stale_as_part_four_says():
    from dataclasses import replace

    from pagewalk_edu.explore import verdict
    from pagewalk_edu.scenarios import named

    s = named("seed-patch-local/retract_page_tables").scenario
    assert verdict(s).verdict == "deadlock"
    assert verdict(replace(s, config=replace(s.config, TLB_FLUSH="broadcast"))).verdict == "safe_but_stale"
    assert 'TLB_FLUSH="broadcast"' in _markdown() and "the same race is `safe_but_stale`" in _markdown()


def test_a_typo_in_the_answer_is_one_line_naming_what_is_accepted():
    from pagewalk_edu import course
    from pagewalk_edu.kernel.scenario import parse_holds

    f = course.check("remote-walker", "vma-lock")
    assert not f.passed and len(f.lines) == 1
    assert "'vma-lock'" in f.lines[0] and "vma_lock" in f.lines[0] and "irqs_off" in f.lines[0]
    assert not course.check("remote-walker", "vma_lock,vma_lock").passed
    with pytest.raises(ValueError, match="unknown holder 'vma-lock'"):
        parse_holds("vma-lock")  # the API under check() still raises for programmatic use
    with pytest.raises(ValueError, match="no exercise"):
        course.check("remote-walkers", "vma_lock")


def test_each_failing_case_is_one_line_about_one_interleaving():
    """A bug (a sleep in atomic context) is the failure; the verdict's why, from another interleaving, is not mixed in."""
    from pagewalk_edu import course

    f = course.check("remote-walker", "irqs_off,vma_lock")
    cases = [x for x in f.lines if x.startswith("  - ")]
    assert cases and all("BUG: sleeping function called from invalid context" in x for x in cases), cases
    assert not any(" and BUG" in x or "waited in" in x for x in cases), cases
    assert all("\n" not in x for x in cases)


def test_the_answer_key_names_the_other_answers_that_pass_and_checks_them(capsys):
    from pagewalk_edu import course

    course.answer_key("remote-walker", "rcu")
    out = capsys.readouterr().out
    also = out.split("Also passing:\n", 1)[1]
    for holds, why in course.ALSO_PASS["remote-walker"]:
        line = next(x for x in also.splitlines() if x.startswith(f"{holds} "))
        assert "passes all 28 cases" in line and course.check("remote-walker", holds).passed
    assert {h for h, _ in course.ALSO_PASS["remote-walker"]} >= {"mmap_lock", "irqs_off"}
    assert "rcu,irqs_off" in also and course.check("remote-walker", "rcu,irqs_off").passed, "the key says it passes too"
    assert "not in the target mm's cpumask" in also and "does not check" in also


def test_reset_lesson_shows_its_lines_not_a_list(tmp_path):
    import shutil

    from IPython.lib.pretty import pretty

    from pagewalk_edu.course import reset_lesson

    shutil.copy(TUTORIAL, tmp_path / TUTORIAL.name)
    (tmp_path / "clean").mkdir()
    shutil.copy(TUTORIAL, tmp_path / "clean" / TUTORIAL.name)
    lines = reset_lesson("tutorial-90min", tmp_path, source=tmp_path / "clean")
    assert lines == [f"{TUTORIAL.name}: already clean"]
    assert pretty(lines) == repr(lines) == f"{TUTORIAL.name}: already clean"


@pytest.mark.parametrize("tool, extras", [("build_lite", "lab,lite"), ("build_kit", "lab,lite,docs")])
def test_the_offline_tools_name_the_setup_extras_they_need(tool, extras, monkeypatch, capsys):
    import importlib.util
    import sys

    monkeypatch.syspath_prepend(str(ROOT / "tools"))
    module = __import__(tool)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name.startswith(("jupyterlite", "sphinx"))
                        else real(name, *a))
    assert module.main(["--output", str(ROOT / "dist" / "never-written")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"bash scripts/setup.sh {extras}" in err, err
    assert f"bash scripts/setup.sh {extras}" in NOTES.read_text(encoding="utf-8")
    sys.modules.pop(tool, None)
