"""The widgets' constructor arguments: one-line ValueError/TypeError naming what
is accepted, never a traitlets TraitError or a random.sample message."""

import pytest

from pagewalk_edu.widgets import Explorer, Matrix, Quiz


@pytest.mark.parametrize("make,error,needle", [
    (lambda: Explorer(action="fork", render=False), ValueError, "unknown action 'fork'; accepted: munmap, munmap_adjacent"),
    (lambda: Explorer(action=3, render=False), TypeError, "action must be a string, one of munmap"),
    (lambda: Explorer(holds="rcu,bogus", render=False), ValueError, "unknown holder 'bogus'"),
    (lambda: Explorer(holds=5, render=False), TypeError, "holds must be a string such as 'vma_lock,rcu' or a list of names"),
    (lambda: Explorer(kernel="5.4", render=False), ValueError, "unknown kernel profile '5.4'; accepted: 6.18, 7.1"),
    (lambda: Explorer(kernel=6.18, render=False), TypeError, "kernel profile must be a string"),
    (lambda: Explorer(walker="far", render=False), ValueError, "unknown walker 'far'; accepted: local, remote"),
    (lambda: Explorer(fault="oom", render=False), ValueError, "unknown fault 'oom'; accepted: none, batch_alloc_fail"),
    (lambda: Explorer(config=["PT_RECLAIM"], render=False), TypeError, "config must be a dict"),
    (lambda: Explorer(config={"FOO": True}, render=False), ValueError, "unknown config key 'FOO'"),
    (lambda: Quiz(n=-1), ValueError, "n must be at least 1"),
    (lambda: Quiz(n=0), ValueError, "n must be at least 1"),
    (lambda: Quiz(n="3"), TypeError, "n must be a positive integer"),
    (lambda: Quiz(seed="x"), TypeError, "seed must be an integer"),
    (lambda: Quiz(groups=["nope"]), ValueError, "unknown group 'nope'; accepted: basics"),
    (lambda: Quiz(groups=[]), ValueError, "groups is empty"),
    (lambda: Quiz(groups=5), TypeError, "groups must be a list of group names"),
    (lambda: Matrix(kernel="5.4", render=False), ValueError, "unknown kernel profile '5.4'"),
    (lambda: Matrix(walker="far", render=False), ValueError, "unknown walker 'far'"),
])
def test_bad_constructor_arguments_are_one_line(make, error, needle):
    with pytest.raises(error) as info:
        make()
    assert type(info.value) in (ValueError, TypeError)
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_explorer_takes_holds_and_config_as_make_scenario_does():
    e = Explorer("rcu,irqs_off", "munmap", config="PT_RECLAIM=n", fault="none", render=False)
    s = e.scenario()
    assert set(s.holds) == {"rcu", "irqs_off"} and s.config.PT_RECLAIM is False and s.fault is None
    assert Explorer(["vma_lock"], render=False).scenario().holds == ("vma_lock",)


def test_quiz_takes_a_group_name_and_clips_n_to_the_pool():
    q = Quiz(seed=1, n=1000, groups="seed")
    assert q.questions and all(x.group == "seed" for x in q.questions)
    assert len(Quiz(seed=1, n=2).questions) == 2
