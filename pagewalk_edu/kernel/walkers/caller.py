"""What a walker's caller holds around the walk, taken in the order the
scenario lists them and dropped in reverse: mmap_read_lock() (include/linux/
mmap_lock.h), lock_vma_under_rcu() (mm/mmap_lock.c; on failure the caller falls
back to mmap_read_lock() and looks the VMA up again), rcu_read_lock(),
local_irq_disable().  Without mmap_lock or vma_lock the caller walks with a VMA
pointer it looked up earlier: nothing keeps the tables alive but what it holds.

The same for every walker (walkers/base.py); the walk itself is the walker's.
"""

from __future__ import annotations

from .. import locks
from ..state import Actor, State
from ..steps import Blocked, Event, Moved, Outcome, cpu_add, who
from ..vma import find_vma
from .base import Walker

_ACQUIRE = {
    "mmap_lock": "mmap_read_lock",
    "vma_lock": "lock_vma_under_rcu",
    "rcu": "rcu_read_lock",
    "irqs_off": "local_irq_disable",
}
_RELEASE = {
    "mmap_lock": "mmap_read_unlock",
    "vma_lock": "vma_end_read",
    "rcu": "rcu_read_unlock",
    "irqs_off": "local_irq_enable",
}


def initial_walker(ctx, walk: Walker) -> Actor:
    return Actor(
        name=ctx.walker_name,
        cpu=0,
        pc="acquire" if ctx.holds else walk.first,
        regs=(("held", ()), ("todo", tuple(_ACQUIRE[h] for h in ctx.holds))),
    ).set()


def event(a: Actor, function: str, text: str, source: str, *changes: str) -> Event:
    return Event(a.name, a.cpu, function, text, source, tuple(changes))


def release_ops(a: Actor) -> tuple[str, ...]:
    return tuple(_RELEASE[h] for h in reversed(a.get("held")))


def walker_step(ctx, state: State, a: Actor, walk: Walker) -> Outcome:
    pc = a.pc
    if pc == "acquire":
        return _acquire(ctx, state, a, walk)
    if pc == "release":
        return _release(ctx, state, a, walk)
    return walk.steps[pc](ctx, state, a)


def _acquire(ctx, state: State, a: Actor, walk: Walker) -> Outcome:
    todo = a.get("todo")
    op, rest = todo[0], todo[1:]
    held = a.get("held")
    nxt = "acquire" if rest else walk.first
    addr = ctx.walk_addr

    if op == "mmap_read_lock":
        state = locks.mmap_read_lock(state, a)
        if isinstance(state, Blocked):
            return state
        held = held + ("mmap_lock",)
        vma = find_vma(state.vmas, addr)
        if vma is None:
            a = a.set(pc="release", held=held, todo=(), result="-EFAULT")
            a = a.set(todo=release_ops(a))
            return Moved(
                state.with_actor(a),
                event(a, op, f"mmap_read_lock() taken; vma_lookup({addr:#x}) finds no VMA: the walk is not done (-EFAULT)",
                    "include/linux/mmap_lock.h: mmap_read_lock", "mmap_lock:read"),
            )
        a = a.set(pc=nxt, held=held, todo=rest, vma=vma.name)
        return Moved(
            state.with_actor(a),
            event(a, op, f"mmap_read_lock() taken; vma_lookup({addr:#x}) finds VMA {vma.name}",
                "include/linux/mmap_lock.h: mmap_read_lock", "mmap_lock:read"),
        )

    if op == "lock_vma_under_rcu":
        state, vma, found = locks.lock_vma_under_rcu(state, a, addr)
        if vma is not None:
            a = a.set(pc=nxt, held=held + ("vma_lock",), todo=rest, vma=vma.name)
            return Moved(
                state.with_actor(a),
                event(a, op, f"lock_vma_under_rcu({addr:#x}) read-locks VMA {vma.name} (vma_start_read())",
                    "mm/mmap_lock.c: lock_vma_under_rcu", f"vma_lock:{vma.name}:read"),
            )
        if found is None:
            why = f"finds no VMA at {addr:#x}"
        else:
            why = f"fails: VMA {found.name} is write-locked by {who(state, found.writer)} (vma_start_write())"
        if "mmap_lock" in held or "mmap_read_lock" in rest:
            a = a.set(pc="release", todo=release_ops(a), result="-EFAULT")
            return Moved(state.with_actor(a), event(a, op, f"lock_vma_under_rcu() {why}; the walk is not done",
                                                  "mm/mmap_lock.c: lock_vma_under_rcu"))
        a = a.set(pc="acquire", todo=("mmap_read_lock",) + rest)
        return Moved(
            state.with_actor(a),
            event(a, op, f"lock_vma_under_rcu() {why}; the caller falls back to mmap_read_lock()",
                "mm/mmap_lock.c: lock_vma_under_rcu"),
        )

    if op == "rcu_read_lock":
        state = cpu_add(state, a.cpu, rcu=1)
        a = a.set(pc=nxt, held=held + ("rcu",), todo=rest)
        return Moved(state.with_actor(a), event(a, op, f"rcu_read_lock() on CPU{a.cpu}: grace periods now wait for this CPU",
                                              "include/linux/rcupdate.h: rcu_read_lock", "rcu:enter"))

    if op == "local_irq_disable":
        state = cpu_add(state, a.cpu, irqs_off=True)
        a = a.set(pc=nxt, held=held + ("irqs_off",), todo=rest)
        return Moved(state.with_actor(a), event(a, op, f"local_irq_disable() on CPU{a.cpu}: IPIs to it now wait, and so do grace periods",
                                              "include/linux/irqflags.h: local_irq_disable", "irqs:off"))
    raise AssertionError(op)


def _release(ctx, state: State, a: Actor, walk: Walker) -> Outcome:
    todo = a.get("todo")
    if not todo:
        a = a.set(pc="done")
        return Moved(state.with_actor(a), event(a, "return", "the walker is done", walk.source))
    op, rest = todo[0], todo[1:]
    pc = "release" if rest else "done"
    if op == "local_irq_enable":
        state = cpu_add(state, a.cpu, irqs_off=False)
        text, src, ch = f"local_irq_enable() on CPU{a.cpu}: pending IPIs can be taken now", "include/linux/irqflags.h: local_irq_enable", "irqs:on"
    elif op == "rcu_read_unlock":
        state = cpu_add(state, a.cpu, rcu=-1)
        text, src, ch = "rcu_read_unlock()", "include/linux/rcupdate.h: rcu_read_unlock", "rcu:exit"
    elif op == "vma_end_read":
        name = a.get("vma")
        state = locks.vma_end_read(state, a, name)
        text, src, ch = f"vma_end_read() drops the read lock of VMA {name}", "include/linux/mmap_lock.h: vma_end_read", f"vma_lock:{name}:unlock"
    elif op == "mmap_read_unlock":
        state = locks.mmap_read_unlock(state, a)
        text, src, ch = "mmap_read_unlock()", "include/linux/mmap_lock.h: mmap_read_unlock", "mmap_lock:unlock"
    else:  # pragma: no cover
        raise AssertionError(op)
    a = a.set(pc=pc, todo=rest)
    return Moved(state.with_actor(a), event(a, op, text, src, ch))
