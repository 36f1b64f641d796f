"""What every actor's step shares: the event it reports, the outcome type, the
monitor that checks each dereference of a page table, and the locking and
mmu_gather primitives (include/linux/spinlock.h, include/linux/mmap_lock.h,
mm/mmu_gather.c, arch/x86/mm/tlb.c, kernel/rcu/tree.c) used by more than one
kernel path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple, Union

from .pgtable import Life, set_life, set_table
from .state import Actor, Callback, Cpu, Ipi, State, Uaf



@dataclass(frozen=True, slots=True)
class Event:
    """One atomic step, as the trace and the event log show it."""

    actor: str
    cpu: int | None  # None for the RCU machinery
    function: str  # the kernel function the step stands for
    text: str  # one plain-English sentence
    source: str  # "file: function"
    changes: tuple[str, ...] = ()  # machine-readable effects: "freed:5", "detached:5", "ipi:cpu0"


class Blocked(NamedTuple):
    """The step cannot run now.  `reason` is the sentence for people; the other
    fields are the record the explorer reasons with (never the sentence): who
    waits (`waiter`), in which kernel function, on what kind of wait
    (`mechanism`: vma_lock, mmap_lock, spin, ipi, gp), held by whom (`holder`, an
    actor), on what (`obj`: a VMA, a lock, an IPI handler, a grace period), and
    for a wait on CPUs, which CPUs hold it up and why (`holdouts`: (cpu, keys)
    with keys from Cpu.atomic_keys())."""

    reason: str
    mechanism: str
    function: str = ""
    waiter: str = ""
    holder: str = ""
    obj: str = ""
    holdouts: tuple[tuple[int, tuple[str, ...]], ...] = ()


class Moved(NamedTuple):
    state: State
    event: Event


Outcome = Union[Blocked, Moved]


def who(state: State, actor_name: str) -> str:
    """'CPU0's walker' style name of an actor for sentences."""
    for a in state.actors:
        if a.name == actor_name:
            return f"CPU{a.cpu} ({a.name})"
    return actor_name


# --- the monitor ------------------------------------------------------------


def deref(ctx, state: State, actor: str, tid: int, function: str) -> tuple[State, str]:
    """Record a read of table `tid` (an entry, or its split ptlock).

    A freed (or reused) table is a use-after-free; a detached or pending one is
    a stale read that revalidation (pmd_same()) must catch.  Returns the new
    state and a phrase for the event text ('' when the table is live)."""
    table = state.tables[tid]
    if ctx.multi_mm and actor == ctx.walker_name and table.mm:
        state, note = _deref_other_mm(state, actor, table, function)
        if note:
            return state, note
    if table.life.gone:
        uaf = Uaf(actor, function, tid, table.level.name, table.freed_by)
        note = (
            f" USE-AFTER-FREE: {table.level.name} table #{tid} was freed by {table.freed_by}"
        )
        if uaf not in state.uaf:
            state = state.but(uaf=state.uaf + (uaf,))
        return state, note
    if table.life.stale or table.deposited:
        if actor == ctx.walker_name and tid not in state.stale:
            state = state.but(stale=state.stale | {tid})
        return state, f" (stale: {table.level.name} table #{tid} is {table.life.value})"
    return state, ""


def _deref_other_mm(state: State, actor: str, table, function: str) -> tuple[State, str]:
    """The walked mm is P (tables with mm ""); a hugetlb PMD table shared with
    another mm has mm "shared"; a table another mm allocated has its name."""
    if table.mm != "shared":
        return foreign(state, actor, table.tid, table.tid, function, table.mm), (
            f" FOREIGN TABLE: {table.level.name} table #{table.tid} is {table.mm}'s")
    if not any(t.mm == "" and any(e.is_table and e.target == table.tid for _, e in t.entries) for t in state.tables):
        # huge_pmd_unshare() cleared P's PUD entry: the table lives on as the
        # other sharers' only; reading it unchanged is stale, not yet reuse.
        if table.tid not in state.stale:
            state = state.but(stale=state.stale | {table.tid})
        return state, f" (stale: {table.level.name} table #{table.tid} was unshared from this mm)"
    return state, ""


def foreign(state: State, actor: str, tid: int, via: int, function: str, owner: str) -> State:
    from .state import Foreign

    t = state.tables[tid]
    rec = Foreign(actor, function, tid, t.level.name, owner, via)
    return state if rec in state.foreign else state.but(foreign=state.foreign + (rec,))


def check_entry(ctx: "Ctx", state: State, actor: str, tid: int, entry, function: str) -> tuple[State, str]:
    """An entry the walker read points into another mm's table: the shared PMD
    table was reused (pte_alloc() installed that mm's PTE table in it)."""
    if not ctx.multi_mm or entry is None or not entry.is_table:
        return state, ""
    child = state.tables[entry.target]
    if child.mm in ("", "shared"):
        return state, ""
    state = foreign(state, actor, tid, tid, function, child.mm)
    return state, (f" FOREIGN TABLE: {state.tables[tid].level.name} table #{tid} is no longer this mm's and now "
                   f"points to {child.mm}'s {child.level.name} table #{child.tid}")


def might_sleep(state: State, actor: Actor, function: str) -> State:
    """__might_sleep(): a sleeping call with IRQs off, in an RCU read-side
    section or holding a spinlock is the kernel's 'BUG: sleeping function
    called from invalid context' (CONFIG_DEBUG_ATOMIC_SLEEP)."""
    why = state.cpus[actor.cpu].atomic_context()
    if not why:
        return state
    bug = (
        f"BUG: sleeping function called from invalid context: {function}() on CPU{actor.cpu} "
        f"({actor.name}), in atomic context: {'; '.join(why)}"
    )
    if bug in state.bugs:
        return state
    return state.but(bugs=state.bugs + (bug,))


# --- CPU state ----------------------------------------------------------------


def cpu_add(state: State, cpu: int, *, rcu: int = 0, preempt: int = 0, irqs_off: bool | None = None) -> State:
    c = state.cpus[cpu]
    c = Cpu(
        irqs_off=c.irqs_off if irqs_off is None else irqs_off,
        rcu=c.rcu + rcu,
        preempt=c.preempt + preempt,
    )
    if c.rcu < 0 or c.preempt < 0:
        raise AssertionError("negative RCU or preempt count")  # a bug in an actor
    return state.with_cpu(cpu, c)


# --- spinlocks ----------------------------------------------------------------


def spin_lock(state: State, actor: Actor, lock: str, function: str, describe: str) -> Outcome | None:
    """spin_lock(): preempt_disable(), then spin until the lock is free.

    Returns Blocked while spinning, a Moved for the first attempt on a held lock
    (the CPU is now spinning with preemption off), or None when the lock is
    free and the caller may take it (with take_spin())."""
    holder = state.lock_holder(lock)
    if not holder:
        return None
    if actor.get("spinning") == lock:
        return Blocked(
            f"{actor.name} spins in {function}() on {describe}, held by {who(state, holder)}",
            "spin",
            function,
            actor.name,
            holder,
            describe,
        )
    state = cpu_add(state, actor.cpu, preempt=1).with_actor(actor.set(spinning=lock))
    return Moved(
        state,
        Event(
            actor.name,
            actor.cpu,
            function,
            f"{function}() finds {describe} held by {who(state, holder)}: CPU{actor.cpu} "
            f"spins with preemption disabled",
            "include/linux/spinlock.h: spin_lock",
            (f"spinning:{lock}",),
        ),
    )


def take_spin(state: State, actor: Actor, lock: str) -> tuple[State, Actor]:
    """Take a free spinlock (after spin_lock() returned None)."""
    if actor.get("spinning") == lock:
        actor = actor.set(spinning="")  # preempt count already raised when spinning began
    else:
        state = cpu_add(state, actor.cpu, preempt=1)
    state = state.take_spin(lock, actor.name).with_actor(actor)
    return state, actor


class Taken(NamedTuple):
    """A spinlock taken: the state and actor after, and the lock's name."""

    state: State
    actor: Actor
    lock: str


def lock_spin(state: State, actor: Actor, lock: str, function: str, describe: str) -> "Taken | Outcome":
    """spin_lock() through to holding the lock, the one sequence every walker and
    racing path uses: Taken once held, else the outcome to return (the CPU
    starts or goes on spinning)."""
    out = spin_lock(state, actor, lock, function, describe)
    if out is not None:
        return out
    return Taken(*take_spin(state, actor, lock), lock)


def pmd_lock(state: State, actor: Actor, pmd_tid: int, function: str = "pmd_lock") -> "Taken | Outcome":
    """pmd_lock() (include/linux/mm.h): the split PMD lock in the PMD table's
    ptdesc (pmd_lockptr())."""
    return lock_spin(state, actor, pmd_lock_name(pmd_tid), function, f"the PMD lock of PMD table #{pmd_tid}")


def pte_lock(state: State, actor: Actor, pte_tid: int, function: str) -> "Taken | Outcome":
    """spin_lock(pte_lockptr()): the split ptlock in the PTE table's ptdesc
    (pte_offset_map_lock(), spin_lock_nested() in retract_page_tables())."""
    return lock_spin(state, actor, ptl_name(pte_tid), function, f"the ptl of PTE table #{pte_tid}")


def release_spin(state: State, actor: Actor, lock: str) -> State:
    return cpu_add(state.drop_spin(lock), actor.cpu, preempt=-1)


def ptl_name(pte_tid: int) -> str:
    """The split PTE ptlock lives in the PTE table's struct ptdesc."""
    return f"ptl:{pte_tid}"


def pmd_lock_name(pmd_tid: int) -> str:
    """The split PMD lock (pmd_lockptr()) lives in the PMD table's struct ptdesc."""
    return f"pmd:{pmd_tid}"


PAGE_TABLE_LOCK = "page_table_lock"  # mm->page_table_lock: pud_lockptr() on x86


# --- IPIs ---------------------------------------------------------------------


def send_ipi(state: State, actor: Actor, handler: str, waiter: str, targets: frozenset[int]) -> State:
    """smp_call_function_many(..., wait=1): queue `handler` on each target."""
    if not targets:
        return state
    return state.but(ipis=state.ipis + (Ipi(actor.name, handler, waiter, frozenset(targets)),))


def own_ipi(state: State, actor: str) -> Ipi | None:
    for ipi in state.ipis:
        if ipi.sender == actor:
            return ipi
    return None


def flush_targets(ctx, actor: Actor) -> frozenset[int]:
    """x86 flush_tlb_mm_range() → native_flush_tlb_multi(): IPIs to the other
    CPUs in mm_cpumask(mm) (with freed tables, lazy-TLB CPUs too).  A broadcast
    flush (AMD INVLPGB, arm64 TLBI) sends none."""
    if ctx.config.TLB_FLUSH == "broadcast":
        return frozenset()
    return frozenset(c for c in ctx.cpumask if c != actor.cpu)


def all_other_cpus(ctx, actor: Actor) -> frozenset[int]:
    """smp_call_function(): every online CPU but this one."""
    return frozenset(c for c in range(ctx.ncpus) if c != actor.cpu)


def cpu_list(cpus: frozenset[int]) -> str:
    return ", ".join(f"CPU{c}" for c in sorted(cpus))


# --- RCU ----------------------------------------------------------------------


def call_rcu(state: State, owner: str, function: str, tids: tuple[int, ...]) -> State:
    """call_rcu(): the callback runs after a grace period that starts after now."""
    cb = Callback(state.rcu.needed_for_new_callback(), function, tids, owner)
    tables = state.tables
    for tid in tids:
        tables = set_life(tables, tid, Life.RCU_PENDING)
    return state.but(tables=tables, rcu=replace(state.rcu, callbacks=state.rcu.callbacks + (cb,)))


class Freed(NamedTuple):
    """A way a page table is freed: the freeing function, what it waited for
    first (`wait`: gp = an RCU grace period, ipi_all = an IPI every other CPU
    must take, tlb_flush = only the TLB flush before it, "" = nothing), and how
    people call it.  Table.freed_by holds the label, a key of FREED."""

    label: str  # Table.freed_by / Uaf.freed_by
    wait: str
    says: str  # the function(s) as an explanation names them
    after: str = ""  # the function whose wait came first, when that is not the freeing one


#: Every way the model frees a page table (mm/mmu_gather.c, mm/pgtable-generic.c,
#: mm/huge_memory.c), by label.
FREED = {f.label: f for f in (
    Freed("tlb_remove_table_rcu", "gp", "tlb_remove_table_rcu()"),  # tlb_table_flush() → call_rcu()
    Freed("pte_free_now", "gp", "pte_free_now()"),  # pte_free_defer() → call_rcu()
    Freed("__tlb_remove_table_one_rcu", "gp", "__tlb_remove_table_one_rcu()"),  # PT_RECLAIM fallback
    Freed("__tlb_remove_table (after tlb_remove_table_sync_rcu)", "gp",
          "tlb_remove_table_sync_rcu() then __tlb_remove_table()", "tlb_remove_table_sync_rcu"),  # v7.1 fallback
    Freed("__tlb_remove_table (after tlb_remove_table_sync_one)", "ipi_all",
          "tlb_remove_table_sync_one() then __tlb_remove_table()", "tlb_remove_table_sync_one"),  # v6.18 fallback
    Freed("__tlb_remove_table (sync elided)", "tlb_flush",
          "tlb_table_invalidate()'s TLB flush then __tlb_remove_table() (the sync skipped)", "tlb_table_invalidate"),  # TABLE_SYNC=elide_native
    Freed("tlb_batch_pages_flush", "tlb_flush", "tlb_flush_mmu() → tlb_batch_pages_flush()"),  # !MMU_GATHER_RCU_TABLE_FREE
    Freed("zap_deposited_table → pte_free", "", "zap_deposited_table()"),  # a deposited table, pte_free() at once
)}


def free_tables(state: State, tids: tuple[int, ...], freed_by: str) -> State:
    if freed_by not in FREED:  # pragma: no cover - a new freeing path must be declared above
        raise AssertionError(f"undeclared way of freeing a table: {freed_by}")
    tables = state.tables
    for tid in tids:
        t = tables[tid]
        tables = set_table(tables, replace(t, life=Life.FREED, freed_by=freed_by, counted=False))
    return state.but(tables=tables)


def table_list(state: State, tids: tuple[int, ...]) -> str:
    return ", ".join(f"{state.tables[t].level.name} table #{t}" for t in tids)
