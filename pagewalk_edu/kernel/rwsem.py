"""The sleeping reader/writer semaphores of hugetlb PMD sharing: the file's
i_mmap_rwsem (include/linux/fs.h i_mmap_lock_read()/i_mmap_lock_write()) and each
hugetlb VMA's lock (mm/hugetlb.c hugetlb_vma_lock_read()/_write(),
hugetlb_vma_trylock_write(): a struct hugetlb_vma_lock rw_semaphore).

Written once for the walker and the racing paths.  Taking one may sleep, so it
is __might_sleep()-checked: with IRQs off or inside rcu_read_lock() it is the
sleeping-in-atomic bug."""

from __future__ import annotations

from .state import Actor, State
from .steps import Blocked, might_sleep, who

I_MMAP = "i_mmap_rwsem"


def hugetlb_vma_lock(vma: str) -> str:
    return f"hugetlb_vma_lock:{vma}"


def holders(state: State, lock: str) -> list[tuple[str, str]]:
    return [(mode, h) for name, mode, h in state.sems if name == lock]


def _blocked(state: State, a: Actor, lock: str, function: str, describe: str, holder: str, mode: str) -> Blocked:
    held = "for write" if mode == "w" else "for read"
    return Blocked(f"{a.name} waits in {function}(): {who(state, holder)} holds {describe} {held}", "rwsem", function,
                   a.name, holder, f"{describe} {held}")


def down_read(state: State, a: Actor, lock: str, function: str, describe: str) -> State | Blocked:
    writer = next((h for mode, h in holders(state, lock) if mode == "w" and h != a.name), None)
    if writer:
        return _blocked(state, a, lock, function, describe, writer, "w")
    state = might_sleep(state, a, function)
    return state.but(sems=tuple(sorted(state.sems + ((lock, "r", a.name),))))


def down_write(state: State, a: Actor, lock: str, function: str, describe: str) -> State | Blocked:
    other = next(((m, h) for m, h in holders(state, lock) if h != a.name), None)
    if other:
        return _blocked(state, a, lock, function, describe, other[1], other[0])
    state = might_sleep(state, a, function)
    return state.but(sems=tuple(sorted(state.sems + ((lock, "w", a.name),))))


def down_write_trylock(state: State, a: Actor, lock: str) -> State | None:
    """None: someone holds it (the caller goes on without it)."""
    if holders(state, lock):
        return None
    return state.but(sems=tuple(sorted(state.sems + ((lock, "w", a.name),))))


def up(state: State, a: Actor, lock: str) -> State:
    return state.but(sems=tuple(x for x in state.sems if not (x[0] == lock and x[2] == a.name)))
