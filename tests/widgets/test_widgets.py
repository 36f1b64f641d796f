"""The widgets, driven without a browser: set values, press buttons, read what they show."""

import html
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagewalk_edu.explore import verdict
from pagewalk_edu.kernel import make_scenario
from pagewalk_edu.widgets import Explorer, Matrix, Quiz


def test_show_me_the_bug_then_irqs_off_makes_the_ipi_wait():
    """The learner's story: rcu + munmap, PT_RECLAIM=n, batch_alloc_fail; Show me the bug; then irqs_off."""
    e = Explorer(("rcu",), "munmap", config={"PT_RECLAIM": False}, fault="batch_alloc_fail")
    e.bug_button.click()
    assert e.state().uaf, "the counterexample ends in the use-after-free"
    assert "tlb_remove_table_smp_sync" in e.event_log.value and "rcu_read_lock() does not block IPIs" in e.event_log.value
    assert "USE-AFTER-FREE" in html.unescape(e.tree.value)
    assert e.timeline.value.startswith("<svg") and 'role="img"' in e.timeline.value
    assert "<desc" in e.timeline.value and "Timeline up to step" in e.timeline.value, "the timeline carries its alt text"
    bug_schedule = list(e.trace.actions)
    e.holds["irqs_off"].value = True
    # The same schedule replays under the new setting until the IPI has to wait.
    shown = html.unescape(e.message.value)
    assert "step 16 cannot: irq0 is blocked" in shown and "CPU0 has IRQs disabled" in shown, shown
    assert e.index == 15 and e.trace.actions == bug_schedule[:15] and not e.state().uaf
    assert "munmap is blocked" in e.event_log.value and "native_flush_tlb_multi" in e.event_log.value
    seen_wait = False
    for _ in range(60):
        e.step_button.click()
        seen_wait |= "is blocked" in e.event_log.value and "IRQs disabled" in e.event_log.value
    assert seen_wait, "the log shows munmap's IPI waiting for CPU0 to enable IRQs"
    assert not any(s.uaf for s in e.trace.states)


def test_a_new_action_starts_afresh_and_other_settings_keep_what_applies():
    e = Explorer(("vma_lock",), "munmap", render=False)
    for _ in range(6):
        e.step_button.click()
    e.back_button.click()
    kept = e.trace.actions[:5]
    e.cfg.levels.value = 5
    assert e.index == 5 and e.trace.actions == kept, "the steps the learner was looking at replay"
    assert "all 5 steps replay" in e.message.value
    e.action.value = "mremap"
    assert e.index == 0 and len(e.trace.states) == 1, "another action is another story: it starts at step 0"


def test_step_back_slider_and_reset():
    e = Explorer(("vma_lock",), "munmap", render=False)
    for _ in range(5):
        e.step_button.click()
    assert e.index == 5 and e.slider.value == 5
    e.back_button.click()
    assert e.index == 4
    assert e.event_log.value.count('class="pw-current"') == 1
    e.slider.value = 2
    assert e.index == 2
    e.step_button.click()  # stepping after going back drops the old future
    assert len(e.trace.states) == 4 and e.index == 3
    e.reset_button.click()
    assert e.index == 0 and len(e.trace.states) == 1


def test_pick_which_cpu_moves_next():
    e = Explorer(("vma_lock",), "munmap", render=False)
    e.step_button.click()  # walker takes the VMA lock
    assert "munmap" in e.next_actor.options
    e.next_actor.value = "munmap"
    e.step_button.click()  # mmap_write_lock_killable(); munmap is now blocked in vma_start_write()
    assert "munmap" not in e.next_actor.options, "a blocked actor cannot be picked"
    assert "vma_start_write" in e.event_log.value and "is blocked" in e.event_log.value


def test_impossible_combination_shows_a_message_and_keeps_working():
    e = Explorer((), "munmap", render=False)
    e.step_button.click()
    e.cfg.pt_reclaim.value = True
    e.cfg.rcu_free.value = False  # PT_RECLAIM=y needs MMU_GATHER_RCU_TABLE_FREE=y
    assert "PT_RECLAIM=y needs" in e.message.value
    assert e.cfg.rcu_free.value is False and e.holds["rcu"].value is False, "the learner's settings stay as set"
    e.step_button.click()  # the old trace still steps
    e.cfg.pt_reclaim.value = False
    assert "PT_RECLAIM=y needs" not in e.message.value


def test_kernel_profile_sets_defaults():
    e = Explorer((), "munmap", render=False)
    e.cfg.kernel.value = "7.1"
    assert e.cfg.fallback.value == "synchronize_rcu"
    e.cfg.kernel.value = "6.18"
    assert e.cfg.fallback.value == "ipi"


def test_save_never_overwrites_without_asking_and_load_restores(tmp_path):
    path = tmp_path / "s.json"
    e = Explorer(("rcu", "irqs_off"), "retract_page_tables", walker="remote", render=False)
    for _ in range(3):
        e.step_button.click()
    e.path.value = str(path)
    e.save_button.click()
    assert path.exists()
    saved = path.read_text()
    e.holds["rcu"].value = False
    e.save_button.click()
    assert "exists" in e.message.value and path.read_text() == saved
    f = Explorer(render=False)
    f.path.value = str(path)
    f.load_button.click()
    assert f.holds["rcu"].value and f.holds["irqs_off"].value and f.action.value == "retract_page_tables"
    assert f.cfg.walker.value == "remote" and f.index == 3
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    f.path.value = str(bad)
    f.load_button.click()
    assert "truncated" in f.message.value and f.index == 3


def test_quiz_is_seeded_and_keeps_score():
    a, b = Quiz(seed=7), Quiz(seed=7)
    assert [q.name for q in a.questions] == [q.name for q in b.questions]
    q = a.current
    truth = verdict(q.scenario).verdict
    a.answer.value = truth
    a.reveal_button.click()
    assert "Right" in a.feedback.value and "1 / 1" in a.score.value
    a.next_button.click()
    a.answer.value = next(v for v in ("safe", "unsafe", "deadlock", "safe_but_stale") if v != verdict(a.current.scenario).verdict)
    a.reveal_button.click()
    assert "Not quite" in a.feedback.value and "1 / 2" in a.score.value


def test_matrix_click_opens_the_cell_in_an_explorer():
    m = Matrix(render=False)
    m.cells[((), "munmap")].click()
    assert m.explorer is not None and m.explorer.action.value == "munmap"
    assert not any(c.value for c in m.explorer.holds.values())
    assert m.cells[((), "munmap")].description == "UNSAFE"
    m.cfg.walker.value = "remote"
    assert "remote walker" in m.message.value


CONFIG_PRESSES = ("kernel", "walker", "reclaim", "rcufree", "flush", "levels", "fault")


def press_config(cfg, what: str, n: int) -> None:
    """One change to a ConfigControls, as a learner makes it (shared by the fuzzers)."""
    if what == "kernel":
        cfg.kernel.value = ["6.18", "7.1"][n % 2]
    elif what == "walker":
        cfg.walker.value = ["local", "remote"][n % 2]
    elif what == "reclaim":
        cfg.pt_reclaim.value = not cfg.pt_reclaim.value
    elif what == "rcufree":
        cfg.rcu_free.value = not cfg.rcu_free.value
    elif what == "flush":
        cfg.flush.value = ["ipi", "broadcast"][n % 2]
    elif what == "levels":
        cfg.levels.value = [4, 5][n % 2]
    elif what == "fault":
        cfg.fault.value = cfg.fault.options[n % len(cfg.fault.options)]


ACTIONS = ["step", "back", "reset", "bug", "slider", "hold", "action", "kernel", "reclaim", "rcufree", "flush", "levels", "fault", "walker", "next"]


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 1000)), min_size=5, max_size=40))
def test_fuzz_explorer_controls(presses):
    e = Explorer(render=False)
    for what, n in presses:
        if what == "step":
            e.step_button.click()
        elif what == "back":
            e.back_button.click()
        elif what == "reset":
            e.reset_button.click()
        elif what == "bug":
            e.bug_button.click()
        elif what == "slider":
            e.slider.value = n % (e.slider.max + 1)
        elif what == "hold":
            box = list(e.holds.values())[n % 4]
            box.value = not box.value
        elif what == "action":
            e.action.value = e.action.options[n % len(e.action.options)]
        elif what in CONFIG_PRESSES:
            press_config(e.cfg, what, n)
        elif what == "next":
            e.next_actor.value = e.next_actor.options[n % len(e.next_actor.options)]
        # the display matches the simulator's state
        assert 0 <= e.index < len(e.trace.states)
        assert e.slider.value == e.index and e.slider.max == len(e.trace.states) - 1
        assert e.event_log.value.count('class="pw-current"') == (1 if e.index > 0 else 0)
        assert "Traceback" not in e.message.value


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(["answer", "reveal", "next", "mech"]), max_size=30), st.integers(0, 100))
def test_fuzz_quiz(presses, seed):
    q = Quiz(seed=seed, n=4)
    rng = random.Random(seed)
    for p in presses:
        if p == "answer":
            q.answer.value = rng.choice(q.answer.options)
        elif p == "mech":
            q.mechanism.value = rng.choice(q.mechanism.options)
        elif p == "reveal":
            q.reveal_button.click()
        else:
            q.next_button.click()
        assert q.right <= q.answered <= len(q.questions)


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["cell", "kernel", "walker", "reclaim", "rcufree", "fault", "levels", "walk"]),
                          st.integers(0, 1000)), min_size=3, max_size=8))
def test_fuzz_matrix_widget(presses):
    m = Matrix(render=False)
    for what, n in presses:
        impossible = "#9E3A00" in m.message.value  # an error shown: the settings cannot be run
        if what == "cell":
            key = list(m.cells)[n % len(m.cells)]
            m.cells[key].click()
            if not impossible:
                assert m.explorer.action.value == key[1]
                assert tuple(h for h, box in m.explorer.holds.items() if box.value) == key[0]
                assert m.explorer.scenario().effective_walk == m.walk.value[0]
        elif what == "walk":
            m.walk.value = m.walk.options[n % len(m.walk.options)][1]
        else:
            press_config(m.cfg, what, n)
        # the cells shown are the explorer's verdicts for the settings shown (unless they are impossible)
        if "#9E3A00" not in m.message.value:
            cfg = m.cfg.config()
            assert m.matrix.config == cfg and m.matrix.walker == m.cfg.walker.value
            assert (m.matrix.walk, m.matrix.patch) == m.walk.value
        else:
            assert all(b.disabled for b in m.cells.values())
