"""An explanation is assembled from the records the steps emit (Blocked's
fields, FREED, table states), never from the sentences meant for people:
rewording every step's sentence changes no `why`."""

import pytest

from pagewalk_edu.explore import search, verdict
from pagewalk_edu.kernel import make_scenario
from pagewalk_edu.kernel.steps import FREED, Blocked, Moved
from pagewalk_edu.scenarios import named

#: One scenario per kind of explanation: exclusion by the VMA lock and by the
#: mmap lock, a grace period held open, an IPI held off, a use-after-free after
#: an IPI or a TLB flush, a stale read, and a deadlock.
CASES = [
    ("vma_lock", "munmap", {}), ("mmap_lock", "khugepaged_collapse", {}), ("rcu", "munmap", {}),
    ("irqs_off", "munmap", {"config": "PT_RECLAIM=n", "fault": "batch_alloc_fail"}),
    ("rcu", "munmap", {"config": "PT_RECLAIM=n", "fault": "batch_alloc_fail"}),
    ("none", "munmap_partial", {"config": "MMU_GATHER_RCU_TABLE_FREE=n"}),
    ("vma_lock", "madv_dontneed", {}), ("vma_lock,irqs_off", "retract_page_tables", {}),
    ("irqs_off", "madv_dontneed", {"fault": "gather_batch_full"}),
]


def _reworded(outcomes):
    """The same steps with every sentence replaced by nonsense."""
    def wrapper(ctx, state):
        out = []
        for name, o in outcomes(ctx, state):
            if isinstance(o, Blocked):
                o = o._replace(reason="zzz (reworded)")
            else:
                o = Moved(o.state, o.event.__class__(o.event.actor, o.event.cpu, o.event.function, "zzz (reworded)",
                                                     o.event.source, o.event.changes))
            out.append((name, o))
        return out
    return wrapper


@pytest.mark.parametrize("holds,action,kw", CASES, ids=[f"{h}+{a}" for h, a, _ in CASES])
def test_rewording_a_step_sentence_cannot_change_an_explanation(monkeypatch, holds, action, kw):
    s = make_scenario(holds, action, **kw)
    before = verdict(s)
    monkeypatch.setattr(search, "outcomes", _reworded(search.outcomes))
    after = verdict(s)
    assert after.why == before.why
    assert not any("zzz" in w for w in after.why)
    assert (after.verdict, after.states) == (before.verdict, before.states)


def test_the_deadlock_explanation_names_who_waits_for_whom():
    v = verdict(named("irqs_off+retract_page_tables").scenario)
    assert v.verdict == "deadlock"
    line = v.why[-1]
    assert line.startswith("Deadlock: walker spins in spin_lock() on the ptl of PTE table #")
    assert "khugepaged waits in native_flush_tlb_multi() for CPU0 to take the flush_tlb_func IPI (CPU0 has IRQs disabled)" in line


def test_every_way_of_freeing_is_declared_with_its_wait():
    assert {f.wait for f in FREED.values()} == {"gp", "ipi_all", "tlb_flush", ""}
    assert all(label == f.label for label, f in FREED.items())
