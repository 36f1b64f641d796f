"""Stale reads in a `why`: which tables the walker read after they left the
tree, what its CPU held at each such read (so a grace period is credited to
the protection actually in force there), and what the walk did next
(mm/pagewalk.c folio_walk_start(), mm/pgtable-generic.c __pte_offset_map_lock()).
Read from the explored graph's records, never from the steps' sentences."""

from __future__ import annotations

from ..kernel.sim import Ctx
from ..kernel.state import State
from ..kernel.steps import Event
from .search import Graph


def _tname(state: State, tid: int) -> str:
    t = state.tables[tid]
    return f"{t.level.name} table #{tid}"


def stale_reads(ctx: Ctx, g: Graph) -> list[tuple[int, State, Event, State]]:
    """Every step of the walker that read a table no longer in the tree:
    (table, state before, event, state after), from the monitor's records
    (kernel/steps.py deref(): `read:<tid>` of a detached or pending table, or
    a table newly in State.stale)."""
    w = ctx.walker_name
    out = []
    for src, action, e, dst in g.edges:
        if action != w:
            continue
        tids = set(dst.stale - src.stale)
        for ch in e.changes:
            kind, _, arg = ch.partition(":")
            if kind == "read" and arg.isdigit() and int(arg) < len(src.tables):
                t = src.tables[int(arg)]
                if t.life.stale or t.deposited:
                    tids.add(t.tid)
        out.extend((tid, src, e, dst) for tid in sorted(tids))
    return out


def before_free(g: Graph, freed_by: str, tid: int) -> set[State]:
    """The states from which some interleaving goes on to free table `tid` by
    `freed_by` (a FREED label): a stale read in any other state (one that can
    only deadlock, say) held no grace period open for that free."""
    back: dict[State, list[State]] = {}
    for src, _, _, dst in g.edges:
        back.setdefault(dst, []).append(src)
    todo = [s for s in g.order if s.tables[tid].life.gone and s.tables[tid].freed_by == freed_by]
    seen = set(todo)
    while todo:
        for prev in back.get(todo.pop(), ()):
            if prev not in seen:
                seen.add(prev)
                todo.append(prev)
    return seen


def _protection_keys(ctx: Ctx, state: State) -> set[str]:
    """What the walker's CPU held at a read: the walker's own rcu_read_lock() is
    told apart from the one __pte_offset_map() takes (mm/pgtable-generic.c),
    which starts only at the PTE level."""
    cpu = state.cpus[state.actor(ctx.walker_name).cpu]
    own = 1 if "rcu" in ctx.holds else 0
    keys = set()
    if cpu.irqs_off:
        keys.add("irqs_off")
    if cpu.rcu and own:
        keys.add("rcu_own")
    if cpu.rcu > own:
        keys.add("rcu_map")
    if cpu.preempt:
        keys.add("preempt")
    return keys


_HELD = {"irqs_off": "CPU0's IRQs-off section", "rcu_own": "CPU0's rcu_read_lock() (the walker's own)",
         "rcu_map": "pte_offset_map()'s rcu_read_lock() on CPU0",
         "preempt": "CPU0's spinlock (holding a ptl disables preemption)"}


def held_open(ctx: Ctx, reads) -> str:
    """What kept the grace period from ending at every stale read of these
    tables: what CPU0 held just before each read (so a PMD-level read is not
    credited with pte_offset_map()'s RCU section or a ptl it did not hold yet)."""
    sets = [_protection_keys(ctx, src) for _, src, _, _ in reads]
    common = set.intersection(*sets) if sets else set()
    order = list(_HELD)
    if common:
        return " and ".join(_HELD[k] for k in order if k in common)
    either = set().union(*sets)
    return " or ".join(_HELD[k] for k in order if k in either) if either else "CPU0"


def _read_outcome(ctx: Ctx, tid: int, src: State, dst: State) -> tuple[str, str]:
    """What one step of the walker did to the walk, from its registers: ("spin", ""),
    ("null", what the entry was), ("found", ""), ("retry", "") or ("on", its next step)."""
    w0, w1 = src.actor(ctx.walker_name), dst.actor(ctx.walker_name)
    if w1.get("spinning") and not w0.get("spinning"):
        return "spin", ""
    if w1.get("result") != w0.get("result") and w1.get("result") == "NULL":
        t = dst.tables[tid]
        e = t.get(ctx.geo.index(t.level, ctx.walk_addr))
        return "null", "none" if e is None else ("a huge leaf" if e.is_leaf else "a table")
    if w1.get("result") != w0.get("result") and str(w1.get("result", "")).startswith("folio"):
        return "found", ""
    if w1.get("retries", 0) > w0.get("retries", 0):
        return "retry", ""
    return "on", w1.pc


_RETRY = "pmd_same() finds that the PMD entry changed, so the walk retries"


def _null(fns, what: str) -> str:
    return f"{' or '.join(f'{f}()' for f in fns)} finds the entry {what}, so folio_walk_start() returns NULL"


def _ended(kind: str, arg: str, fn: str) -> str:
    if kind == "null":
        return _null([fn], arg)
    if kind == "retry":
        return _RETRY
    if kind == "found":
        return f"{fn}() finds a page there, and folio_walk_start() returns it with the ptl held"
    return f"the walk goes on to {arg}()"


def stale_line(ctx: Ctx, g: Graph, names: str, tids: list[int], reads) -> str:
    """How the walk copes with each stale read, table by table, from what the
    walker did next (mm/pagewalk.c folio_walk_start(), mm/pgtable-generic.c
    __pte_offset_map_lock()): an upper-level read of an emptied entry ends the
    walk; a read through a detached PTE table is caught by pmd_same()."""
    after: dict[State, list[State]] = {}
    for src, action, _, dst in g.edges:
        if action == ctx.walker_name:
            after.setdefault(src, []).append(dst)
    per_table, caught = [], True
    for tid in tids:
        nulls: dict[str, dict[str, None]] = {}  # what the entry was -> the functions that read it
        ends: dict[str, None] = {}
        onward: dict[str, dict[str, None]] = {}  # the function that read on -> what the walker's next step did
        spun = set()
        for _, src, e, dst in (r for r in reads if r[0] == tid):
            kind, arg = _read_outcome(ctx, tid, src, dst)
            if kind == "null":
                nulls.setdefault(arg, {})[e.function] = None
            elif kind == "spin":
                spun.add(e.function)
            elif kind != "on":
                ends[_ended(kind, arg, e.function)] = None
                caught = caught and kind != "found"
            else:
                then = onward.setdefault(e.function, {})
                for nxt in after.get(dst, []):
                    k2, a2 = _read_outcome(ctx, tid, dst, nxt)
                    then[_ended(k2, a2, dst.actor(ctx.walker_name).pc)] = None
                    caught = caught and k2 in ("null", "retry")
        phrases = [_null(fns, what) for what, fns in nulls.items()] + list(ends)
        for fn, then in onward.items():
            verb = "reads it"
            if fn == "spin_lock":
                verb = "takes the ptl inside it" + (" (after spinning on it)" if fn in spun else "")
            phrases.append(f"{fn}() {verb}, then " + " or ".join(then) if then else f"{fn}() {verb}")
            caught = caught and bool(then)
        phrases += [f"{fn}() spins on the ptl inside it" for fn in sorted(spun - set(onward))]
        caught = caught and not (spun - set(onward))
        per_table.append((f"in {_tname(g.root, tid)}, " if len(tids) > 1 else "") + "; ".join(phrases))
    head = f"CPU0 can read {names} after it was unlinked (stale, not yet freed)"
    return head + (", and each such read is caught: " if caught else ": ") + "; ".join(per_table) + "."
