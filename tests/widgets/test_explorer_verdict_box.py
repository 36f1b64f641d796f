"""The Explorer's verdict box follows the settings: after Show me the bug, a
changed setting shows the verdict of the new settings, never a blank box or
the old settings' verdict (lesson 06's story: tick irqs_off)."""

import html
import re

from pagewalk_edu.explore import verdict
from pagewalk_edu.scenarios import named
from pagewalk_edu.widgets import Explorer


def _box(e) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", e.verdict_box.value)).strip()


def test_ticking_irqs_off_after_show_me_the_bug_shows_the_new_verdict():
    e = Explorer(scenario="rcu+munmap/PT_RECLAIM=n/batch_alloc_fail", controls=("holds", "kernel", "config", "fault"),
                 render=False)
    assert _box(e) == ""  # nothing revealed before the learner asks
    e.bug_button.click()
    assert re.match(r"Verdict:\s+unsafe", _box(e))
    e.holds["irqs_off"].value = True
    now = verdict(named("irqs_off+munmap/PT_RECLAIM=n/batch_alloc_fail").scenario)  # rcu + irqs_off is no named one
    box = _box(e)
    assert re.match(r"Verdict:\s+safe_but_stale", box), box
    assert now.verdict == "safe_but_stale"
    assert "cannot" in html.unescape(e.message.value)  # the replay still says where the schedule stops
    e.holds["irqs_off"].value = False
    assert re.match(r"Verdict:\s+unsafe", _box(e))


def test_a_setting_changed_before_any_verdict_reveals_none():
    e = Explorer(scenario="rcu+munmap/PT_RECLAIM=n/batch_alloc_fail", controls=("holds",), render=False)
    e.holds["irqs_off"].value = True
    assert _box(e) == ""
