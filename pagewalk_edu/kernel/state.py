"""The simulator's state: one mm (its page tables, VMAs and locks), the CPUs,
RCU, IPIs in flight, and the actors' program counters.

A State is a frozen value (tuples and frozensets inside) so that stepping back
is keeping the previous state and the explorer can hash visited states.  What
each field stands for in the kernel is said beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from .pgtable import Tables
from .vma import Vmas


@dataclass(frozen=True, slots=True)
class Cpu:
    irqs_off: bool = False  # local_irq_disable()/local_irq_save()
    rcu: int = 0  # rcu_read_lock() nesting (pte_offset_map() takes one too)
    preempt: int = 0  # spinlocks held or being spun on (spin_lock() disables preemption)

    @property
    def quiescent(self) -> bool:
        """May this CPU report an RCU quiescent state?  Since the v4.20 flavour
        consolidation a grace period also waits for IRQ- and preempt-disabled
        regions (Documentation/RCU/whatisRCU.rst)."""
        return not self.irqs_off and self.rcu == 0 and self.preempt == 0

    def atomic_keys(self) -> tuple[str, ...]:
        """Why this CPU is in atomic context, as keys: irqs_off, rcu, preempt."""
        return tuple(k for k, on in (("irqs_off", self.irqs_off), ("rcu", self.rcu), ("preempt", self.preempt)) if on)

    def atomic_context(self) -> list[str]:
        """Why this CPU is in atomic context (none: it may sleep and is quiescent)."""
        why = []
        if self.irqs_off:
            why.append("IRQs disabled")
        if self.rcu:
            why.append("inside rcu_read_lock()")
        if self.preempt:
            why.append("preemption disabled by a spinlock")
        return why


class Ipi(NamedTuple):
    """A synchronous cross-CPU call in flight (smp_call_function_many() with
    wait=1): the sender waits until every target has run `handler`."""

    sender: str
    handler: str  # flush_tlb_func or tlb_remove_table_smp_sync
    waiter: str  # the function the sender waits in
    pending: frozenset[int]  # CPUs that have not yet taken it


class Callback(NamedTuple):
    """A call_rcu() callback (or a synchronize_rcu() waiter) and the number of
    grace periods that must have completed before it may run."""

    needed: int
    function: str  # tlb_remove_table_rcu, pte_free_now, __tlb_remove_table_one_rcu, wakeme_after_rcu
    tids: tuple[int, ...]
    owner: str


@dataclass(frozen=True, slots=True)
class Rcu:
    gp_seq: int = 0  # grace periods completed
    active: bool = False  # a grace period is in progress
    holdouts: frozenset[int] = frozenset()  # CPUs yet to pass a quiescent state
    callbacks: tuple[Callback, ...] = ()

    def needed_for_new_callback(self) -> int:
        """A callback queued now needs a grace period that starts after now."""
        return self.gp_seq + (2 if self.active else 1)


class Uaf(NamedTuple):
    """A dereference of a freed page table: the violation."""

    actor: str
    function: str
    tid: int
    level: str
    freed_by: str


class Foreign(NamedTuple):
    """The walker of one mm read a page table that belongs to another mm (a
    previously shared hugetlb PMD table reused by its last user): not freed
    memory, but another process's live tables and pages (mm/hugetlb.c
    huge_pmd_unshare(); kernel-facts §13)."""

    actor: str
    function: str
    tid: int
    level: str
    owner: str  # the mm whose table it is
    via: int  # the table whose entry led there (the reused shared PMD table), or tid itself


@dataclass(frozen=True, slots=True)
class Actor:
    """A CPU's actor: its program counter, its local variables, and for a racing
    path its call stack (kernel/program.py): `frames`, each (program, pc), the
    innermost last.  A walker's `pc` is its next step's label; a racing path's
    `pc` is "run" while a frame is left and "done" after."""

    name: str
    cpu: int
    pc: str  # the next step's label ("done" when finished)
    regs: tuple[tuple[str, Any], ...] = ()  # local variables, sorted by name
    frames: tuple[tuple[Any, int], ...] = ()  # (Program, pc), innermost last

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self.regs:
            if k == key:
                return v
        return default

    def set(self, pc: str | None = None, **changes: Any) -> "Actor":
        regs = dict(self.regs)
        regs.update(changes)
        return Actor(self.name, self.cpu, self.pc if pc is None else pc, tuple(sorted(regs.items())), self.frames)

    def at(self, frames: tuple[tuple[Any, int], ...]) -> "Actor":
        """The same actor with the call stack `frames` (pc "done" when empty)."""
        return Actor(self.name, self.cpu, "run" if frames else "done", self.regs, frames)

    @property
    def instruction(self) -> Any:
        """The instruction a racing path runs next (None when done)."""
        if not self.frames:
            return None
        program, pc = self.frames[-1]
        return program[pc]

    @property
    def done(self) -> bool:
        return self.pc == "done"


@dataclass(frozen=True, slots=True)
class State:
    tables: Tables
    vmas: Vmas
    mmap_readers: frozenset[str] = frozenset()  # mmap_read_lock() holders
    mmap_writer: str = ""  # mmap_write_lock() holder
    spin: tuple[tuple[str, str], ...] = ()  # (spinlock, holder), sorted
    cpus: tuple[Cpu, ...] = ()
    ipis: tuple[Ipi, ...] = ()
    rcu: Rcu = Rcu()
    actors: tuple[Actor, ...] = ()
    uaf: tuple[Uaf, ...] = ()  # use-after-free reads seen so far
    stale: frozenset[int] = frozenset()  # detached/pending tables the walker read
    bugs: tuple[str, ...] = ()  # "sleeping function called from invalid context"
    warnings: tuple[str, ...] = ()  # failed assertions: lockdep_assert_*(), VM_WARN_ON_ONCE()
    sems: tuple[tuple[str, str, str], ...] = ()  # sleeping rw_semaphores held: (lock, "r"/"w", holder), sorted
    foreign: tuple["Foreign", ...] = ()  # reads of another mm's page table (the second violation)
    _hash: int = field(default=0, init=False, compare=False, repr=False)

    def __hash__(self) -> int:
        h = self._hash
        if not h:
            h = hash(
                (
                    self.tables,
                    self.vmas,
                    self.mmap_readers,
                    self.mmap_writer,
                    self.spin,
                    self.cpus,
                    self.ipis,
                    self.rcu,
                    self.actors,
                    self.uaf,
                    self.stale,
                    self.bugs,
                    self.warnings,
                    self.sems,
                    self.foreign,
                )
            ) or 1
            object.__setattr__(self, "_hash", h)
        return h

    # --- accessors --------------------------------------------------------
    def actor(self, name: str) -> Actor:
        for a in self.actors:
            if a.name == name:
                return a
        raise KeyError(name)

    def lock_holder(self, lock: str) -> str:
        for name, holder in self.spin:
            if name == lock:
                return holder
        return ""

    def locks_held_by(self, actor: str) -> list[str]:
        return [name for name, holder in self.spin if holder == actor]

    def ipi_pending_for(self, cpu: int) -> list[Ipi]:
        return [i for i in self.ipis if cpu in i.pending]

    # --- functional updates ----------------------------------------------
    def with_actor(self, actor: Actor) -> "State":
        return self.but(actors=tuple(actor if a.name == actor.name else a for a in self.actors))

    def with_cpu(self, index: int, cpu: Cpu) -> "State":
        return self.but(cpus=self.cpus[:index] + (cpu,) + self.cpus[index + 1 :])

    def take_spin(self, lock: str, holder: str) -> "State":
        return self.but(spin=tuple(sorted(self.spin + ((lock, holder),))))

    def drop_spin(self, lock: str) -> "State":
        return self.but(spin=tuple(x for x in self.spin if x[0] != lock))

    def but(self, **changes: Any) -> "State":
        """A copy with `changes` (dataclasses.replace() without its per-call checks)."""
        new = object.__new__(State)
        for name in _STATE_FIELDS:
            object.__setattr__(new, name, changes[name] if name in changes else getattr(self, name))
        object.__setattr__(new, "_hash", 0)
        return new


_STATE_FIELDS = tuple(f.name for f in fields(State) if f.name != "_hash")
