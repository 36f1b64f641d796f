"""The VMA tree changes of munmap(), mmap(MAP_FIXED) and mremap(): mm/vma.c
(__split_vma, vms_gather_munmap_vmas, __mmap_new_vma, copy_vma)."""

from __future__ import annotations

from dataclasses import replace

from ..program import instruction
from ..vma import Vma, by_name, replace_vma, split_vma
from .base import go

# The instructions this file runs (kernel/program.py).
SplitVma = instruction("__split_vma", "vma", "at", "new", "new_below", defaults=(False,))
VmsGatherMunmapVmas = instruction("vms_gather_munmap_vmas", "vmas", "caller", defaults=("do_vmi_align_munmap",))
MmapNewVma = instruction("__mmap_new_vma", "mm", "start", "end", "name", "old")
CopyVma = instruction("copy_vma", "vma", "new_start", "new_name")


def _split_vma(ctx, state, a, op):
    name, at, new_name = op.vma, op.at, op.new
    state = state.but(vmas=split_vma(state.vmas, name, at, new_name, op.new_below))
    part = f"; the new VMA {new_name}, below {at:#x}," if op.new_below else f"; the new VMA {new_name}"
    return go(state, a, "__split_vma",
              f"__split_vma() cuts VMA {name} at {at:#x}{part} is write-locked too",
              "mm/vma.c: __split_vma", f"vma_split:{name}:{new_name}")


def _gather_munmap_vmas(ctx, state, a, op):
    names = op.vmas
    vmas = state.vmas
    for name in names:
        vmas = replace_vma(vmas, name, detached=True)
    state = state.but(vmas=vmas)
    if op.caller == "__mmap_region":
        # mmap(MAP_FIXED) over a mapping: the old VMAs are gathered the same
        # way; vms_clean_up_area() clears their pages and tables, then the new
        # VMA is stored over the range (__mmap_new_vma())
        then = ("__mmap_region() maps the new VMA over the range once vms_clean_up_area() has cleared the old one's "
                "pages and page tables: lookups no longer find the old VMA")
    else:
        then = ("do_vmi_align_munmap() then clears the range from the VMA tree (vma_iter_clear_gfp()): lookups no "
                "longer find it")
    return go(state, a, "vms_gather_munmap_vmas",
              (f"vms_gather_munmap_vmas() moves VMA {', '.join(names)} to the detach tree and marks "
                f"{'it' if len(names) == 1 else 'them'} detached (vma_mark_detached()); {then}"),
               "mm/vma.c: vms_gather_munmap_vmas", *(f"vma_detached:{n}" for n in names))


def _mmap_new_vma(ctx, state, a, op):
    """__mmap_region() → __mmap_new_vma(): an anonymous mapping (no file:
    vma_set_anonymous()) stored over the range; __mmap_complete() →
    vms_complete_munmap_vmas() then frees the VMA it replaced (remove_vma())."""
    who = op.mm or "P"
    new = Vma(op.name, op.start, op.end, "anon", mm=op.mm)
    kept = tuple(v for v in state.vmas if v.name != op.old)
    state = state.but(vmas=tuple(sorted(kept + (new,), key=lambda v: v.start)))
    return go(state, a, "__mmap_new_vma",
              f"__mmap_new_vma(): vm_area_alloc() and vma_set_anonymous() make VMA {op.name} [{op.start:#x}, {op.end:#x}), "
              f"anonymous, stored in {who}'s VMA tree over the range; __mmap_complete() → vms_complete_munmap_vmas() "
              f"frees the detached VMA {op.old} (remove_vma())", "mm/vma.c: __mmap_new_vma",
              f"vma_new:{op.name}", f"vma_freed:{op.old}")


def _copy_vma(ctx, state, a, op):
    _, name, new_start, new_name = op
    old = by_name(state.vmas, name)
    new = replace(old, name=new_name, start=new_start, end=new_start + old.size, readers=frozenset(), writer=a.name)
    state = state.but(vmas=tuple(sorted(state.vmas + (new,), key=lambda v: v.start)))
    return go(state, a, "copy_vma",
              f"copy_vma() creates VMA {new_name} at {new_start:#x} for the moved range; vma_link() write-locks it "
              "(vma_start_write())", "mm/vma.c: copy_vma", f"vma_new:{new_name}")


OPS = {
    SplitVma: _split_vma,
    VmsGatherMunmapVmas: _gather_munmap_vmas,
    MmapNewVma: _mmap_new_vma,
    CopyVma: _copy_vma,
}
