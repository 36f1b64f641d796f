"""Verdicts: is there ANY interleaving where the walker touches a freed page
table?  safe / safe_but_stale / unsafe / deadlock, with the number of states
explored, a shortest counterexample, and `why`: one sentence per freeing path
naming the kernel mechanism that kept it away from the walker, or failed to.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..kernel.pgtable import walk_path
from ..kernel.scenario import Scenario
from ..kernel.sim import Ctx, initial, make_ctx
from ..kernel.roles import RCU_GP, WALKER
from ..kernel.state import State
from ..kernel.steps import FREED, Blocked, Event
from .properties import NO_DEADLOCK, NO_FOREIGN_TABLE, NO_USE_AFTER_FREE, STALE_READ, check, stops
from .search import Graph, bfs
from .stale import before_free, held_open, stale_line, stale_reads as _stale_reads

VERDICTS = ("safe", "safe_but_stale", "unsafe", "deadlock")



@dataclass
class Step:
    step: int
    cpu: int | None
    actor: str
    function: str
    text: str

    def as_dict(self) -> dict:
        return {"step": self.step, "cpu": self.cpu, "actor": self.actor, "function": self.function, "text": self.text}


@dataclass
class Verdict:
    scenario: Scenario
    verdict: str
    states: int
    why: list[str]
    counterexample: list[Step] | None
    schedule: list[str] | None  # actor names, replayable with kernel.run(..., schedule)
    bugs: list[str] = field(default_factory=list)
    also: list[str] = field(default_factory=list)  # other outcomes reachable (e.g. deadlock besides unsafe)
    properties: dict[str, bool] = field(default_factory=dict)  # each named property (properties.py): holds?
    warnings: list[str] = field(default_factory=list)  # failed assertions (walkers/assertions.py)
    violation: str | None = None  # for unsafe: "use-after-free" or "foreign table"

    @property
    def assumed(self) -> str:
        return self.scenario.describe()

    def as_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "states": self.states,
            "why": list(self.why),
            "counterexample": [s.as_dict() for s in self.counterexample] if self.counterexample else None,
            "schedule": self.schedule,
            "bugs": list(self.bugs),
            "warnings": list(self.warnings),
            "violation": self.violation,
            "also_reachable": list(self.also),
            "properties": dict(self.properties),
            "scenario": self.scenario.as_dict(),
            "assumed": self.assumed,
            "what_if": list(self.scenario.config.what_ifs()),
        }


def _steps(path: list[tuple[str, Event]]) -> list[Step]:
    return [Step(i + 1, e.cpu, e.actor, e.function, e.text) for i, (_, e) in enumerate(path)]


def verdict(scenario: Scenario, actor_order: tuple[str, ...] | None = None) -> Verdict:
    """Explore every interleaving of `scenario` and judge it."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"verdict() takes a Scenario (from make_scenario(...)), got {type(scenario).__name__}")
    ctx = make_ctx(scenario, actor_order)
    root = initial(ctx)
    g = bfs(ctx, root, stop=stops(ctx))
    results = check(ctx, g.order, g.terminal)
    uaf_state = results[NO_USE_AFTER_FREE.name].witness
    foreign_state = results[NO_FOREIGN_TABLE.name].witness
    violation = None
    if uaf_state is not None and (foreign_state is None or g.order.index(uaf_state) <= g.order.index(foreign_state)):
        violation = "use-after-free"
    elif foreign_state is not None:
        violation, uaf_state = "foreign table", foreign_state
    deadlock = results[NO_DEADLOCK.name].witness  # breadth-first: a shortest one
    bugs = sorted({b for s in g.order for b in s.bugs})
    warnings = sorted({w for s in g.order for w in s.warnings})
    also: list[str] = []
    if uaf_state is not None:
        kind, target = "unsafe", uaf_state
        if deadlock is not None:
            also.append("deadlock")
    elif deadlock is not None:
        kind, target = "deadlock", deadlock
    else:
        kind, target = ("safe_but_stale" if results[STALE_READ.name].holds else "safe"), None
    if kind in ("unsafe", "deadlock"):
        path = g.path_to(target)
        cex, schedule = _steps(path), [a for a, _ in path]
    else:
        cex, schedule = None, None
    why = explain(ctx, g, kind, uaf_state if violation == "use-after-free" else None, deadlock)
    if violation == "foreign table":
        why = _foreign_why(ctx, foreign_state) + why
    props = {name: r.holds for name, r in results.items()}
    return Verdict(scenario, kind, len(g.order), why, cex, schedule, bugs, also, props, warnings, violation)


# --- why ----------------------------------------------------------------------


def _foreign_why(ctx: Ctx, state: State) -> list[str]:
    """The second violation, from its record (kernel/state.py Foreign)."""
    f = state.foreign[0]
    t = state.tables[f.via]
    holds = ctx.holds
    what = (f"FOREIGN TABLE: CPU0's walker of P read {t.level.name} table #{f.via} in {f.function}() after "
            f"huge_pmd_unshare() had cleared P's PUD entry to it, and {f.owner} had reused it (pte_alloc() put "
            f"{f.owner}'s own {state.tables[f.tid].level.name if f.tid != f.via else 'PTE'} table in it): the walk "
            f"goes on in another process's live page tables and can return {f.owner}'s page. Nothing was freed.")
    if "irqs_off" in holds:
        how = ("The sync IPI did not hold the reuse back: "
               + ("TABLE_SYNC=elide_native skips tlb_remove_table_sync_one(), and the TLB flush's IPIs go to P's "
                  "mm_cpumask() only, which the remote walker's CPU is not in." if ctx.config.TABLE_SYNC == "elide_native"
                  else "nothing waited for CPU0 while i_mmap_rwsem kept Q out."))
    else:
        how = ("P's VMA read lock and rcu_read_lock() do not stop huge_pmd_unshare() (it takes i_mmap_rwsem and the "
               "hugetlb VMA lock for write, not the VMA lock), and the table is never freed, so no grace period matters; "
               "its sync IPI is taken at once with IRQs on.")
    return [what, how]


def _walker_tables(ctx: Ctx, root: State) -> list[int]:
    """The tables the walk descends through in the initial tree."""
    return [step.table.tid for step in walk_path(root.tables, ctx.geo, ctx.walk_addr)]


def _tname(state: State, tid: int) -> str:
    t = state.tables[tid]
    return f"{t.level.name} table #{tid}"


def explain(ctx: Ctx, g: Graph, kind: str, uaf_state: State | None, deadlock: State | None) -> list[str]:
    root = g.root
    walker_tids = _walker_tables(ctx, root)
    paths = ctx.path_names
    holds = ctx.holds
    cfg = ctx.config
    lines: list[str] = []

    # What the exploration saw: which walker tables each path freed, what blocked whom.
    freed_by: dict[int, set[str]] = {}
    for s in g.order:
        for t in s.tables:
            if t.freed_by and t.life.gone:
                freed_by.setdefault(t.tid, set()).add(t.freed_by)
    waits: dict[str, list[Blocked]] = {}
    for b in g.waits.values():
        waits.setdefault(b.mechanism, []).append(b)

    # 1. Exclusion by a lock the walker holds: a racing path waited for it.
    for mechanism in ("vma_lock", "mmap_lock"):
        excluded = [said(ctx, b, past=True) for b in waits.get(mechanism, ()) if b.waiter in paths and b.holder == WALKER]
        lines.extend(sorted(x + "." for x in set(excluded)))

    # 2. Tables the walk uses that no interleaving frees: what each path did instead.
    kept = [t for t in walker_tids[1:] if t not in freed_by]
    freed_walker = [t for t in walker_tids if t in freed_by]
    if kept and not freed_walker:
        names = ", ".join(_tname(root, t) for t in kept)
        for line in dict.fromkeys(_kept_line(ctx, g, p, names) for p in ctx.paths):
            lines.append(line)

    # 3. Each freeing path that freed a table the walk uses.
    uaf = uaf_state.uaf[0] if uaf_state is not None else None
    # Waits that CPU0 (the walker's CPU) held up, and how.
    ipi_waits = [b for b in waits.get("ipi", ()) if any(c == 0 for c, _ in b.holdouts)]
    functions = sorted({f for t in freed_walker for f in freed_by[t]})  # FREED labels
    stale_all = {t for s in g.order for t in s.stale}
    stale_reads = _stale_reads(ctx, g)
    for fn in functions:
        tids = [t for t in freed_walker if fn in freed_by[t]]
        tables = ", ".join(_tname(root, t) for t in tids)
        if uaf is not None and uaf.freed_by == fn:
            lines.append(_failure(ctx, fn, uaf, holds))
            continue
        how = FREED[fn]
        # only stale reads after which this path can still free the table say what held its grace period open
        reach = {t: before_free(g, fn, t) for t in tids} if how.wait == "gp" else {}
        held = [r for r in stale_reads if r[0] in reach and r[1] in reach[r[0]]]
        if not any(t in stale_all for t in tids) or (how.wait == "gp" and not held):
            lines.append(f"{how.says} freed {tables} only after the walker had finished with {'it' if len(tids) == 1 else 'them'}.")
        elif how.wait == "gp":
            who = held_open(ctx, held)
            lines.append(f"{how.says} waited for a grace period that {who} held open: {tables} stayed allocated while the walker could still reach it.")
        elif ipi_waits:
            lines.append(f"{how.says} could free {tables} only after its IPI, which waited for CPU0 to enable IRQs (the walker keeps them off).")
        else:
            lines.append(f"{how.says} freed {tables} only after the walker had finished with them.")

    # 4. Stale reads and revalidation.
    stale = sorted({t for s in g.order for t in s.stale})
    if stale and kind != "unsafe":
        names = ", ".join(_tname(root, t) for t in stale)
        if ctx.setup.walk == "gup_fast":
            lines.append(
                f"CPU0 can read {names} after it was unlinked (stale, not yet freed): gup_fast_pte_range()'s recheck of "
                "the PMD and PTE after try_grab_folio_fast(), or the none entry it finds, drops the page (0 pages; "
                "the caller falls back to GUP slow)."
            )
        else:
            lines.append(stale_line(ctx, g, names, [t for t in stale if t in {r[0] for r in stale_reads}], stale_reads))

    # 5. Deadlock.
    if deadlock is not None:
        reasons = [said(ctx, b) for _, b in g.blocked_at.get(deadlock, [])]
        lines.append("Deadlock: " + "; ".join(reasons) + ".")
    return lines


def _kept_line(ctx: Ctx, g: Graph, path, names: str) -> str:
    """Why `path` freed none of the walked tables, from the steps it ran."""
    ran = {e.function for _, _, e, _ in g.edges if e.actor == path.name}
    op = path.spec.op
    if "free_pgtables" in ran:
        return (f"free_pgd_range()'s floor and ceiling keep {names}: each also maps part of a VMA that stays, "
                "so no interleaving frees a table the walk uses.")
    if op == "madvise":
        return f"MADV_DONTNEED only zaps PTEs here (PT_RECLAIM={'y' if ctx.config.PT_RECLAIM else 'n'}): no page table is freed."
    if op == "khugepaged_collapse":
        return ("collapse_huge_page() deposits the old PTE table under the THP (pgtable_trans_huge_deposit()) instead of "
                "freeing it; only a zap of the THP frees it (zap_deposited_table()), and no path here does that.")
    if "move_normal_pmd" in ran:
        return "move_normal_pmd() moves the PTE table; nothing frees a table the walk uses."
    return f"No interleaving frees {names}."


_ATOMIC = {"irqs_off": "IRQs disabled", "rcu": "inside rcu_read_lock()", "preempt": "preemption disabled by a spinlock"}


def said(ctx: Ctx, b: Blocked, past: bool = False) -> str:
    """A wait in words, from its record (Blocked's fields, never its sentence)."""
    def who(actor: str) -> str:
        cpu = ctx.cpu_of(actor)
        return f"CPU{cpu} ({actor})" if cpu is not None and actor in ctx.main_actors else actor

    waits = "waited" if past else "waits"
    if b.mechanism == "vma_lock":
        return f"{b.waiter} {waits} in {b.function}() for {who(b.holder)}'s read lock of {b.obj}"
    if b.mechanism == "rwsem":
        return f"{b.waiter} {waits} in {b.function}(): {who(b.holder)} holds {b.obj}"
    if b.mechanism == "mmap_lock":
        return f"{b.waiter} {waits} in {b.function}(): {who(b.holder)} holds {b.obj}"
    if b.mechanism == "spin":
        return f"{b.waiter} {'spun' if past else 'spins'} in {b.function}() on {b.obj}, held by {who(b.holder)}"
    if b.mechanism == "gp" and b.waiter != RCU_GP:
        return f"{b.waiter} {'slept' if past else 'sleeps'} in {b.function}() until a grace period ends"
    if b.mechanism == "gp":
        cpus = "; ".join(f"CPU{c} ({', '.join(_ATOMIC[k] for k in keys)})" for c, keys in b.holdouts)
        return f"{b.obj} {waits} for {cpus}"
    if b.holder:  # an IPI that a CPU with IRQs off cannot take yet
        return f"the {b.obj} IPI from {b.holder} {waits}: " + "; ".join(f"CPU{c} has IRQs disabled" for c, _ in b.holdouts)
    off = [f"CPU{c} has IRQs disabled" for c, keys in b.holdouts if "irqs_off" in keys]
    tail = f" ({'; '.join(off)})" if off else ""
    cpus = ", ".join(f"CPU{c}" for c, _ in b.holdouts)
    return f"{b.waiter} {waits} in {b.function}() for {cpus} to take the {b.obj} IPI{tail}"


def _failure(ctx: Ctx, fn: str, uaf, holds: tuple[str, ...]) -> str:
    cfg = ctx.config
    how = FREED[fn]
    head = f"{how.says} freed {uaf.level} table #{uaf.tid} while CPU0's walker could still read it ({uaf.function}())"
    if how.wait == "gp" and not how.after:  # a call_rcu() callback
        return head + ": nothing held the grace period open, as the walker had neither rcu_read_lock() nor IRQs off across the walk."
    if how.wait == "ipi_all":
        if "rcu" in holds and "irqs_off" not in holds:
            return head + ": tlb_remove_table_sync_one()'s IPI was taken at once, as rcu_read_lock() does not block IPIs."
        return head + ": tlb_remove_table_sync_one()'s IPI was taken at once, as CPU0 had IRQs enabled."
    if how.wait == "tlb_flush":
        if how.after == "tlb_table_invalidate":  # TABLE_SYNC=elide_native
            reason = ("the remote walker's CPU is not in mm_cpumask() and got no flush IPI"
                      if ctx.scenario.walker == "remote" else "CPU0 took the flush IPI at once (IRQs on)")
            return head + (": with the sync IPI elided (TABLE_SYNC=elide_native, not in a release) only the TLB flush's "
                           f"IPIs to mm_cpumask() stood between unlink and free, and {reason}.")
        if cfg.TLB_FLUSH == "broadcast":
            return head + ": without MMU_GATHER_RCU_TABLE_FREE only the TLB flush stands between unlink and free, and a broadcast flush sends no IPI to wait for."
        if ctx.scenario.walker == "remote":
            return head + ": without MMU_GATHER_RCU_TABLE_FREE only the TLB-flush IPI protects walkers, and it goes to mm_cpumask() only; the remote walker's CPU gets none."
        return head + ": without MMU_GATHER_RCU_TABLE_FREE the table is freed right after the TLB-flush IPI, which CPU0 took at once (IRQs on; rcu_read_lock() does not block IPIs)."
    if not how.wait:
        return head + ": zap_deposited_table() frees the deposited table with pte_free(), with no grace period and no IPI."
    return head + "."
