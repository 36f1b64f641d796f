"""The mmap lock and the per-VMA lock as the racing paths take them (the rules
are kernel/locks.py, shared with the walker): include/linux/mmap_lock.h,
mm/mmap_lock.c, mm/madvise.c (try_vma_read_lock)."""

from __future__ import annotations

from .. import locks
from ..program import instruction
from ..steps import Blocked, who
from ..vma import find_vma
from .base import go

# The instructions this file runs (kernel/program.py).
MmapWriteLock = instruction("mmap_write_lock", "caller", defaults=("mmap_write_lock",))
MmapReadLock = instruction("mmap_read_lock", "addr", defaults=(None,))
MmapReadUnlock = instruction("mmap_read_unlock")
MmapWriteUnlock = instruction("mmap_write_unlock")
MmapWriteDowngrade = instruction("mmap_write_downgrade")
VmaStartWrite = instruction("vma_start_write", "vma")
LockVmaUnderRcu = instruction("lock_vma_under_rcu", "addr")
VmaEndRead = instruction("vma_end_read")

#: Labels a program using these gives (kernel/program.py Label): where
#: lock_vma_under_rcu()'s caller goes on when the VMA read lock fails (the same
#: work under mmap_read_lock(): try_vma_read_lock() in mm/madvise.c), and the
#: mmap_read_unlock() that MmapReadLock(addr) jumps to when the VMA is gone.
FALLBACK = "mmap_read_lock_fallback"
UNLOCK = "mmap_read_unlock"


def _mmap_write_lock(ctx, state, a, op):
    fn = op.caller
    state = locks.mmap_write_lock(state, a, fn)
    if isinstance(state, Blocked):
        return state
    return go(state, a, fn, f"{fn}() takes mmap_lock for write", "include/linux/mmap_lock.h: mmap_write_lock", "mmap_lock:write")


def _mmap_read_lock(ctx, state, a, op):
    state = locks.mmap_read_lock(state, a)
    if isinstance(state, Blocked):
        return state
    text, goto = "mmap_read_lock()", None
    if op.addr is not None:  # look the VMA up, as the caller does after taking the lock
        vma = find_vma(state.vmas, op.addr)
        if vma is None:
            goto = UNLOCK
            text += f"; no VMA at {op.addr:#x} any more: nothing to do"
        else:
            text += f"; finds VMA {vma.name}"
    return go(state, a, "mmap_read_lock", text, "include/linux/mmap_lock.h: mmap_read_lock", "mmap_lock:read", goto=goto)


def _mmap_read_unlock(ctx, state, a, op):
    state = locks.mmap_read_unlock(state, a)
    return go(state, a, "mmap_read_unlock", "mmap_read_unlock()", "include/linux/mmap_lock.h: mmap_read_unlock", "mmap_lock:unlock")


def _mmap_write_unlock(ctx, state, a, op):
    state = locks.mmap_write_unlock(state, a)
    return go(state, a, "mmap_write_unlock", "mmap_write_unlock(): mmap_lock and all VMA write locks released (vma_end_write_all())",
              "include/linux/mmap_lock.h: mmap_write_unlock", "mmap_lock:unlock")


def _mmap_write_downgrade(ctx, state, a, op):
    state = locks.mmap_write_downgrade(state, a)
    return go(state, a, "mmap_write_downgrade",
              "vms_complete_munmap_vmas(): mmap_write_downgrade() — mmap_lock is now held for read and the VMA write locks end "
              "(vma_end_write_all()); the unmapped VMAs are already out of the tree",
              "include/linux/mmap_lock.h: mmap_write_downgrade", "mmap_lock:downgrade")


def _vma_start_write(ctx, state, a, op):
    name = op.vma
    state = locks.vma_start_write(state, a, name)
    if isinstance(state, Blocked):
        return state
    return go(state, a, "vma_start_write",
              f"vma_start_write() write-locks VMA {name}: no reader holds it, and new lock_vma_under_rcu() calls now fail",
              "include/linux/mmap_lock.h: vma_start_write", f"vma_lock:{name}:write")


def _lock_vma_under_rcu(ctx, state, a, op):
    """madvise_lock() with MADVISE_VMA_READ_LOCK: try_vma_read_lock(), else the mmap read lock."""
    addr = op.addr
    state, vma, found = locks.lock_vma_under_rcu(state, a, addr)
    if vma is not None:
        return go(state, a, "lock_vma_under_rcu",
                  f"try_vma_read_lock(): lock_vma_under_rcu({addr:#x}) read-locks VMA {vma.name}",
                  "mm/madvise.c: try_vma_read_lock", f"vma_lock:{vma.name}:read", vma=vma.name)
    why = "finds no VMA" if found is None else f"finds VMA {found.name} write-locked by {who(state, found.writer)}"
    # The program's FALLBACK arm: the same work under the mmap read lock, with no
    # vma_end_read(); madvise_unlock() drops the lock after madvise_finish_tlb().
    return go(state, a, "lock_vma_under_rcu",
              f"try_vma_read_lock(): lock_vma_under_rcu() {why}; fall back to mmap_read_lock()",
              "mm/madvise.c: try_vma_read_lock", goto=FALLBACK)


def _vma_end_read(ctx, state, a, op):
    name = a.get("vma")
    state = locks.vma_end_read(state, a, name)
    return go(state, a, "vma_end_read", f"vma_end_read() drops the read lock of VMA {name}",
              "include/linux/mmap_lock.h: vma_end_read", f"vma_lock:{name}:unlock")


OPS = {
    MmapWriteLock: _mmap_write_lock,
    MmapReadLock: _mmap_read_lock,
    MmapReadUnlock: _mmap_read_unlock,
    MmapWriteUnlock: _mmap_write_unlock,
    MmapWriteDowngrade: _mmap_write_downgrade,
    VmaStartWrite: _vma_start_write,
    LockVmaUnderRcu: _lock_vma_under_rcu,
    VmaEndRead: _vma_end_read,
}
