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
