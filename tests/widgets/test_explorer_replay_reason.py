"""When a replayed schedule stops at an actor with nothing to do, the message
says why, read from the state (kernel/background.py idle_reason)."""

import re

from pagewalk_edu.kernel import run
from pagewalk_edu.kernel.background import idle_reason
from pagewalk_edu.kernel.sim import outcome
from pagewalk_edu.scenarios import named


def _plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_ticking_rcu_says_which_cpu_holds_the_grace_period_open():
    from pagewalk_edu.widgets import Explorer

    e = Explorer(scenario="none+munmap", controls=("holds",))
    e.do_bug()
    e.holds["rcu"].value = True
    first = _plain(e.message.value).split("This widget")[0]
    m = re.search(r"step (\d+) cannot: (.*)", first)
    assert m, first
    why = m.group(2)
    assert why.startswith("rcu_cb has nothing to do now: no RCU callback is ready: grace period 1 still waits for CPU0")
    assert "inside rcu_read_lock()" in why and "\n" not in why
    # the state the message describes: the walker's CPU is the holdout, in rcu_read_lock()
    st = e.trace.last
    assert st.rcu.active and 0 in st.rcu.holdouts and st.cpus[0].rcu
    assert outcome(e.trace.ctx, st, "rcu_cb") is None


def test_other_actors_with_nothing_to_do_say_why():
    t = run(named("none+munmap").scenario)
    ctx, last = t.ctx, t.last
    assert all(a.done for a in last.actors)
    assert idle_reason(ctx, last, ctx.actor_names[0]) == "it has finished"
    assert idle_reason(ctx, last, "rcu_cb") == "no RCU callback is queued"
    assert idle_reason(ctx, last, "rcu_gp") == "no grace period is in progress and no callback waits for one"
    irqs = [n for n in ctx.actor_names if n.startswith("irq")]
    assert irqs and idle_reason(ctx, last, irqs[0]) == f"no IPI is pending for CPU{irqs[0][3:]}"
