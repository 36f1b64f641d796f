"""What a walker's caller holds around the walk, taken in the order the
scenario lists them and dropped in reverse: mmap_read_lock() (include/linux/
mmap_lock.h), lock_vma_under_rcu() (mm/mmap_lock.c; on failure the caller falls
back to mmap_read_lock() and looks the VMA up again), rcu_read_lock(),
local_irq_disable().  Without mmap_lock or vma_lock the caller walks with a VMA
pointer it looked up earlier: nothing keeps the tables alive but what it holds.

The same for every walker (walkers/base.py); the walk itself is the walker's.
What to take and what to drop are fixed programs (kernel/program.py) run from
the actor's frames; the fall-back to mmap_read_lock() is a call pushed on them.
"""

from __future__ import annotations

from .. import locks
from ..paths.base import advance
from ..program import Program
from ..state import Actor, State
from ..steps import Blocked, Event, Moved, Outcome, cpu_add, who
from ..vma import find_vma
from .base import Walker

_ACQUIRE = {
    "mmap_lock": "mmap_read_lock",
    "vma_lock": "lock_vma_under_rcu",
    "rcu": "rcu_read_lock",
    "irqs_off": "local_irq_disable",
    "i_mmap_lock": "i_mmap_lock_read",
}
_RELEASE = {
    "mmap_lock": "mmap_read_unlock",
    "vma_lock": "vma_end_read",
    "rcu": "rcu_read_unlock",
    "irqs_off": "local_irq_enable",
    "i_mmap_lock": "i_mmap_unlock_read",
}


def initial_walker(ctx, walk: Walker) -> Actor:
    acquire = Program(_ACQUIRE[h] for h in ctx.holds)
    return Actor(name=ctx.walker_name, cpu=0, pc="acquire" if ctx.holds else walk.first, regs=(("held", ()),),
                 frames=((acquire, 0),) if ctx.holds else ())


def event(a: Actor, function: str, text: str, source: str, *changes: str) -> Event:
    return Event(a.name, a.cpu, function, text, source, tuple(changes))


def release_ops(a: Actor) -> tuple[str, ...]:
    return tuple(_RELEASE[h] for h in reversed(a.get("held")))


def start_release(a: Actor, **regs) -> Actor:
    """The walk is over: drop what the caller holds, in reverse (pc "release"),
    or finish at once when it holds nothing."""
    ops = release_ops(a)
    a = a.set(pc="release" if ops else "done", **regs)
    return _with_frames(a, ((Program(ops), 0),) if ops else ())


def _with_frames(a: Actor, frames: tuple) -> Actor:
    return Actor(a.name, a.cpu, a.pc, a.regs, frames)


def _on(a: Actor, nxt: str, call=(), **regs) -> Actor:
    """Past this acquire step (into `call` if given): pc "acquire" while any is
    left, else the walk's first step `nxt`."""
    frames = advance(a.frames, call=call)
    return _with_frames(a.set(pc="acquire" if frames else nxt, **regs), frames)


def walker_step(ctx, state: State, a: Actor, walk: Walker) -> Outcome:
    pc = a.pc
    if pc == "acquire":
        return _acquire(ctx, state, a, walk)
    if pc == "release":
        return _release(ctx, state, a, walk)
    return walk.steps[pc](ctx, state, a)


def _acquire(ctx, state: State, a: Actor, walk: Walker) -> Outcome:
    program, pc = a.frames[-1]
    op = program[pc]
    held = a.get("held")
    nxt = walk.first
    addr = ctx.walk_addr

    if op == "mmap_read_lock":
        state = locks.mmap_read_lock(state, a)
        if isinstance(state, Blocked):
            return state
        held = held + ("mmap_lock",)
        vma = find_vma(state.vmas, addr)
        if vma is None:
            a = start_release(a.set(held=held), result="-EFAULT")
            a = a.set(pc="release")
            return Moved(
                state.with_actor(a),
                event(a, op, f"mmap_read_lock() taken; vma_lookup({addr:#x}) finds no VMA: the walk is not done (-EFAULT)",
                    "include/linux/mmap_lock.h: mmap_read_lock", "mmap_lock:read"),
            )
        a = _on(a, nxt, held=held, vma=vma.name)
        return Moved(
            state.with_actor(a),
            event(a, op, f"mmap_read_lock() taken; vma_lookup({addr:#x}) finds VMA {vma.name}",
                "include/linux/mmap_lock.h: mmap_read_lock", "mmap_lock:read"),
        )

    if op == "lock_vma_under_rcu":
        state, vma, found = locks.lock_vma_under_rcu(state, a, addr)
        if vma is not None:
            a = _on(a, nxt, held=held + ("vma_lock",), vma=vma.name)
            return Moved(
                state.with_actor(a),
                event(a, op, f"lock_vma_under_rcu({addr:#x}) read-locks VMA {vma.name} (vma_start_read())",
                    "mm/mmap_lock.c: lock_vma_under_rcu", f"vma_lock:{vma.name}:read"),
            )
        if found is None:
            why = f"finds no VMA at {addr:#x}"
        else:
            why = f"fails: VMA {found.name} is write-locked by {who(state, found.writer)} (vma_start_write())"
        if "mmap_lock" in held or "mmap_read_lock" in program[pc + 1:]:
            a = start_release(a, result="-EFAULT")
            a = a.set(pc="release")
            return Moved(state.with_actor(a), event(a, op, f"lock_vma_under_rcu() {why}; the walk is not done",
                                                  "mm/mmap_lock.c: lock_vma_under_rcu"))
        a = _on(a, nxt, call=("mmap_read_lock",))
        return Moved(
            state.with_actor(a),
            event(a, op, f"lock_vma_under_rcu() {why}; the caller falls back to mmap_read_lock()",
                "mm/mmap_lock.c: lock_vma_under_rcu"),
        )

    if op == "rcu_read_lock":
        state = cpu_add(state, a.cpu, rcu=1)
        a = _on(a, nxt, held=held + ("rcu",))
        return Moved(state.with_actor(a), event(a, op, f"rcu_read_lock() on CPU{a.cpu}: grace periods now wait for this CPU",
                                              "include/linux/rcupdate.h: rcu_read_lock", "rcu:enter"))

    if op == "i_mmap_lock_read":
        from ..rwsem import I_MMAP, down_read

        out = down_read(state, a, I_MMAP, op, "the file's i_mmap_rwsem")
        if not hasattr(out, "sems"):
            return out
        a = _on(a, nxt, held=held + ("i_mmap_lock",))
        return Moved(out.with_actor(a), event(a, op, "i_mmap_lock_read() takes the walked file's i_mmap_rwsem: "
                                              "huge_pmd_unshare() (which needs it for write) waits",
                                              "include/linux/fs.h: i_mmap_lock_read", "i_mmap:read"))

    if op == "local_irq_disable":
        state = cpu_add(state, a.cpu, irqs_off=True)
        a = _on(a, nxt, held=held + ("irqs_off",))
        return Moved(state.with_actor(a), event(a, op, f"local_irq_disable() on CPU{a.cpu}: IPIs to it now wait, and so do grace periods",
                                              "include/linux/irqflags.h: local_irq_disable", "irqs:off"))
    raise AssertionError(op)


def _release(ctx, state: State, a: Actor, walk: Walker) -> Outcome:
    if not a.frames:
        a = a.set(pc="done")
        return Moved(state.with_actor(a), event(a, "return", "the walker is done", walk.source))
    program, pc = a.frames[-1]
    op = program[pc]
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
    elif op == "i_mmap_unlock_read":
        from ..rwsem import I_MMAP, up

        state = up(state, a, I_MMAP)
        text, src, ch = "i_mmap_unlock_read()", "include/linux/fs.h: i_mmap_unlock_read", "i_mmap:unlock"
    elif op == "mmap_read_unlock":
        state = locks.mmap_read_unlock(state, a)
        text, src, ch = "mmap_read_unlock()", "include/linux/mmap_lock.h: mmap_read_unlock", "mmap_lock:unlock"
    else:  # pragma: no cover
        raise AssertionError(op)
    frames = advance(a.frames)
    a = _with_frames(a.set(pc="release" if frames else "done"), frames)
    return Moved(state.with_actor(a), event(a, op, text, src, ch))
