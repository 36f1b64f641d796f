"""folio_walk_start()/folio_walk_end() (mm/pagewalk.c) and the PTE level as
__pte_offset_map_lock() does it (mm/pgtable-generic.c): the descent
pgd_offset() → p4d_offset() → pudp_get() → pmdp_get_lockless() with no lock and
no RCU of its own, leaves re-read under pud_lock()/pmd_lock(), and the PTE
table mapped under RCU, locked, and rechecked with pmd_same()."""

from __future__ import annotations

from ..geometry import Level
from ..pgtable import Entry
from ..state import Actor, State
from ..steps import PAGE_TABLE_LOCK, Moved, Taken, cpu_add, deref, lock_spin, pmd_lock, pte_lock, ptl_name, release_spin
from .assertions import entry_assertions, refused, warn
from .base import Walker, pgd, read_entry as _read, reg
from .caller import event as _ev
from .caller import start_release

SRC_WALK = "mm/pagewalk.c: folio_walk_start"
SRC_PTE_MAP = "mm/pgtable-generic.c: __pte_offset_map_lock"

#: The walk's step labels in order, for schedules that pause the walker.
WALK_LABELS = (
    "pgd_offset",
    "p4d_offset",
    "pudp_get",
    "pud_lock",
    "pmdp_get_lockless",
    "pmd_lock",
    "__pte_offset_map",
    "spin_lock",
    "pmd_same",
    "ptep_get",
    "folio_walk_end",
)


def _walk_lock_needed(ctx, a: Actor) -> bool:
    from ..vma import by_name

    return (not a.get("hlock") and ctx.scenario.hugetlb_walk_lock == "take"
            and by_name(ctx.setup.vmas, ctx.setup.walked).kind == "hugetlb")


def _vma_pgtable_walk_begin(ctx, state: State, a: Actor, failed) -> Moved:
    """vma_pgtable_walk_begin(): hugetlb_vma_lock_read() for a hugetlb VMA, a
    sleeping rw_semaphore (mm/memory.c; mm/hugetlb.c)."""
    from ..rwsem import down_read, hugetlb_vma_lock

    out = down_read(state, a, hugetlb_vma_lock(ctx.setup.walked), "hugetlb_vma_lock_read",
                    f"VMA {ctx.setup.walked}'s hugetlb VMA lock")
    if not hasattr(out, "sems"):
        return out
    a = a.set(hlock=True, entered=True)
    warn_txt = (" [WARNING: " + "; ".join(f"{x.function} fails: {x.why}" for x in failed) + "]") if failed else ""
    return Moved(out.with_actor(a), _ev(a, "vma_pgtable_walk_begin",
                                        f"vma_pgtable_walk_begin(): hugetlb_vma_lock_read() of VMA {ctx.setup.walked}: "
                                        f"huge_pmd_unshare() of this VMA now waits (it needs the lock for write){warn_txt}",
                                        "mm/memory.c: vma_pgtable_walk_begin", "hugetlb_vma_lock:read"))


def _walk_end(ctx, state: State, a: Actor) -> State:
    """vma_pgtable_walk_end(): hugetlb_vma_unlock_read()."""
    if not a.get("hlock"):
        return state
    from ..rwsem import hugetlb_vma_lock, up

    return up(state, a, hugetlb_vma_lock(ctx.setup.walked))


def _not_found(state: State, a: Actor, function: str, text: str, source: str, *changes: str) -> Moved:
    """`goto not_found`: folio_walk_start() returns NULL; the caller then drops what it holds."""
    if a.get("hlock"):
        from ..rwsem import up

        state = state.but(sems=tuple(x for x in state.sems if x[2] != a.name or not x[0].startswith("hugetlb_vma_lock")))
        a = a.set(hlock=False)
        text += "; vma_pgtable_walk_end() drops the hugetlb VMA lock"
    a = start_release(a, result="NULL")
    return Moved(state.with_actor(a), _ev(a, function, text + "; folio_walk_start() returns NULL", source, *changes))


def _pgd_offset(ctx, state, a):
    # folio_walk_start()'s entry assertions (walkers/assertions.py) run in the
    # same step as the first read: they change no table.
    asserts = () if a.get("entered") else entry_assertions(ctx, state, a)
    failed = tuple(x for x in asserts if not x.holds)
    state = warn(state, a, failed)
    if refused(ctx, asserts):
        return _not_found(state, a, "folio_walk_start",
                          "FW_VMA_LOCKED: VM_WARN_ON_ONCE(is_vm_hugetlb_page(vma)) refuses the hugetlb VMA", SRC_WALK, "warn")
    if _walk_lock_needed(ctx, a):
        return _vma_pgtable_walk_begin(ctx, state, a, failed)
    if failed:
        note0 = " [WARNING: " + "; ".join(f"{x.function} fails: {x.why}" for x in failed) + "]"
    else:
        note0 = ""
    state, entry, note = _read(ctx, state, a, 0, Level.PGD, "pgd_offset")
    note = note + note0
    idx = ctx.geo.pgd_index(ctx.walk_addr)
    if entry is None:
        return _not_found(state, a, "pgd_offset", f"pgd_offset(): PGD entry {idx} is none{note}", SRC_WALK)
    nxt = "p4d_offset" if ctx.geo.levels == 5 else "pudp_get"
    a = a.set(pc=nxt, table=entry.target)
    child = state.tables[entry.target]
    return Moved(state.with_actor(a), _ev(a, "pgd_offset", f"pgd_offset(): PGD entry {idx} points to {child.level.name} table #{child.tid}{note}",
                                          SRC_WALK, "read:0"))


def _p4d_offset(ctx, state, a):
    tid = a.get("table")
    state, entry, note = _read(ctx, state, a, tid, Level.P4D, "p4d_offset")
    idx = ctx.geo.p4d_index(ctx.walk_addr)
    if entry is None:
        return _not_found(state, a, "p4d_offset", f"p4d_offset(): entry {idx} of P4D table #{tid} is none{note}", SRC_WALK, f"read:{tid}")
    a = a.set(pc="pudp_get", table=entry.target)
    return Moved(state.with_actor(a), _ev(a, "p4d_offset", f"p4d_offset(): entry {idx} of P4D table #{tid} points to PUD table #{entry.target}{note}",
                                          SRC_WALK, f"read:{tid}"))


def _read_upper(ctx, state, a, level: Level, fn: str, lock_pc: str, leaf: str, next_pc: str, child: str):
    """pudp_get() / pmdp_get_lockless() in folio_walk_start(): read one entry with
    no lock and no RCU; a leaf is re-read under the level's lock, a table is
    walked into."""
    tid = a.get("table")
    state, entry, note = _read(ctx, state, a, tid, level, fn)
    idx = ctx.geo.index(level, ctx.walk_addr)
    name = level.name
    if entry is None:
        return _not_found(state, a, fn, f"{fn}(): entry {idx} of {name} table #{tid} is none{note}", SRC_WALK, f"read:{tid}")
    own = f"{name.lower()}_table"
    if entry.is_leaf:
        a = a.set(pc=lock_pc, **{own: tid})
        return Moved(state.with_actor(a), _ev(a, fn, f"{fn}(): entry {idx} of {name} table #{tid} is a {leaf} leaf; re-read it under {lock_pc}(){note}",
                                              SRC_WALK, f"read:{tid}"))
    a = a.set(pc=next_pc, **{own: tid}, **({"table": entry.target} if level == Level.PUD else {}))
    return Moved(state.with_actor(a), _ev(a, fn, f"{fn}(): entry {idx} of {name} table #{tid} points to {child} table #{entry.target} (folio_walk_start() takes no lock and no RCU of its own here){note}",
                                          SRC_WALK, f"read:{tid}"))


def _pudp_get(ctx, state, a):
    return _read_upper(ctx, state, a, Level.PUD, "pudp_get", "pud_lock", "1 GiB", "pmdp_get_lockless", "PMD")


def _pud_lock(ctx, state, a):
    tid = a.get("pud_table")
    got = lock_spin(state, a, PAGE_TABLE_LOCK, "pud_lock", "mm->page_table_lock")  # pud_lockptr() on x86
    if not isinstance(got, Taken):
        return got
    state, a, _ = got
    state, entry, note = _read(ctx, state, a, tid, Level.PUD, "pud_lock")
    if entry is not None and entry.is_leaf:
        a = a.set(pc="folio_walk_end", result="folio (PUD leaf)", lock=PAGE_TABLE_LOCK)
        return Moved(state.with_actor(a), _ev(a, "pud_lock", f"pud_lock() taken; the 1 GiB leaf is still there: folio found{note}", SRC_WALK, f"read:{tid}"))
    state = release_spin(state, a, PAGE_TABLE_LOCK)
    if entry is None:
        return _not_found(state, a, "pud_lock", f"pud_lock(): the PUD entry is now none{note}", SRC_WALK, f"read:{tid}")
    a = a.set(pc="pmdp_get_lockless", table=entry.target)
    return Moved(state.with_actor(a), _ev(a, "pud_lock", f"pud_lock(): the entry is now a PMD table #{entry.target}; unlock and walk on{note}", SRC_WALK, f"read:{tid}"))


def _pmdp_get_lockless(ctx, state, a):
    return _read_upper(ctx, state, a, Level.PMD, "pmdp_get_lockless", "pmd_lock", "2 MiB THP", "__pte_offset_map", "PTE")


def _pmd_lock(ctx, state, a):
    tid = a.get("pmd_table")
    # pmd_lockptr() finds the split PMD lock in the PMD table's own ptdesc.
    state, note0 = deref(ctx, state, a.name, tid, "pmd_lock")
    got = pmd_lock(state, a, tid, "pmd_lock")
    if not isinstance(got, Taken):
        return got
    state, a, lock = got
    state, entry, note = _read(ctx, state, a, tid, Level.PMD, "pmd_lock")
    note = note or note0
    if entry is not None and entry.is_leaf:
        a = a.set(pc="folio_walk_end", result="folio (PMD leaf)", lock=lock)
        return Moved(state.with_actor(a), _ev(a, "pmd_lock", f"pmd_lock() taken; the THP is still mapped: folio found{note}", SRC_WALK, f"read:{tid}"))
    state = release_spin(state, a, lock)
    if entry is None:
        return _not_found(state, a, "pmd_lock", f"pmd_lock(): the PMD entry is now none{note}", SRC_WALK, f"read:{tid}")
    a = a.set(pc="__pte_offset_map")
    return Moved(state.with_actor(a), _ev(a, "pmd_lock", f"pmd_lock(): the entry now points to a PTE table; unlock and map it{note}", SRC_WALK, f"read:{tid}"))


def _pte_offset_map(ctx, state, a):
    """__pte_offset_map(): rcu_read_lock(), read the PMD once, give up on none or huge."""
    tid = a.get("pmd_table")
    state = cpu_add(state, a.cpu, rcu=1)
    state, entry, note = _read(ctx, state, a, tid, Level.PMD, "__pte_offset_map")
    if entry is None or entry.is_leaf:
        state = cpu_add(state, a.cpu, rcu=-1)
        what = "none" if entry is None else "a huge PMD"
        return _not_found(state, a, "__pte_offset_map",
                          f"__pte_offset_map(): under rcu_read_lock() the PMD entry is {what}; rcu_read_unlock(), pte_offset_map_lock() returns NULL{note}",
                          SRC_PTE_MAP, f"read:{tid}")
    a = a.set(pc="spin_lock", pte_table=entry.target)
    return Moved(state.with_actor(a), _ev(a, "__pte_offset_map",
                                          f"__pte_offset_map(): rcu_read_lock(), then the PMD entry is read again: PTE table #{entry.target}{note}",
                                          SRC_PTE_MAP, f"read:{tid}", "rcu:enter"))


def _spin_lock_ptl(ctx, state, a):
    pte = a.get("pte_table")
    # pte_lockptr() finds the ptlock in the PTE table's ptdesc: touching it reads that page.
    state, note = deref(ctx, state, a.name, pte, "spin_lock")
    got = pte_lock(state, a, pte, "spin_lock")
    if not isinstance(got, Taken):
        return got
    state, a, lock = got
    a = a.set(pc="pmd_same")
    return Moved(state.with_actor(a), _ev(a, "spin_lock", f"spin_lock() takes the ptl of PTE table #{pte}{note}", SRC_PTE_MAP, f"read:{pte}", f"lock:{lock}"))


def _pmd_same(ctx, state, a):
    tid = a.get("pmd_table")
    pte = a.get("pte_table")
    state, entry, note = _read(ctx, state, a, tid, Level.PMD, "pmd_same")
    if entry == Entry("table", pte):
        a = a.set(pc="ptep_get")
        return Moved(state.with_actor(a), _ev(a, "pmd_same", f"pmd_same(): the PMD entry still points to PTE table #{pte}{note}", SRC_PTE_MAP, f"read:{tid}"))
    lock = ptl_name(pte)
    state = release_spin(state, a, lock)
    state = cpu_add(state, a.cpu, rcu=-1)
    a = a.set(pc="__pte_offset_map", retries=a.get("retries", 0) + 1)
    return Moved(state.with_actor(a), _ev(a, "pmd_same",
                                          f"pmd_same() fails: the PMD entry changed; pte_unmap_unlock() and retry from __pte_offset_map(){note}",
                                          SRC_PTE_MAP, f"read:{tid}", f"unlock:{lock}", "rcu:exit"))


def _ptep_get(ctx, state, a):
    pte = a.get("pte_table")
    state, entry, note = _read(ctx, state, a, pte, Level.PTE, "ptep_get")
    idx = ctx.geo.pte_index(ctx.walk_addr)
    if entry is not None and entry.is_leaf:
        a = a.set(pc="folio_walk_end", result="folio (PTE)", lock=ptl_name(pte))
        return Moved(state.with_actor(a), _ev(a, "ptep_get", f"ptep_get(): PTE {idx} of PTE table #{pte} maps a page: folio found, ptl held{note}", SRC_WALK, f"read:{pte}"))
    state = release_spin(state, a, ptl_name(pte))
    state = cpu_add(state, a.cpu, rcu=-1)
    return _not_found(state, a, "ptep_get", f"ptep_get(): PTE {idx} of PTE table #{pte} is none; pte_unmap_unlock(){note}", SRC_WALK, f"read:{pte}", "rcu:exit")


def _folio_walk_end(ctx, state, a):
    lock = a.get("lock")
    state = release_spin(state, a, lock)
    if a.get("hlock"):
        state = _walk_end(ctx, state, a)
        a = a.set(hlock=False)
    changes = [f"unlock:{lock}"]
    text = "folio_walk_end(): the caller is done with the folio; spin_unlock()"
    if lock.startswith("ptl:"):
        state = cpu_add(state, a.cpu, rcu=-1)  # pte_unmap() ends __pte_offset_map()'s RCU section
        text += " and pte_unmap() (rcu_read_unlock())"
        changes.append("rcu:exit")
    a = start_release(a, lock="")
    return Moved(state.with_actor(a), _ev(a, "folio_walk_end", text, "mm/pagewalk.c: folio_walk_end", *changes))


_WALK = {
    "pgd_offset": _pgd_offset,
    "p4d_offset": _p4d_offset,
    "pudp_get": _pudp_get,
    "pud_lock": _pud_lock,
    "pmdp_get_lockless": _pmdp_get_lockless,
    "pmd_lock": _pmd_lock,
    "__pte_offset_map": _pte_offset_map,
    "spin_lock": _spin_lock_ptl,
    "pmd_same": _pmd_same,
    "ptep_get": _ptep_get,
    "folio_walk_end": _folio_walk_end,
}


#: The table entry each step reads, for the views (Walker.cursor()).
_READS = {
    "pgd_offset": pgd,
    "p4d_offset": reg("table", Level.P4D),
    "pudp_get": reg("table", Level.PUD),
    "pud_lock": reg("pud_table", Level.PUD),
    "pmdp_get_lockless": reg("table", Level.PMD),
    "pmd_lock": reg("pmd_table", Level.PMD),
    "__pte_offset_map": reg("pmd_table", Level.PMD),
    "spin_lock": reg("pte_table", Level.PTE),
    "pmd_same": reg("pmd_table", Level.PMD),
    "ptep_get": reg("pte_table", Level.PTE),
}

FOLIO_WALK = Walker("folio_walk_start", "pgd_offset", _WALK, WALK_LABELS, _READS, SRC_WALK)
walker_cursor = FOLIO_WALK.cursor  # (ctx, state) → (table, entry index, next step) or None
