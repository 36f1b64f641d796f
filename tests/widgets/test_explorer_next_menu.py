"""The Explorer's next menu lists only the actors that can move. When the actor
the learner picked blocks, it leaves the menu and the menu falls back to auto:
the message area says so, and which CPU the next Step moves instead, so that
Step never moves another CPU unannounced (lesson 02: "set it to munmap to see
where munmap() has to wait")."""

import html
import re

from pagewalk_edu.kernel.sim import blocked
from pagewalk_edu.widgets import Explorer


def _said(e: Explorer) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", e.message.value))
    return " ".join(text.split())


def _step(e: Explorer, pick: str = "auto") -> None:
    e.next_actor.value = pick
    e.do_step()


def test_a_picked_actor_that_blocks_is_announced_with_the_actor_step_runs_instead():
    e = Explorer(scenario="vma_lock+munmap", controls=("holds",), render=False)
    _step(e, "walker")
    _step(e, "walker")  # the VMA read lock is taken and the PGD entry read
    _step(e, "munmap")  # mmap_write_lock_killable(); next it must write-lock VMA A
    assert "munmap" not in e.next_actor.options and e.next_actor.value == "auto"
    reason = blocked(e.trace.ctx, e.trace.last)["munmap"].reason
    said = _said(e)
    assert f"CPU1 munmap is waiting ({reason})" in said and "vma_start_write()" in reason, said
    assert "not in the next menu; Step runs CPU0 walker." in said, said
    # the next Step (auto) moves the walker, as announced, and the note stays while munmap waits
    _step(e)
    assert e.trace.actions[-1] == "walker"
    assert "Step runs CPU0 walker" in _said(e)


def test_the_note_ends_when_the_picked_actor_can_move_again():
    e = Explorer(scenario="vma_lock+munmap", controls=("holds",), render=False)
    _step(e, "walker")
    _step(e, "munmap")
    while "munmap" not in e.next_actor.options:
        assert "CPU1 munmap is waiting" in _said(e)
        _step(e)
    assert e.trace.actions[-1] == "walker" and e.trace.last.actor("walker").pc == "done"
    assert _said(e).startswith("CPU1 munmap can move again: it is back in the next menu."), _said(e)
    _step(e)
    assert "munmap" not in _said(e), "once it moves again there is nothing left to announce"


def test_no_note_when_the_picked_actor_can_still_move_or_auto_was_never_left():
    e = Explorer(scenario="vma_lock+munmap", controls=("holds",), render=False)
    _step(e, "walker")
    assert "waiting" not in _said(e) and "next menu" not in _said(e)
    for _ in range(3):
        _step(e)
    assert "next menu" not in _said(e), "auto moving a CPU that was never picked needs no note"


def test_a_new_trace_forgets_the_pick():
    e = Explorer(scenario="vma_lock+munmap", controls=("holds",), render=False)
    _step(e, "walker")
    _step(e, "munmap")
    assert "CPU1 munmap is waiting" in _said(e)
    e.do_bug()  # vma_lock+munmap is safe: no counterexample, the trace stays
    e.do_reset()
    _step(e)
    assert "munmap" not in _said(e), "the pick belonged to the trace before Reset"
