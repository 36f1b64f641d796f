"""The mmap lock and the per-VMA lock, written once for the walker and the
racing paths: include/linux/mmap_lock.h (mmap_read_lock, mmap_write_lock,
mmap_write_downgrade, vma_start_write, vma_end_read, vma_end_write_all) and
mm/mmap_lock.c (lock_vma_under_rcu).

Each rule returns the new state, or a Blocked saying who waits for whom; the
caller adds the step's sentence (the walker and madvise() say different things
about the same lock_vma_under_rcu())."""

from __future__ import annotations

from dataclasses import replace

from .state import Actor, State
from .steps import Blocked, might_sleep, who
from .vma import Vma, by_name, find_vma, replace_vma


def mmap_read_lock(state: State, a: Actor) -> State | Blocked:
    """A reader waits while a writer holds mmap_lock (a sleeping rw_semaphore)."""
    if state.mmap_writer:
        return Blocked(f"{a.name} waits in mmap_read_lock(): {who(state, state.mmap_writer)} holds mmap_lock for write",
                       "mmap_lock", "mmap_read_lock", a.name, state.mmap_writer, "mmap_lock for write")
    state = might_sleep(state, a, "mmap_read_lock")
    return state.but(mmap_readers=state.mmap_readers | {a.name})


def mmap_read_unlock(state: State, a: Actor) -> State:
    return state.but(mmap_readers=state.mmap_readers - {a.name})


def mmap_write_lock(state: State, a: Actor, function: str = "mmap_write_lock") -> State | Blocked:
    """A writer waits for the writer and every other reader."""
    others = state.mmap_readers - {a.name}
    if state.mmap_writer or others:
        holder = state.mmap_writer or sorted(others)[0]
        return Blocked(f"{a.name} waits in {function}(): {who(state, holder)} holds mmap_lock", "mmap_lock", function,
                       a.name, holder, "mmap_lock")
    state = might_sleep(state, a, function)
    return state.but(mmap_writer=a.name)


def vma_end_write_all(state: State, a: Actor) -> State:
    """Every VMA write lock of this mmap write cycle ends (there is no vma_end_write())."""
    return state.but(vmas=tuple(replace(v, writer="") if v.writer == a.name else v for v in state.vmas))


def mmap_write_unlock(state: State, a: Actor) -> State:
    return vma_end_write_all(state.but(mmap_writer=""), a)


def mmap_write_downgrade(state: State, a: Actor) -> State:
    return vma_end_write_all(state.but(mmap_writer="", mmap_readers=state.mmap_readers | {a.name}), a)


def vma_start_write(state: State, a: Actor, name: str) -> State | Blocked:
    """Sleeps until the VMA's current readers leave; new readers fail meanwhile."""
    vma = by_name(state.vmas, name)
    readers = vma.readers - {a.name}
    if readers:
        reader = sorted(readers)[0]
        return Blocked(f"{a.name} waits in vma_start_write() for {who(state, reader)}'s read lock of VMA {name}",
                       "vma_lock", "vma_start_write", a.name, reader, f"VMA {name}")
    state = might_sleep(state, a, "vma_start_write")
    return state.but(vmas=replace_vma(state.vmas, name, writer=a.name))


def lock_vma_under_rcu(state: State, a: Actor, addr: int) -> tuple[State, Vma | None, Vma | None]:
    """RCU lookup + vma_start_read(): (new state, the read-locked VMA, None) on
    success; (state, None, the VMA found) when there is no VMA at `addr` (None)
    or it is write-locked in this mmap write cycle: the caller falls back to
    the mmap lock."""
    vma = find_vma(state.vmas, addr)
    if vma is not None and not vma.writer:
        return state.but(vmas=replace_vma(state.vmas, vma.name, readers=vma.readers | {a.name})), vma, None
    return state, None, vma


def vma_end_read(state: State, a: Actor, name: str) -> State:
    vma = by_name(state.vmas, name)
    return state.but(vmas=replace_vma(state.vmas, name, readers=vma.readers - {a.name}))
