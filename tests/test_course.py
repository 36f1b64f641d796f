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


def test_hint_by_number():
    hints = course.EXERCISES["atomic-walker"].hints
    assert course.hint("atomic-walker", 0) == hints[0]
    assert course.hint("atomic-walker", 99) == hints[-1]
    with pytest.raises(ValueError, match="no exercise 'nope'; accepted: remote-walker"):
        course.hint("nope")
    with pytest.raises(ValueError, match="n must be a hint number from 0, got -1"):
        course.hint("atomic-walker", -1)
