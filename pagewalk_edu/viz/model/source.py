"""The one place the views read the simulator.

Every view model is built from what these few functions return, so a change
in how the kernel package stores an mm, a CPU or a walker is mended here (and
in the builders beside this module), never in a renderer.  They already speak
of several mms and any number of CPUs and walkers, although today's State has
one mm, two CPUs and one walker."""

from __future__ import annotations

from typing import NamedTuple


class MmView(NamedTuple):
    """One address space: its name, page tables (indexed by tid) and VMAs."""

    name: str
    tables: tuple
    vmas: tuple
    mmap_readers: frozenset
    mmap_writer: str
    root: int = 0  # the tid of its PGD in `tables`
    walked: bool = True  # the mm the walker walks


class WalkerView(NamedTuple):
    actor: str
    cpu: int
    mm: str
    addr: int
    pc: str
    done: bool
    cursor: tuple[int, int, str] | None  # (tid, entry index, next step)
    result: str


class LaneView(NamedTuple):
    """One CPU: its number, the actors that run on it, the main actor's label."""

    cpu: int
    actors: tuple[str, ...]
    label: str


def mms(ctx, state) -> list[MmView]:
    many = getattr(state, "mms", None)
    if many:  # a state that carries several mms (one per process)
        return [MmView(getattr(m, "name", f"mm{i}"), m.tables, m.vmas, getattr(m, "mmap_readers", frozenset()),
                       getattr(m, "mmap_writer", "")) for i, m in enumerate(many)]
    roots = ctx.setup.roots if ctx is not None else (("", 0),)
    if len(roots) > 1:
        # hugetlb PMD sharing (kernel/sim.py): every mm's tables live in one
        # tuple, each mm's tree hanging off its own PGD (Setup.roots); the
        # mmap_lock the State tracks is the walked mm's (P's).
        return [MmView(mm_name(mm), state.tables, tuple(v for v in state.vmas if v.mm == mm),
                       state.mmap_readers if mm == "" else frozenset(), state.mmap_writer if mm == "" else "",
                       root, mm == "") for mm, root in roots]
    return [MmView("mm", state.tables, state.vmas, state.mmap_readers, state.mmap_writer)]


def mm_name(mm: str) -> str:
    """Table.mm / Vma.mm to the process it names: "" is the walked mm, P."""
    return mm or "P"


def foreign_reads(state) -> tuple:
    """The walker's reads of another mm's page table (State.foreign)."""
    return tuple(getattr(state, "foreign", ()) or ())


def walkers(ctx, state) -> list[WalkerView]:
    from ...kernel.walker import walker_cursor

    names = getattr(ctx, "walker_names", None) or (ctx.walker_name,)
    out = []
    for name in names:
        a = state.actor(name)
        cursor = walker_cursor(ctx, state) if name == ctx.walker_name else None
        addr = getattr(ctx, "walk_addr_of", {}).get(name, ctx.walk_addr)  # one address per walker
        out.append(WalkerView(name, a.cpu, next(m.name for m in mms(ctx, state) if m.walked), addr, _next_function(a), a.done,
                              cursor, a.get("result") or ""))
    return out


def _next_function(a) -> str:
    """The kernel function of the walker's next step: while its caller takes or
    drops what it holds (pc "acquire"/"release", kernel/walkers/caller.py), the
    function of that step (lock_vma_under_rcu(), rcu_read_unlock() ...), else its pc."""
    if a.pc in ("acquire", "release") and a.frames:
        program, i = a.frames[-1]
        if 0 <= i < len(program) and isinstance(program[i], str):
            return program[i]
    return a.pc


def lanes(ctx, state) -> list[LaneView]:
    """One lane per CPU, in CPU order, labelled with the actor that runs there
    (IPI handlers run on every CPU; they are not named in the label)."""
    out = []
    for cpu in range(len(state.cpus)):
        names = tuple(a.name for a in state.actors if a.cpu == cpu)
        main = names[0] if names else "idle"
        out.append(LaneView(cpu, names, f"CPU{cpu} {main}"))
    return out


def cpu_of_actor(ctx, name: str) -> int | None:
    return ctx.cpu_of(name)


def spinlocks(state) -> list[tuple[str, str]]:
    """(lock, holder) pairs: 'ptl:4', 'pmd:2', 'page_table_lock'."""
    return list(state.spin)


def lock_table(lock: str) -> int | None:
    """The table whose struct ptdesc holds a split lock ('ptl:4' -> 4)."""
    kind, _, arg = lock.partition(":")
    return int(arg) if kind in ("ptl", "pmd") and arg.isdigit() else None


def lock_label(lock: str) -> str:
    kind = lock.partition(":")[0]
    return {"ptl": "PTE ptl", "pmd": "PMD lock", "page_table_lock": "mm->page_table_lock"}.get(kind, lock)
