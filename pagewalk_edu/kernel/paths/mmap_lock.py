"""The mmap lock and the per-VMA lock as the racing paths take them:
include/linux/mmap_lock.h (mmap_write_lock, mmap_write_downgrade,
vma_start_write, vma_end_read), mm/mmap_lock.c (lock_vma_under_rcu)."""

from __future__ import annotations

from dataclasses import replace

from ..state import Actor, State
from ..steps import Blocked, might_sleep, who
from ..vma import by_name, find_vma, replace_vma
from .base import go


def _mmap_write_lock(ctx, state, a, op, rest):
    fn = op[1] if len(op) > 1 else "mmap_write_lock"
    others = state.mmap_readers - {a.name}
    if state.mmap_writer or others:
        holder = state.mmap_writer or sorted(others)[0]
        return Blocked(f"{a.name} waits in {fn}(): {who(state, holder)} holds mmap_lock", "mmap_lock", fn)
    state = might_sleep(state, a, fn)
    state = state.but(mmap_writer=a.name)
    return go(state, a, rest, fn, f"{fn}() takes mmap_lock for write", "include/linux/mmap_lock.h: mmap_write_lock", "mmap_lock:write")


def _mmap_read_lock(ctx, state, a, op, rest):
    if state.mmap_writer:
        return Blocked(f"{a.name} waits in mmap_read_lock(): {who(state, state.mmap_writer)} holds mmap_lock for write", "mmap_lock", "mmap_read_lock")
    state = might_sleep(state, a, "mmap_read_lock")
    state = state.but(mmap_readers=state.mmap_readers | {a.name})
    text = "mmap_read_lock()"
    if len(op) > 1:  # look the VMA up, as the caller does after taking the lock
        vma = find_vma(state.vmas, op[1])
        if vma is None:
            rest = (("mmap_read_unlock",),)
            text += f"; no VMA at {op[1]:#x} any more: nothing to do"
        else:
            text += f"; finds VMA {vma.name}"
    return go(state, a, rest, "mmap_read_lock", text, "include/linux/mmap_lock.h: mmap_read_lock", "mmap_lock:read")


def end_vma_writes(state: State, a: Actor) -> State:
    """vma_end_write_all(): every VMA write lock of this mmap write cycle ends."""
    vmas = tuple(replace(v, writer="") if v.writer == a.name else v for v in state.vmas)
    return state.but(vmas=vmas)


def _mmap_read_unlock(ctx, state, a, op, rest):
    state = state.but(mmap_readers=state.mmap_readers - {a.name})
    return go(state, a, rest, "mmap_read_unlock", "mmap_read_unlock()", "include/linux/mmap_lock.h: mmap_read_unlock", "mmap_lock:unlock")


def _mmap_write_unlock(ctx, state, a, op, rest):
    state = end_vma_writes(state.but(mmap_writer=""), a)
    return go(state, a, rest, "mmap_write_unlock", "mmap_write_unlock(): mmap_lock and all VMA write locks released (vma_end_write_all())",
              "include/linux/mmap_lock.h: mmap_write_unlock", "mmap_lock:unlock")


def _mmap_write_downgrade(ctx, state, a, op, rest):
    state = end_vma_writes(state.but(mmap_writer="", mmap_readers=state.mmap_readers | {a.name}), a)
    return go(state, a, rest, "mmap_write_downgrade",
              "vms_complete_munmap_vmas(): mmap_write_downgrade() — mmap_lock is now held for read and the VMA write locks end "
              "(vma_end_write_all()); the unmapped VMAs are already out of the tree",
              "include/linux/mmap_lock.h: mmap_write_downgrade", "mmap_lock:downgrade")


def _vma_start_write(ctx, state, a, op, rest):
    name = op[1]
    vma = by_name(state.vmas, name)
    readers = vma.readers - {a.name}
    if readers:
        reader = sorted(readers)[0]
        return Blocked(f"{a.name} waits in vma_start_write() for {who(state, reader)}'s read lock of VMA {name}",
                       "vma_lock", "vma_start_write")
    state = might_sleep(state, a, "vma_start_write")
    state = state.but(vmas=replace_vma(state.vmas, name, writer=a.name))
    return go(state, a, rest, "vma_start_write",
              f"vma_start_write() write-locks VMA {name}: no reader holds it, and new lock_vma_under_rcu() calls now fail",
              "include/linux/mmap_lock.h: vma_start_write", f"vma_lock:{name}:write")


def _lock_vma_under_rcu(ctx, state, a, op, rest):
    """madvise_lock() with MADVISE_VMA_READ_LOCK: try_vma_read_lock(), else the mmap read lock."""
    addr = op[1]
    vma = find_vma(state.vmas, addr)
    if vma is not None and not vma.writer:
        state = state.but(vmas=replace_vma(state.vmas, vma.name, readers=vma.readers | {a.name}))
        return go(state, a, rest, "lock_vma_under_rcu",
                  f"try_vma_read_lock(): lock_vma_under_rcu({addr:#x}) read-locks VMA {vma.name}",
                  "mm/madvise.c: try_vma_read_lock", f"vma_lock:{vma.name}:read", vma=vma.name)
    why = "finds no VMA" if vma is None else f"finds VMA {vma.name} write-locked by {who(state, vma.writer)}"
    # Under the mmap read lock there is no vma_end_read(): madvise_unlock() drops the
    # lock after madvise_finish_tlb() → tlb_finish_mmu().
    kept = []
    for o in rest:
        if o[0] != "vma_end_read":
            kept.append(o)
        if o[0] == "tlb_finish_mmu":
            kept.append(("mmap_read_unlock",))
    rest = tuple(kept)
    return go(state, a, (("mmap_read_lock", addr),) + rest, "lock_vma_under_rcu",
              f"try_vma_read_lock(): lock_vma_under_rcu() {why}; fall back to mmap_read_lock()",
              "mm/madvise.c: try_vma_read_lock")


def _vma_end_read(ctx, state, a, op, rest):
    name = a.get("vma")
    vma = by_name(state.vmas, name)
    state = state.but(vmas=replace_vma(state.vmas, name, readers=vma.readers - {a.name}))
    return go(state, a, rest, "vma_end_read", f"vma_end_read() drops the read lock of VMA {name}",
              "include/linux/mmap_lock.h: vma_end_read", f"vma_lock:{name}:unlock")


OPS = {
    "mmap_write_lock": _mmap_write_lock,
    "mmap_read_lock": _mmap_read_lock,
    "mmap_read_unlock": _mmap_read_unlock,
    "mmap_write_unlock": _mmap_write_unlock,
    "mmap_write_downgrade": _mmap_write_downgrade,
    "vma_start_write": _vma_start_write,
    "lock_vma_under_rcu": _lock_vma_under_rcu,
    "vma_end_read": _vma_end_read,
}
