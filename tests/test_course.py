"""The exercises of lesson 08: checking an answer, and hints that progress."""

import pytest

from pagewalk_edu import course


@pytest.fixture(autouse=True)
def fresh_hints():
    course.reset_hints()
    yield
    course.reset_hints()


def _hint(feedback) -> str:
    hints = [x for x in feedback.lines if x.startswith("Hint: ")]
    assert len(hints) == 1, feedback.lines
    return hints[0].removeprefix("Hint: ")


def test_each_further_wrong_answer_shows_the_next_hint_then_stays_on_the_last():
    hints = course.EXERCISES["no-stale"].hints
    assert len(hints) == 2
    shown = [_hint(course.check("no-stale", "rcu")) for _ in range(4)]
    assert shown == [hints[0], hints[1], hints[1], hints[1]]


def test_hints_count_per_exercise_and_reset():
    a, b = course.EXERCISES["atomic-walker"].hints, course.EXERCISES["no-stale"].hints
    assert _hint(course.check("atomic-walker", "rcu")) == a[0]
    assert _hint(course.check("no-stale", "irqs_off")) == b[0], "another exercise starts from its first hint"
    assert _hint(course.check("atomic-walker", "none")) == a[1]
    course.reset_hints("atomic-walker")
    assert _hint(course.check("atomic-walker", "rcu")) == a[0]
    assert _hint(course.check("no-stale", "rcu")) == b[1]


def test_a_right_answer_passes_without_a_hint():
    f = course.check("no-stale", "mmap_lock,vma_lock")
    assert f.passed and not any(x.startswith("Hint: ") for x in f.lines)


def test_a_sleeping_lock_taken_in_atomic_context_gets_the_order_hint_at_once():
    f = course.check("remote-walker", "rcu,vma_lock")
    assert not f.passed and "sleeping function called from invalid context" in f.lines[1]
    assert _hint(f) == course.ORDER_MATTERS and "Take the sleeping lock first" in _hint(f)
    assert course.check("remote-walker", "vma_lock,rcu").passed, "the same holds in the other order pass"
    assert "inside rcu_read_lock()" in course.check("remote-walker", "rcu,vma_lock").lines[1]
    assert "IRQs disabled" in course.check("remote-walker", "irqs_off,vma_lock").lines[1]


def test_a_different_mistake_starts_from_the_first_general_hint():
    hints = course.EXERCISES["no-stale"].hints
    assert _hint(course.check("no-stale", "rcu")) == hints[0]   # munmap on 6.18: safe_but_stale
    assert _hint(course.check("no-stale", "rcu")) == hints[1], "the same mistake again: the next hint"
    assert "munmap on 6.18: unsafe" in course.check("no-stale", "none").lines[1]
    course.reset_hints()
    assert _hint(course.check("no-stale", "rcu")) == hints[0]
    assert _hint(course.check("no-stale", "none")) == hints[0], "another mistake (unsafe, not stale) starts over"
    assert _hint(course.check("no-stale", "rcu")) == hints[1], "and the first mistake keeps its own count"


def test_the_answer_key_waits_for_an_answer_then_shows_what_check_says(capsys):
    course.answer_key("remote-walker", None)
    out = capsys.readouterr().out
    assert out.strip() == "Try the exercise first: the answer key appears once answer above is set."
    course.check("remote-walker", "rcu")
    before = dict(course._wrong)
    course.answer_key("remote-walker", "rcu")
    out = capsys.readouterr().out
    assert course._wrong == before, "the key does not move the learner's hints on"
    for holds in course.EXERCISES["remote-walker"].answers:
        line = next(x for x in out.splitlines() if x.startswith(f"{holds} "))
        assert ("passes all 28 cases" in line) == course.check("remote-walker", holds).passed, line
    assert course.ORDER_MATTERS in out
    with pytest.raises(ValueError, match="no exercise 'nope'"):
        course.answer_key("nope", "rcu")


def test_hint_by_number():
    hints = course.EXERCISES["atomic-walker"].hints
    assert course.hint("atomic-walker", 0) == hints[0]
    assert course.hint("atomic-walker", 99) == hints[-1]
    with pytest.raises(ValueError, match="no exercise 'nope'; accepted: remote-walker"):
        course.hint("nope")
    with pytest.raises(ValueError, match="n must be a hint number from 0, got -1"):
        course.hint("atomic-walker", -1)


# ---------------------------------------------------------------- resetting a lesson

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "03-munmap-free-pgtables.ipynb"


def _git(cwd, *args):
    subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def room(tmp_path):
    """A checkout with two lessons, committed clean; the learner then edits one."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(LESSON, folder / LESSON.name)
    shutil.copy(ROOT / "notebooks" / "00-start-here.ipynb", folder / "00-start-here.ipynb")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "clean")
    edited = (folder / LESSON.name).read_text(encoding="utf-8").replace("my_prediction = None", "my_prediction = 'unsafe'")
    (folder / LESSON.name).write_text(edited, encoding="utf-8")
    return folder


def test_reset_restores_the_clean_copy_and_keeps_the_learners(room):
    lines = course.reset_lesson("03", room)
    assert (room / LESSON.name).read_bytes() == LESSON.read_bytes()
    kept = list((room / course.KEPT).glob("03-munmap-free-pgtables-*.ipynb"))
    assert len(kept) == 1 and "my_prediction = 'unsafe'" in kept[0].read_text(encoding="utf-8")
    assert lines[0].startswith(f"{LESSON.name}: reset to the clean copy; the previous one is {course.KEPT}/")
    assert course.reset_lesson("all", room) == [f"00-start-here.ipynb: already clean", f"{LESSON.name}: already clean"]


def test_two_resets_in_one_second_keep_both_copies(room, monkeypatch):
    """A learner who changes the lesson again and resets twice within the same second
    (the kept copy's name has one-second resolution) loses neither copy."""
    monkeypatch.setattr(course.time, "strftime", lambda fmt, *a: "20261201-120000")
    first = (room / LESSON.name).read_text(encoding="utf-8")
    course.reset_lesson("03", room)
    (room / LESSON.name).write_text(first.replace("'unsafe'", "'deadlock'"), encoding="utf-8")
    lines = course.reset_lesson("03", room)
    assert lines[0].startswith(f"{LESSON.name}: reset to the clean copy"), lines
    kept = sorted((room / course.KEPT).glob("03-munmap-free-pgtables-*.ipynb"))
    texts = [k.read_text(encoding="utf-8") for k in kept]
    assert len(kept) == 2 and any("'unsafe'" in t for t in texts) and any("'deadlock'" in t for t in texts)


def test_reset_from_a_folder_of_clean_lessons_without_git(tmp_path):
    work, clean = tmp_path / "work", tmp_path / "clean"
    work.mkdir(), clean.mkdir()
    shutil.copy(LESSON, clean / LESSON.name)
    (work / LESSON.name).write_text("{}", encoding="utf-8")
    course.reset_lesson(LESSON.name, work, source=clean)
    assert (work / LESSON.name).read_bytes() == LESSON.read_bytes()
    with pytest.raises(ValueError, match=r"no clean copy of 03-munmap-free-pgtables.ipynb: .* is not a git checkout of the course; pass source="):
        (work / LESSON.name).write_text("{}", encoding="utf-8")
        course.reset_lesson("03", work)
    assert (work / LESSON.name).read_text(encoding="utf-8") == "{}", "a failed reset leaves the learner's copy alone"


def test_reset_command_errors_are_one_line_and_exit_2(room, capsys):
    assert course.main(["reset", "42", "--folder", str(room)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: no lesson '42' in notebooks/; accepted: all, 00, 03"
    assert course.main(["reset", "03", "--folder", str(room)]) == 0
    assert "reset to the clean copy" in capsys.readouterr().out
    p = subprocess.run([sys.executable, "-m", "pagewalk_edu.course", "reset", "00", "--folder", str(room)],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == 0 and p.stdout.strip() == "00-start-here.ipynb: already clean", p.stderr


# ---------------------------------------------------------------- scripts/lab.sh

from browser.lab import stop_process  # noqa: E402 - the JupyterLab helpers of tests/browser/lab.py

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lab_prints_the_address_of_lesson_00_and_switches_the_news_prompt_off(tmp_path):
    port = _free_port()
    env = {**os.environ, "PAGEWALK_SKIP_SETUP": "1", "JUPYTER_CONFIG_DIR": str(tmp_path / "c"),
           "JUPYTER_DATA_DIR": str(tmp_path / "d"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "r"), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "lab.sh"), "--no-browser", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        first = proc.stdout.readline().strip()
        m = re.fullmatch(rf"Lesson 00: http://localhost:{port}/lab/tree/00-start-here\.ipynb\?token=([0-9a-f]{{48}})", first)
        assert m, first
        token = m.group(1)
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/api/contents/00-start-here.ipynb?content=0&token={token}", timeout=2) as r:
                    assert r.status == 200
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not serve lesson 00 at the printed address")
        import json
        with urllib.request.urlopen(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification?token={token}", timeout=10) as r:
            schema = json.load(r)["schema"]["properties"]
        assert schema["fetchNews"]["default"] == "false", "the first-run news prompt asks only while fetchNews is 'none'"
        assert not (tmp_path / "c" / "lab").exists() or not any((tmp_path / "c" / "lab").rglob("*.jupyterlab-settings"))
    finally:
        stop_process(proc)


def test_an_exercise_without_an_answer_asks_for_one_and_gives_no_hint():
    f = course.check("remote-walker", None)
    assert not f.passed and f.lines == ["Write your answer first: set answer to what the walker holds, "
                                        "e.g. 'rcu' or 'vma_lock,irqs_off', then run the cell."]
    assert course.check("remote-walker", "none").lines[-1] == "Hint: " + course.EXERCISES["remote-walker"].hints[0]


def test_reference_answers_wait_until_every_exercise_was_tried(capsys):
    course.reference_answers("rcu", None, "vma_lock")
    assert capsys.readouterr().out.strip() == "Try each exercise first: the reference answers appear once every answer above is set."
    course.check("remote-walker", "rcu")
    before = dict(course._wrong)
    course.reference_answers("rcu", "irqs_off", "vma_lock")
    out = capsys.readouterr().out
    assert course._wrong == before, "the reference answers do not move the learner's hints on"
    blocks = re.split(r"^Exercise ", out, flags=re.M)[1:]
    assert [b.split("\n", 1)[0] for b in blocks] == [f"{n} ({k})" for n, k in enumerate(course.REFERENCE, 1)]
    for block, (key, holds), mine in zip(blocks, course.REFERENCE.items(), ("rcu", "irqs_off", "vma_lock")):
        text = " ".join(block.split())  # unwrapped
        assert f"Reference answer: {holds}, which passes all {len(course.EXERCISES[key].cases)} cases." in text
        passing, smallest = course.passing_answers(key)
        assert holds in passing and all(course.check(key, a).passed for a in passing)
        assert "includes " + " or ".join(smallest) in text, text
        mine_passes = course.check(key, mine).passed
        assert (f"Your answer, {mine!r}: passes too." in text) == mine_passes, text
    # the remote walker: why the reference adds rcu, and that vma_lock or irqs_off alone pass (the kernel's
    # pte_offset_map() takes rcu_read_lock() itself; the sync IPI reaches every CPU)
    assert course.passing_answers("remote-walker")[1] == ["mmap_lock", "vma_lock", "irqs_off"]
    assert "Your answer, 'rcu': 3 of 28 cases fail" in " ".join(blocks[0].split())
    course.reference_answers("rcu", "irqs_off", "nope")
    assert "Your answer, 'nope': unknown holder 'nope'" in " ".join(capsys.readouterr().out.split())


def test_a_lesson_quiz_asks_the_named_scenarios_in_order_with_nothing_preselected():
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.scenarios import named

    q = course.quiz("none+munmap", "vma_lock+munmap")
    assert [x.name for x in q.questions] == ["none+munmap", "vma_lock+munmap"]
    assert q.answer.value is None
    q.reveal_button.click()
    assert "Make a prediction first" in q.feedback.value and q.answered == 0
    q.answer.value = verdict(named("none+munmap").scenario).verdict
    q.reveal_button.click()
    assert "Right: the explorer says unsafe" in q.feedback.value and q.right == 1
    q.next_button.click()
    assert q.answer.value is None and "Question 2 of 2" in q.question.value
    with pytest.raises(ValueError, match="no named scenario 'nope'"):
        course.quiz("nope")
    with pytest.raises(ValueError, match="needs at least one named scenario"):
        course.quiz()
