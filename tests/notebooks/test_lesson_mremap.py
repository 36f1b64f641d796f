"""Lesson 07's claims about its trace and its Explorer, pinned on the scenario it
quotes (none+mremap): the trace shown is the explorer's shortest counterexample,
one step shorter than the scenario run to its end, and ticking vma_lock or rcu
under it stops the replay at the step the lesson names, for the reason it gives."""

import html
import re

from lessons import ROOT, read

LESSON = ROOT / "notebooks" / "07-mremap.ipynb"


def _prose() -> str:
    return "\n".join(c.source for c in read(LESSON).cells if c.cell_type == "markdown")


def _plain(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", value))


def test_the_trace_shown_is_the_shortest_counterexample_and_stops_at_the_bug():
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.kernel import run
    from pagewalk_edu.scenarios import named

    code = "\n".join(c.source for c in read(LESSON).cells if c.cell_type == "code")
    assert 'run(s, bug, then_default=False)' in code and 'bug = verdict(s).schedule' in code
    s = named("none+mremap").scenario
    v = verdict(s)
    whole = run(s)
    assert v.verdict == "unsafe" and len(v.schedule) == len(whole.events) - 1
    assert whole.events[-2].function == "mmap_write_unlock", "the step the shortest counterexample leaves out"
    assert run(s, v.schedule, then_default=False).last.uaf is not None
    assert "mmap_write_unlock()`, would come\nafter it" in _prose()


def test_ticking_a_protection_stops_the_replay_where_the_lesson_says():
    from pagewalk_edu.widgets import Explorer

    prose = _prose()
    for hold, needle in (("vma_lock", "mremap is blocked: mremap waits in vma_start_write()"),
                         ("rcu", "rcu_cb has nothing to do now")):
        m = re.search(rf"- with \*\*{hold}\*\*, step (\d+)", prose)
        assert m, f"lesson 07 names the step where {hold} stops the replay"
        e = Explorer(scenario="none+mremap", controls=("holds",))
        e.do_bug()
        e.holds[hold].value = True
        msg = _plain(e.message.value)
        assert f"step {m.group(1)} cannot: " in msg and needle in msg, (hold, msg[:300])
    # with rcu the step before is a quiescent state of CPU1 only: the grace period is still open
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.kernel import run
    from pagewalk_edu.scenarios import named

    n = int(re.search(r"- with \*\*rcu\*\*, step (\d+)", prose).group(1))
    sched = verdict(named("none+mremap").scenario).schedule
    t = run(named("rcu+mremap").scenario, sched[: n - 1], then_default=False)
    assert t.events[-1].text == "CPU1 passes a quiescent state", t.events[-1].text
    assert f"Step {n - 1} records only CPU1's" in prose


def _before_quiz():
    cells = read(LESSON).cells
    at = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "quiz(" in c.source)
    return cells[:at], cells[at]


def test_take_rmap_locks_takes_both_locks_when_a_file_vma_has_an_anon_vma():
    # mm/mremap.c take_rmap_locks(): i_mmap_lock_write() if vma->vm_file, then anon_vma_lock_write() if vma->anon_vma
    prose = _prose()
    assert "the file's `i_mmap_rwsem` ([i_mmap](glossary.ipynb#cell-id=i_mmap)) if it is a" in prose
    assert "[`anon_vma` lock](glossary.ipynb#cell-id=rmap-locks) if the VMA has an `anon_vma`" in prose
    assert "and then both are taken" in prose


def test_the_prediction_is_not_given_away_and_the_freed_table_is_named_after_the_reveal():
    from lessons import is_reveal

    cells = read(LESSON).cells
    reveal = next(i for i, c in enumerate(cells) if is_reveal(c))
    before = "\n".join(c.source for c in cells[:reveal] if c.cell_type == "markdown")
    after = "\n".join(c.source for c in cells[reveal:] if c.cell_type == "markdown")
    assert "What gets freed is the old PMD table" not in before and "What gets freed is the old PMD table" in after


def test_the_quiz_asks_what_the_text_before_it_does_not_answer():
    import ast

    from pagewalk_edu.explore import verdict
    from pagewalk_edu.scenarios import named

    before, quiz_cell = _before_quiz()
    names = ast.literal_eval("[" + quiz_cell.source.split("quiz(", 1)[1].rsplit(")", 1)[0] + "]")
    prose = "\n".join(c.source for c in before if c.cell_type == "markdown")
    code = "\n".join(c.source for c in before if c.cell_type == "code")
    for name in names:
        assert f"`{name}`: **" not in prose, f"the text before the quiz gives {name}'s verdict"
        assert name not in code, f"a cell before the quiz prints {name}'s verdict"
    got = {n: verdict(named(n).scenario).verdict for n in names}
    assert got == {"rcu+mremap": "safe_but_stale", "seed-review/6.18/PT_RECLAIM=n+batch_alloc_fail/mremap": "safe",
                   "seed-review/7.1/default/mremap": "safe"}, got
    # what the text before the quiz says of the two seed-review walkers
    old, new = named(names[1]).scenario, named(names[2]).scenario
    assert set(old.holds) == set(new.holds) == {"vma_lock", "rcu"}
    assert old.config.PT_RECLAIM is False and old.fault == "batch_alloc_fail" and old.config.kernel == "6.18"
    assert new.config.kernel == "7.1"
    assert "on v6.18 with lesson 06's [failed batch allocation](glossary.ipynb#cell-id=table-free-fallback) without\n[PT_RECLAIM](glossary.ipynb#cell-id=pt_reclaim), and on v7.1" in prose


def test_the_rcu_walker_ends_or_retries_as_the_lesson_says_and_the_picture_names_the_old_vma():
    from pagewalk_edu.explore import verdict
    from pagewalk_edu.kernel import run
    from pagewalk_edu.scenarios import named
    from pagewalk_edu.viz.model.tree import tree_model
    from pagewalk_edu.viz.svg.tree import notes

    prose = _prose()
    assert "the emptied entry ends the walk with NULL, or, if the walker\n  was already at the PTE level, `pmd_same()`" in prose
    stale = next(w for w in verdict(named("rcu+mremap").scenario).why if w.startswith("CPU0 can read"))
    assert "folio_walk_start() returns NULL" in stale and "pmd_same() finds that the PMD entry changed" in stale
    s = named("none+mremap").scenario
    moved = run(s, verdict(s).schedule, then_default=False)
    at = next(i for i, e in enumerate(moved.events, 1) if e.function == "move_normal_pmd")
    lines = notes(tree_model(moved.ctx, moved.states[at]))
    assert any(x.startswith("VMAs under the drawn tables but off this band: A (") and "under PMD #2" in x for x in lines)
    assert "VMAs outside the drawn tables: exe, stack" in lines
    assert "the line under it names the old A, which\nlies under the old PMD table #2" in prose
