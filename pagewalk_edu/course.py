"""Exercises with automatic checking and hints (lesson 08).  Each exercise asks
for a set of protections; the check runs the explorer on every case the
exercise names and answers with what failed, the mechanism, and a hint (the
next one at each further wrong answer)."""

from __future__ import annotations

from dataclasses import dataclass

from .explore.verdict import verdict
from .kernel.scenario import ACTIONS, make_scenario, parse_holds


@dataclass(frozen=True)
class Exercise:
    key: str
    prompt: str
    walker: str
    cases: tuple[tuple[str, str, str | None, str | None], ...]  # (action, kernel, config, fault)
    accept: tuple[str, ...]  # verdicts that count as a pass
    forbid: tuple[str, ...] = ()  # holders the exercise rules out
    hints: tuple[str, ...] = ()


EXERCISES = {
    "remote-walker": Exercise(
        "remote-walker",
        "A new walker reads another process's memory, like __access_remote_vm(): it runs on a CPU that is not in the "
        "target mm's cpumask. Choose what it holds so that no interleaving gives a use-after-free or a deadlock, "
        "against every action, on both kernels, with the default config and with PT_RECLAIM=n plus a failed "
        "batch allocation.",
        "remote",
        tuple((a, k, c, f) for a in ACTIONS for k in ("6.18", "7.1") for c, f in ((None, None), ("PT_RECLAIM=n", "batch_alloc_fail"))),
        ("safe", "safe_but_stale"),
        hints=("Which actions free tables that the walk uses? munmap, munmap_partial and mremap write-lock the VMA first.",
               "retract_page_tables() takes no VMA lock: its pte_free_defer() waits for a grace period.",
               "On 6.18 without PT_RECLAIM a failed batch allocation frees after an IPI: rcu_read_lock() does not stop it."),
    ),
    "atomic-walker": Exercise(
        "atomic-walker",
        "A local walker runs in atomic context: it may not sleep, so mmap_lock and vma_lock are out. Make it safe "
        "(no use-after-free) against munmap and mremap on v6.18 with PT_RECLAIM=n and a failed batch allocation.",
        "local",
        tuple((a, "6.18", "PT_RECLAIM=n", "batch_alloc_fail") for a in ("munmap", "munmap_partial", "mremap")),
        ("safe", "safe_but_stale"),
        forbid=("mmap_lock", "vma_lock"),
        hints=("tlb_remove_table_sync_one() sends an IPI and frees as soon as it is answered.",
               "What keeps a CPU from answering an IPI?"),
    ),
    "no-stale": Exercise(
        "no-stale",
        "A local walker must never even see an unlinked table while munmap() and mremap() of its own VMA run. "
        "What must it hold?",
        "local",
        tuple((a, "6.18", None, None) for a in ("munmap", "munmap_partial", "mremap")),
        ("safe",),
        hints=("RCU and IRQs off keep a table from being freed, not from being unlinked.",
               "munmap() write-locks the VMA and takes mmap_lock for write before unlinking anything."),
    ),
}


@dataclass
class Feedback:
    passed: bool
    lines: list[str]

    def __str__(self) -> str:
        return "\n".join(self.lines)


def check(key: str, holds) -> Feedback:
    """Check a proposed protection set for exercise `key`.  A wrong answer comes
    with a hint: the first, then the next at each further wrong answer to the
    same exercise, staying on the last (reset_hints() starts over)."""
    if key not in EXERCISES:
        raise ValueError(f"no exercise {key!r}; accepted: {', '.join(EXERCISES)}")
    ex = EXERCISES[key]
    chosen = parse_holds(holds)
    bad = [h for h in chosen if h in ex.forbid]
    if bad:
        return Feedback(False, [f"Not allowed here: {', '.join(bad)} (the exercise rules out {', '.join(ex.forbid)})."])
    failures = []
    for action, kernel, config, fault in ex.cases:
        v = verdict(make_scenario(chosen or "none", action, kernel, ex.walker, config, fault))
        if v.verdict not in ex.accept or v.bugs:
            where = f"{action} on {kernel}" + (f" with {config}" if config else "") + (f" and {fault}" if fault else "")
            why = v.why[0] if v.why else ""
            failures.append(f"{where}: {v.verdict}{' and ' + v.bugs[0] if v.bugs else ''}. {why}")
    if not failures:
        return Feedback(True, [f"Passed: {'+'.join(chosen) or 'none'} works for all {len(ex.cases)} cases."])
    lines = [f"{len(failures)} of {len(ex.cases)} cases fail, for example:"] + [f"  - {f}" for f in failures[:3]]
    if ex.hints:  # each further wrong answer to the same exercise shows the next hint, then stays on the last
        n = _wrong.get(key, 0)
        _wrong[key] = n + 1
        lines.append("Hint: " + hint(key, n))
    return Feedback(False, lines)


#: How many wrong answers each exercise has had (this session): which hint comes next.
_wrong: dict[str, int] = {}


def reset_hints(key: str | None = None) -> None:
    """Start the hints of exercise `key` (or of every exercise) from the first again."""
    if key is None:
        _wrong.clear()
    else:
        _wrong.pop(key, None)


def hint(key: str, n: int = 0) -> str:
    """Hint `n` (from 0) of exercise `key`; past the last, the last."""
    if key not in EXERCISES:
        raise ValueError(f"no exercise {key!r}; accepted: {', '.join(EXERCISES)}")
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"n must be a hint number (an integer from 0), got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be a hint number from 0, got {n}")
    ex = EXERCISES[key]
    return ex.hints[min(n, len(ex.hints) - 1)] if ex.hints else "No hint for this one."
