"""The properties are declared by name and checked by the generic search;
a verdict says which held."""

from pagewalk_edu.explore import verdict
from pagewalk_edu.explore.properties import PROPERTIES
from pagewalk_edu.kernel import make_scenario
from pagewalk_edu.scenarios import named


def test_properties_are_named_always_or_sometimes():
    assert [(p.name, p.expectation) for p in PROPERTIES] == [
        ("no use-after-free", "always"), ("no deadlock", "always"),
        ("no sleeping in atomic context", "always"), ("a stale read", "sometimes")]


def test_a_verdict_reports_each_property():
    unsafe = verdict(make_scenario("rcu", "munmap", config="PT_RECLAIM=n", fault="batch_alloc_fail"))
    assert unsafe.verdict == "unsafe" and unsafe.properties["no use-after-free"] is False
    dead = verdict(named("irqs_off+retract_page_tables").scenario)
    assert dead.properties["no deadlock"] is False and dead.properties["no use-after-free"] is True
    stale = verdict(make_scenario("vma_lock", "madv_dontneed"))
    assert stale.properties == {"no use-after-free": True, "no deadlock": True,
                                "no sleeping in atomic context": True, "a stale read": True}
    # mmap_read_lock() after local_irq_disable(): __might_sleep() in atomic context.
    sleepy = verdict(make_scenario("irqs_off,mmap_lock", "munmap_adjacent"))
    assert sleepy.properties["no sleeping in atomic context"] is False and sleepy.bugs
    assert verdict(make_scenario("vma_lock", "munmap_adjacent")).as_dict()["properties"]["a stale read"] is False
